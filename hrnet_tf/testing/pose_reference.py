"""Independent NumPy/cv2 re-derivation of the official pose formulas (deep-high-resolution-net
``utils/transforms.py``, ``JointsDataset.generate_target``, ``core/inference.py``), written loop by
loop as the paper's code does it, to check our closed-form / vectorised / TF versions against."""

import math

import cv2
import numpy as np


def rotate_point(point, rad):
    sn, cs = math.sin(rad), math.cos(rad)
    return np.array([point[0] * cs - point[1] * sn, point[0] * sn + point[1] * cs])


def third_point(a, b):
    direction = a - b
    return b + np.array([-direction[1], direction[0]], np.float32)


def get_affine_transform(center, scale, rot, output_size, inv=False):
    """Three point pairs -> cv2.getAffineTransform, as the official code builds the crop."""
    src_w = scale[0] * 200.0
    dst_w, dst_h = output_size
    src_dir = rotate_point([0, src_w * -0.5], math.pi * rot / 180)
    dst_dir = np.array([0, dst_w * -0.5], np.float32)
    src = np.zeros((3, 2), np.float32)
    dst = np.zeros((3, 2), np.float32)
    src[0] = center
    src[1] = np.asarray(center) + src_dir
    dst[0] = [dst_w * 0.5, dst_h * 0.5]
    dst[1] = np.array([dst_w * 0.5, dst_h * 0.5]) + dst_dir
    src[2] = third_point(src[0], src[1])
    dst[2] = third_point(dst[0], dst[1])
    if inv:
        return cv2.getAffineTransform(np.float32(dst), np.float32(src))
    return cv2.getAffineTransform(np.float32(src), np.float32(dst))


def generate_target(joints, joints_vis, image_size, heatmap_size, sigma):
    """[J, 2] joints, [J] vis -> ([J, H, W] target, [J] weight), the official loops."""
    num_joints = len(joints)
    weight = np.asarray(joints_vis, np.float32).copy()
    target = np.zeros((num_joints, heatmap_size[1], heatmap_size[0]), np.float32)
    tmp_size = sigma * 3
    feat_stride = np.asarray(image_size) / np.asarray(heatmap_size)
    for j in range(num_joints):
        mu_x = int(joints[j][0] / feat_stride[0] + 0.5)
        mu_y = int(joints[j][1] / feat_stride[1] + 0.5)
        ul = [int(mu_x - tmp_size), int(mu_y - tmp_size)]
        br = [int(mu_x + tmp_size + 1), int(mu_y + tmp_size + 1)]
        if ul[0] >= heatmap_size[0] or ul[1] >= heatmap_size[1] or br[0] < 0 or br[1] < 0:
            weight[j] = 0
            continue
        size = 2 * tmp_size + 1
        x = np.arange(0, size, 1, np.float32)
        y = x[:, None]
        x0 = y0 = size // 2
        g = np.exp(-((x - x0) ** 2 + (y - y0) ** 2) / (2 * sigma**2))
        g_x = max(0, -ul[0]), min(br[0], heatmap_size[0]) - ul[0]
        g_y = max(0, -ul[1]), min(br[1], heatmap_size[1]) - ul[1]
        img_x = max(0, ul[0]), min(br[0], heatmap_size[0])
        img_y = max(0, ul[1]), min(br[1], heatmap_size[1])
        if weight[j] > 0.5:
            target[j][img_y[0]:img_y[1], img_x[0]:img_x[1]] = g[g_y[0]:g_y[1], g_x[0]:g_x[1]]
    return target, weight


def get_final_preds(batch_heatmaps, center, scale):
    """NCHW heatmaps -> ([N, J, 2] image coordinates, [N, J, 1] maxvals), the official loops."""
    n, j, h, w = batch_heatmaps.shape
    flat = batch_heatmaps.reshape(n, j, -1)
    idx = np.argmax(flat, 2).reshape(n, j, 1)
    maxvals = np.amax(flat, 2).reshape(n, j, 1)
    preds = np.tile(idx, (1, 1, 2)).astype(np.float32)
    preds[:, :, 0] = preds[:, :, 0] % w
    preds[:, :, 1] = np.floor(preds[:, :, 1] / w)
    preds *= np.tile(np.greater(maxvals, 0.0), (1, 1, 2)).astype(np.float32)
    coords = preds
    for b in range(n):
        for p in range(j):
            hm = batch_heatmaps[b][p]
            px = int(math.floor(coords[b][p][0] + 0.5))
            py = int(math.floor(coords[b][p][1] + 0.5))
            if 1 < px < w - 1 and 1 < py < h - 1:
                diff = np.array([hm[py][px + 1] - hm[py][px - 1], hm[py + 1][px] - hm[py - 1][px]])
                coords[b][p] += np.sign(diff) * 0.25
    out = coords.copy()
    for b in range(n):
        trans = get_affine_transform(center[b], scale[b], 0, [w, h], inv=True)
        for p in range(j):
            pt = np.array([coords[b, p, 0], coords[b, p, 1], 1.0])
            out[b, p] = (trans @ pt)[:2]
    return out, maxvals


def flip_back(output_flipped, matched_parts):
    """NCHW official flip_back: mirror the width axis, then swap each pair."""
    output_flipped = output_flipped[:, :, :, ::-1].copy()
    for a, b in matched_parts:
        tmp = output_flipped[:, a, :, :].copy()
        output_flipped[:, a, :, :] = output_flipped[:, b, :, :]
        output_flipped[:, b, :, :] = tmp
    return output_flipped


def flip_test_average(output, output_flipped, matched_parts, shift_heatmap=True):
    """NCHW official flip test (``lib/core/function.py validate``): flip_back, the one-pixel shift,
    the average."""
    back = flip_back(output_flipped, matched_parts)
    if shift_heatmap:
        back[:, :, :, 1:] = back.copy()[:, :, :, 0:-1]
    return (output + back) * 0.5


def xywh2cs(x, y, w, h, aspect_ratio):
    center = np.array([x + w * 0.5, y + h * 0.5])
    if w > aspect_ratio * h:
        h = w * 1.0 / aspect_ratio
    elif w < aspect_ratio * h:
        w = h * aspect_ratio
    return center, np.array([w / 200.0, h / 200.0]) * 1.25


def half_body_transform(joints, joints_vis, upper_body_ids, randn_value, aspect_ratio):
    """The official half_body_transform with its randn() draw passed in."""
    upper, lower = [], []
    for j in range(len(joints)):
        if joints_vis[j] > 0:
            (upper if j in upper_body_ids else lower).append(joints[j])
    if randn_value < 0.5 and len(upper) > 2:
        selected = upper
    else:
        selected = lower if len(lower) > 2 else upper
    if len(selected) < 2:
        return None, None
    selected = np.array(selected, np.float32)
    center = selected.mean(axis=0)[:2]
    left_top, right_bottom = selected.min(axis=0), selected.max(axis=0)
    w, h = right_bottom[0] - left_top[0], right_bottom[1] - left_top[1]
    if w > aspect_ratio * h:
        h = w * 1.0 / aspect_ratio
    elif w < aspect_ratio * h:
        w = h * aspect_ratio
    return center, np.array([w / 200.0, h / 200.0], np.float32) * 1.5


def crop_sample(image, joints, joints_vis, center, scale, rot, flip, flip_pairs, image_size,
                heatmap_size, sigma):
    """The official __getitem__ after the random draws: flip pixels, warp, targets."""
    joints, joints_vis, center = joints.copy(), joints_vis.copy(), np.array(center, np.float64)
    if flip:
        image = image[:, ::-1]
        joints[:, 0] = image.shape[1] - joints[:, 0] - 1
        for a, b in flip_pairs:
            joints[[a, b]] = joints[[b, a]]
            joints_vis[[a, b]] = joints_vis[[b, a]]
        joints = joints * joints_vis[:, None]
        center[0] = image.shape[1] - center[0] - 1
    trans = get_affine_transform(center, scale, rot, image_size)
    crop = cv2.warpAffine(np.ascontiguousarray(image), trans, tuple(int(v) for v in image_size),
                          flags=cv2.INTER_LINEAR)
    for j in range(len(joints)):
        if joints_vis[j] > 0:
            joints[j] = trans @ np.array([joints[j, 0], joints[j, 1], 1.0])
    target, weight = generate_target(joints, joints_vis, image_size, heatmap_size, sigma)
    return crop, target, weight
