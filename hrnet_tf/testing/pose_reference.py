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


# -- DARK (ilovepose/DarkPose) --------------------------------------------------------------------


def generate_unbiased_target(joints_heatmap, joints_vis, heatmap_size, sigma):
    """DarkPose ``JointsDataset.generate_target`` with ``adjust_target_weight``: [J, 2] joints
    already on the heatmap grid (its ``trans_heatmap``), [J] vis -> ([J, H, W], [J])."""
    num_joints = len(joints_heatmap)
    weight = np.asarray(joints_vis, np.float32).copy()
    target = np.zeros((num_joints, heatmap_size[1], heatmap_size[0]), np.float32)
    tmp_size = sigma * 3
    for j in range(num_joints):
        mu_x, mu_y = joints_heatmap[j][0], joints_heatmap[j][1]
        ul = [int(mu_x - tmp_size), int(mu_y - tmp_size)]
        br = [int(mu_x + tmp_size + 1), int(mu_y + tmp_size + 1)]
        if ul[0] >= heatmap_size[0] or ul[1] >= heatmap_size[1] or br[0] < 0 or br[1] < 0:
            weight[j] = 0
        if weight[j] == 0:
            continue
        x = np.arange(0, heatmap_size[0], 1, np.float32)
        y = np.arange(0, heatmap_size[1], 1, np.float32)[:, None]
        if weight[j] > 0.5:
            target[j] = np.exp(-((x - mu_x) ** 2 + (y - mu_y) ** 2) / (2 * sigma**2))
    return target, weight


def gaussian_blur(hm, kernel):
    """DarkPose ``gaussian_blur`` (in place on an NCHW float32 array, as the original): zero pad by
    the kernel radius, ``cv2.GaussianBlur(.., (k, k), 0)`` in float64, crop, rescale to the
    original maximum."""
    border = (kernel - 1) // 2
    n, j, height, width = hm.shape
    for i in range(n):
        for p in range(j):
            origin_max = np.max(hm[i, p])
            dr = np.zeros((height + 2 * border, width + 2 * border))
            dr[border:-border, border:-border] = hm[i, p].copy()
            dr = cv2.GaussianBlur(dr, (kernel, kernel), 0)
            hm[i, p] = dr[border:-border, border:-border].copy()
            with np.errstate(invalid="ignore"):  # an all-zero map: 0 / 0, as the original
                hm[i, p] *= origin_max / np.max(hm[i, p])
    return hm


def taylor(hm, coord):
    """DarkPose ``taylor``: one Newton step on the log-heatmap ``hm`` [H, W] at ``coord``."""
    height, width = hm.shape
    px, py = int(coord[0]), int(coord[1])
    if 1 < px < width - 2 and 1 < py < height - 2:
        dx = 0.5 * (hm[py][px + 1] - hm[py][px - 1])
        dy = 0.5 * (hm[py + 1][px] - hm[py - 1][px])
        dxx = 0.25 * (hm[py][px + 2] - 2 * hm[py][px] + hm[py][px - 2])
        dxy = 0.25 * (hm[py + 1][px + 1] - hm[py - 1][px + 1] - hm[py + 1][px - 1]
                      + hm[py - 1][px - 1])
        dyy = 0.25 * (hm[py + 2][px] - 2 * hm[py][px] + hm[py - 2][px])
        if dxx * dyy - dxy**2 != 0:
            hessian = np.array([[dxx, dxy], [dxy, dyy]])
            coord = coord + (-np.linalg.inv(hessian) @ np.array([dx, dy]))
    return coord


def dark_coordinates(batch_heatmaps, kernel):
    """DarkPose ``get_final_preds`` up to the inverse crop: NCHW heatmaps -> ([N, J, 2] heatmap
    coordinates, [N, J, 1] maxvals of the raw heatmaps)."""
    hm = np.array(batch_heatmaps, np.float32)
    n, j, h, w = hm.shape
    flat = hm.reshape(n, j, -1)
    idx = np.argmax(flat, 2).reshape(n, j, 1)
    maxvals = np.amax(flat, 2).reshape(n, j, 1)
    coords = np.tile(idx, (1, 1, 2)).astype(np.float32)
    coords[:, :, 0] = coords[:, :, 0] % w
    coords[:, :, 1] = np.floor(coords[:, :, 1] / w)
    coords *= np.tile(np.greater(maxvals, 0.0), (1, 1, 2)).astype(np.float32)
    hm = gaussian_blur(hm, kernel)
    hm = np.log(np.maximum(hm, 1e-10))
    out = np.zeros((n, j, 2))
    for b in range(n):
        for p in range(j):
            out[b, p] = taylor(hm[b][p], coords[b][p].astype(np.float64))
    return out, maxvals


def to_image(coords, center, scale, heatmap_size):
    """The official inverse crop of [N, J, 2] heatmap coordinates (``transform_preds``)."""
    out = np.zeros_like(coords, dtype=np.float64)
    for b in range(len(coords)):
        trans = get_affine_transform(center[b], scale[b], 0, heatmap_size, inv=True)
        for p in range(len(coords[b])):
            out[b, p] = trans @ np.array([coords[b, p, 0], coords[b, p, 1], 1.0])
    return out


# -- lib/nms/nms.py: OKS and soft-OKS-NMS ------------------------------------------------------------


COCO_SIGMAS = np.array([.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87,
                        .87, .89, .89]) / 10.0


def oks_iou(g, d, a_g, a_d, sigmas=COCO_SIGMAS):
    """Official ``oks_iou`` (``in_vis_thre=None``, as ``coco.evaluate`` calls it): one flattened
    [3J] person ``g`` against [M, 3J] ``d``, one detection at a time."""
    variances = (np.asarray(sigmas) * 2) ** 2
    xg, yg = g[0::3], g[1::3]
    ious = np.zeros(d.shape[0])
    for n_d in range(d.shape[0]):
        dx = d[n_d, 0::3] - xg
        dy = d[n_d, 1::3] - yg
        e = (dx**2 + dy**2) / variances / ((a_g + a_d[n_d]) / 2 + np.spacing(1)) / 2
        ious[n_d] = np.sum(np.exp(-e)) / e.shape[0] if e.shape[0] != 0 else 0.0
    return ious


def soft_oks_nms(kpts_db, thresh, sigmas=COCO_SIGMAS, max_dets=20):
    """Official ``soft_oks_nms`` on a list of {"keypoints" [J, 3], "score", "area"}: Gaussian
    rescoring ``score * exp(-oks^2 / thresh)`` of the rest after each pick (``rescore``), at most
    20 picks; returns the picked indices in order."""
    if len(kpts_db) == 0:
        return []
    scores = np.array([k["score"] for k in kpts_db], np.float64)
    kpts = np.array([np.asarray(k["keypoints"]).flatten() for k in kpts_db])
    areas = np.array([k["area"] for k in kpts_db])
    order = scores.argsort()[::-1]
    scores = scores[order]
    keep = []
    while order.size > 0 and len(keep) < max_dets:
        i = order[0]
        overlap = oks_iou(kpts[i], kpts[order[1:]], areas[i], areas[order[1:]], sigmas)
        order = order[1:]
        scores = scores[1:] * np.exp(-overlap**2 / thresh)
        resort = scores.argsort()[::-1]
        order, scores = order[resort], scores[resort]
        keep.append(int(i))
    return keep


# -- JointsDataset.select_data ------------------------------------------------------------------------


def select_data(db, pixel_std=200):
    """Official ``select_data`` on records {"joints_3d" [J, 3], "joints_3d_vis" [J, 3], "center",
    "scale"}: keeps a training crop when the OKS-like agreement ``ks`` of its box centre with the
    mean of its labelled joints beats ``0.2 / 16 * num_vis + 0.45 - 0.2 / 16``."""
    selected = []
    for rec in db:
        num_vis, joints_x, joints_y = 0, 0.0, 0.0
        for joint, joint_vis in zip(rec["joints_3d"], rec["joints_3d_vis"], strict=True):
            if joint_vis[0] <= 0:
                continue
            num_vis += 1
            joints_x += joint[0]
            joints_y += joint[1]
        if num_vis == 0:
            continue
        joints_x, joints_y = joints_x / num_vis, joints_y / num_vis
        area = rec["scale"][0] * rec["scale"][1] * (pixel_std**2)
        diff_norm2 = np.linalg.norm(np.array([joints_x, joints_y]) - np.array(rec["center"]), 2)
        ks = np.exp(-1.0 * (diff_norm2**2) / ((0.2) ** 2 * 2.0 * area))
        metric = (0.2 / 16) * num_vis + 0.45 - 0.2 / 16
        if ks > metric:
            selected.append(rec)
    return selected


# -- lib/core/loss.py JointsOHKMMSELoss ------------------------------------------------------------


def joints_ohkm_mse(output, target, target_weight, topk=8):
    """Official ``JointsOHKMMSELoss(use_target_weight=True, topk)`` on NCHW arrays: per joint
    ``0.5 * MSE(reduction="none")`` of the weighted maps, averaged over pixels -> [B, J]; per
    sample the mean of its ``topk`` largest joint losses; the mean over the batch."""
    batch, joints = output.shape[:2]
    pred = output.reshape(batch, joints, -1).astype(np.float64)
    gt = target.reshape(batch, joints, -1).astype(np.float64)
    loss = np.zeros((batch, joints))
    for j in range(joints):
        w = target_weight[:, j][:, None]
        loss[:, j] = (0.5 * (pred[:, j] * w - gt[:, j] * w) ** 2).mean(axis=1)
    total = 0.0
    for i in range(batch):
        top = np.sort(loss[i])[::-1][:topk]
        total += np.sum(top) / topk
    return total / batch
