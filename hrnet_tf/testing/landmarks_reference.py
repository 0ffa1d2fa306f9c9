"""Independent NumPy/cv2 re-derivation of the official facial-landmark formulas
(HRNet-Facial-Landmark-Detection ``lib/utils/transforms.py``, ``lib/core/evaluation.py``,
``lib/datasets/*.py __getitem__``), written loop by loop and 3x3 matrix by matrix as the official
code does it, to hold the TF versions of :mod:`hrnet_tf.landmarks` to.

The flip pairs are transcribed here a second time, flat, from the official ``MATCHED_PARTS``
(WFLW 0-based, the others 1-based as written there), independently of the package's table.
"""

import math

import cv2
import numpy as np

# MATCHED_PARTS of lib/utils/transforms.py, pair by pair in the source's order.
OFFICIAL_PAIRS_TEXT = {
    "300W": "1 17 2 16 3 15 4 14 5 13 6 12 7 11 8 10 18 27 19 26 20 25 21 24 22 23 32 36 33 35 37 46 38 45 39 44 40 43 41 48 42 47 49 55 50 54 51 53 62 64 61 65 68 66 59 57 60 56",  # noqa: E501
    "AFLW": "1 6 2 5 3 4 7 12 8 11 9 10 13 15 16 18",
    "COFW": "1 2 5 7 3 4 6 8 9 10 11 12 13 15 17 18 14 16 19 20 23 24",
    "WFLW": "0 32 1 31 2 30 3 29 4 28 5 27 6 26 7 25 8 24 9 23 10 22 11 21 12 20 13 19 14 18 15 17 33 46 34 45 35 44 36 43 37 42 38 50 39 49 40 48 41 47 60 72 61 71 62 70 63 69 64 68 65 75 66 74 67 73 55 59 56 58 76 82 77 81 78 80 87 83 86 84 88 92 89 91 95 93 96 97",  # noqa: E501
}


def official_pairs(dataset):
    """The official pairs of "300W", "AFLW", "COFW" or "WFLW", as written (not shifted)."""
    values = [int(v) for v in OFFICIAL_PAIRS_TEXT[dataset].split()]
    return [values[i : i + 2] for i in range(0, len(values), 2)]


def fliplr_joints(x, width, dataset):
    """Official ``fliplr_joints``: x -> width - x, then the pairs swapped (1-based but WFLW)."""
    x = np.array(x, np.float64)
    x[:, 0] = width - x[:, 0]
    shift = 0 if dataset == "WFLW" else 1
    for a, b in official_pairs(dataset):
        tmp = x[a - shift].copy()
        x[a - shift] = x[b - shift]
        x[b - shift] = tmp
    return x


def get_transform(center, scale, output_size, rot=0):
    """Official ``get_transform`` (3x3), literally."""
    h = 200 * scale
    t = np.zeros((3, 3))
    t[0, 0] = float(output_size[1]) / h
    t[1, 1] = float(output_size[0]) / h
    t[0, 2] = output_size[1] * (-float(center[0]) / h + 0.5)
    t[1, 2] = output_size[0] * (-float(center[1]) / h + 0.5)
    t[2, 2] = 1
    if not rot == 0:
        rot = -rot
        rot_mat = np.zeros((3, 3))
        rot_rad = rot * np.pi / 180
        sn, cs = np.sin(rot_rad), np.cos(rot_rad)
        rot_mat[0, :2] = [cs, -sn]
        rot_mat[1, :2] = [sn, cs]
        rot_mat[2, 2] = 1
        t_mat = np.eye(3)
        t_mat[0, 2] = -output_size[1] / 2
        t_mat[1, 2] = -output_size[0] / 2
        t_inv = t_mat.copy()
        t_inv[:2, 2] *= -1
        t = np.dot(t_inv, np.dot(rot_mat, np.dot(t_mat, t)))
    return t


def transform_pixel(pt, center, scale, output_size, invert=0, rot=0):
    """Official ``transform_pixel``: 1-based pixels, ``astype(int) + 1``."""
    t = get_transform(center, scale, output_size, rot=rot)
    if invert:
        t = np.linalg.inv(t)
    new_pt = np.array([pt[0] - 1, pt[1] - 1, 1.0]).T
    new_pt = np.dot(t, new_pt)
    return new_pt[:2].astype(int) + 1


def generate_target(img, pt, sigma):
    """Official ``generate_target`` (Gaussian): draws into ``img`` [H, W] and returns it."""
    tmp_size = sigma * 3
    ul = [int(pt[0] - tmp_size), int(pt[1] - tmp_size)]
    br = [int(pt[0] + tmp_size + 1), int(pt[1] + tmp_size + 1)]
    if ul[0] >= img.shape[1] or ul[1] >= img.shape[0] or br[0] < 0 or br[1] < 0:
        return img
    size = 2 * tmp_size + 1
    x = np.arange(0, size, 1, np.float32)
    y = x[:, np.newaxis]
    x0 = y0 = size // 2
    g = np.exp(-((x - x0) ** 2 + (y - y0) ** 2) / (2 * sigma**2))
    g_x = max(0, -ul[0]), min(br[0], img.shape[1]) - ul[0]
    g_y = max(0, -ul[1]), min(br[1], img.shape[0]) - ul[1]
    img_x = max(0, ul[0]), min(br[0], img.shape[1])
    img_y = max(0, ul[1]), min(br[1], img.shape[0])
    img[img_y[0] : img_y[1], img_x[0] : img_x[1]] = g[g_y[0] : g_y[1], g_x[0] : g_x[1]]
    return img


def targets(pts, center, scale, heatmap_size, sigma, rot=0):
    """The target loop of ``__getitem__``: [L, H, W] float32 (points with y > 0 only)."""
    center = np.float32(center)  # torch.Tensor([center_w, center_h])
    target = np.zeros((len(pts), heatmap_size, heatmap_size))
    tpts = np.array(pts, np.float64)
    for i in range(len(pts)):
        if tpts[i, 1] > 0:
            tpts[i, 0:2] = transform_pixel(tpts[i, 0:2] + 1, center, scale,
                                           [heatmap_size, heatmap_size], rot=rot)
            target[i] = generate_target(target[i], tpts[i] - 1, sigma)
    return target.astype(np.float32)


def training_sample(image, pts, center, scale, input_size, heatmap_size, sigma, rot, flip,
                    dataset):
    """One official training sample for given draws (``scale`` already x1.25 and x the random
    factor): the flip (``np.fliplr`` of the pixels, ``fliplr_joints``, ``center[0] = width -
    center[0]`` in float32), the crop as the warp of ``get_transform`` at the input size, targets.
    Returns (crop [S, S, 3] float32, targets [L, H, W])."""
    image = np.asarray(image)
    center = np.array(center, np.float32)
    pts = np.array(pts, np.float64)
    if flip:
        image = np.ascontiguousarray(np.fliplr(image))
        pts = fliplr_joints(pts, image.shape[1], dataset)
        center[0] = np.float32(image.shape[1]) - center[0]
    crop = crop_image(image, center, scale, input_size, rot)
    return crop, targets(pts, center, scale, heatmap_size, sigma, rot)


def crop_image(image, center, scale, size, rot=0):
    """The crop the TF pipeline takes: ``cv2.warpAffine`` with ``get_transform``'s 2x3 part."""
    t = get_transform(np.float32(center), scale, [size, size], rot)
    return cv2.warpAffine(np.asarray(image, np.float32), t[:2], (size, size),
                          flags=cv2.INTER_LINEAR)


def get_preds(scores):
    """Official ``get_preds`` on [N, L, H, W]: 1-based (x, y), zeroed where the max is <= 0."""
    n, c, h, w = scores.shape
    flat = scores.reshape(n, c, -1)
    idx = flat.argmax(2) + 1
    maxval = flat.max(2)
    preds = np.zeros((n, c, 2), np.float32)
    preds[:, :, 0] = (idx - 1) % w + 1
    preds[:, :, 1] = np.floor((idx - 1) / w) + 1
    preds *= (maxval > 0)[..., None]
    return preds, maxval


def decode_preds(output, center, scale, res):
    """Official ``decode_preds`` on [N, L, H, W] heatmaps: whole-pixel points [N, L, 2]."""
    coords, _ = get_preds(output)
    for n in range(coords.shape[0]):
        for p in range(coords.shape[1]):
            hm = output[n][p]
            px = int(math.floor(coords[n][p][0]))
            py = int(math.floor(coords[n][p][1]))
            if (px > 1) and (px < res[0]) and (py > 1) and (py < res[1]):
                diff = np.array([hm[py - 1][px] - hm[py - 1][px - 2],
                                 hm[py][px - 1] - hm[py - 2][px - 1]])
                coords[n][p] += np.sign(diff) * 0.25
    coords += 0.5
    preds = coords.copy()
    for i in range(coords.shape[0]):
        for p in range(coords.shape[1]):
            preds[i, p] = transform_pixel(coords[i, p], np.float32(center[i]), scale[i], res, 1, 0)
    return preds


def decode_float(output, center, scale, res):
    """``decode_preds`` without the final ``astype(int) + 1``: t^-1 (c - 1)."""
    coords, _ = get_preds(output)
    for n in range(coords.shape[0]):
        for p in range(coords.shape[1]):
            hm = output[n][p]
            px, py = int(math.floor(coords[n][p][0])), int(math.floor(coords[n][p][1]))
            if (px > 1) and (px < res[0]) and (py > 1) and (py < res[1]):
                diff = np.array([hm[py - 1][px] - hm[py - 1][px - 2],
                                 hm[py][px - 1] - hm[py - 2][px - 1]])
                coords[n][p] += np.sign(diff) * 0.25
    coords = coords.astype(np.float64) + 0.5
    out = np.zeros_like(coords)
    for i in range(coords.shape[0]):
        t = np.linalg.inv(get_transform(np.float32(center[i]), scale[i], res))
        for p in range(coords.shape[1]):
            out[i, p] = np.dot(t, [coords[i, p, 0] - 1, coords[i, p, 1] - 1, 1.0])[:2]
    return out


def dark_decode(output, center, scale, res, kernel):
    """DARK (DarkPose ``get_final_preds`` with ``gaussian_blur`` and ``taylor``) on [N, L, H, W],
    mapped back as the float decoding with the 0-based peak m: t^-1 (m + 0.5)."""
    n, c, h, w = output.shape
    flat = output.reshape(n, c, -1)
    idx, maxval = flat.argmax(2), flat.max(2)
    coords = np.stack([idx % w, idx // w], -1).astype(np.float64) * (maxval > 0)[..., None]
    border = (kernel - 1) // 2
    hm = output.astype(np.float32).copy()
    for i in range(n):
        for j in range(c):
            origin_max = np.max(hm[i, j])
            dr = np.zeros((h + 2 * border, w + 2 * border))
            dr[border:-border, border:-border] = hm[i, j].copy()
            dr = cv2.GaussianBlur(dr, (kernel, kernel), 0)
            hm[i, j] = dr[border:-border, border:-border].copy()
            hm[i, j] *= origin_max / np.max(hm[i, j])
    hm = np.log(np.maximum(hm, 1e-10))
    for i in range(n):
        for j in range(c):
            px, py = int(coords[i, j, 0]), int(coords[i, j, 1])
            m = hm[i, j]
            if 1 < px < w - 2 and 1 < py < h - 2:
                dx = 0.5 * (m[py][px + 1] - m[py][px - 1])
                dy = 0.5 * (m[py + 1][px] - m[py - 1][px])
                dxx = 0.25 * (m[py][px + 2] - 2 * m[py][px] + m[py][px - 2])
                dxy = 0.25 * (m[py + 1][px + 1] - m[py - 1][px + 1] - m[py + 1][px - 1]
                              + m[py - 1][px - 1])
                dyy = 0.25 * (m[py + 2][px] - 2 * m[py][px] + m[py - 2][px])
                hessian = np.array([[dxx, dxy], [dxy, dyy]], np.float64)
                if dxx * dyy - dxy**2 != 0:
                    coords[i, j] += -np.linalg.inv(hessian) @ np.array([dx, dy], np.float64)
    out = np.zeros_like(coords)
    for i in range(n):
        t = np.linalg.inv(get_transform(np.float32(center[i]), scale[i], res))
        for p in range(c):
            out[i, p] = np.dot(t, [coords[i, p, 0] + 0.5, coords[i, p, 1] + 0.5, 1.0])[:2]
    return out


def compute_nme(preds, target, box_size=None):
    """Official ``compute_nme``: the normalizer chosen by the number of points."""
    n, num_points = preds.shape[:2]
    rmse = np.zeros(n)
    for i in range(n):
        pts_pred, pts_gt = preds[i], target[i]
        if num_points == 19:
            interocular = box_size[i]
        elif num_points == 29:
            interocular = np.linalg.norm(pts_gt[8] - pts_gt[9])
        elif num_points == 68:
            interocular = np.linalg.norm(pts_gt[36] - pts_gt[45])
        elif num_points == 98:
            interocular = np.linalg.norm(pts_gt[60] - pts_gt[72])
        else:
            raise ValueError("Number of landmarks is wrong")
        rmse[i] = np.sum(np.linalg.norm(pts_pred - pts_gt, axis=1)) / (interocular * num_points)
    return rmse


def auc_by_integration(nme, threshold=0.1, steps=100000):
    """Area under the cumulative error curve up to ``threshold`` / threshold, by the trapezoid
    rule on a fine grid (the way papers compute it)."""
    grid = np.linspace(0, threshold, steps + 1)
    ced = np.searchsorted(np.sort(nme), grid, side="right") / len(nme)  # fraction with NME <= x
    return float(np.trapezoid(ced, grid) / threshold)


def cofw_center_scale(pts):
    """``cofw.py __getitem__``: the landmark box (floor/ceil) -> centre and scale (/200)."""
    xmin, xmax = np.min(pts[:, 0]), np.max(pts[:, 0])
    ymin, ymax = np.min(pts[:, 1]), np.max(pts[:, 1])
    center = [(math.floor(xmin) + math.ceil(xmax)) / 2.0, (math.floor(ymin) + math.ceil(ymax)) / 2.0]
    scale = max(math.ceil(xmax) - math.floor(xmin), math.ceil(ymax) - math.floor(ymin)) / 200.0
    return center, scale


__all__ = [
    "OFFICIAL_PAIRS_TEXT",
    "auc_by_integration",
    "cofw_center_scale",
    "compute_nme",
    "crop_image",
    "dark_decode",
    "decode_float",
    "decode_preds",
    "fliplr_joints",
    "generate_target",
    "get_preds",
    "get_transform",
    "official_pairs",
    "targets",
    "training_sample",
    "transform_pixel",
]
