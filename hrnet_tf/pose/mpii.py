"""MPII Human Pose in the official HRNet layout, and PCKh as the official ``mpii.evaluate``.

Layout::

    DIR/annot/train.json, DIR/annot/valid.json     (image, center, scale, joints, joints_vis)
    DIR/annot/gt_valid.mat                           (head boxes for PCKh; read with scipy)
    DIR/images/*.jpg

    >>> records = load_mpii("data/mpii", "valid")        # doctest: +SKIP
    >>> pckh(predictions, "data/mpii/annot/gt_valid.mat")["Mean"]   # doctest: +SKIP
    90.3

Official conventions: the annotation is 1-based (MATLAB), so centers and joints are shifted by
-1; the center moves down by ``15 * scale`` and the scale is enlarged by 1.25 to keep the limbs in
the crop; PCKh uses 0.6 x the head-box diagonal, excludes pelvis and thorax from the means, and
compares 1-based predictions (``preds + 1``).
"""

import os

import numpy as np

from hrnet_tf.pose.coco import DatasetError, PoseRecords, _check_images_exist, _load_json
from hrnet_tf.pose.keypoints import MPII

HEAD_SIZE_FACTOR = 0.6  # official SC_BIAS
MPII_GROUPS = {  # name -> (left, right) joint ids of MPII_JOINT_NAMES
    "Shoulder": (13, 12), "Elbow": (14, 11), "Wrist": (15, 10), "Hip": (3, 2), "Knee": (4, 1),
    "Ankle": (5, 0),
}
HEAD = 9


def load_mpii(root, split, keypoints=MPII, check_images=True):
    """Person crops of an MPII split ("train", "valid") as :class:`PoseRecords`."""
    path = os.path.join(root, "annot", f"{split}.json")
    entries = _load_json(path)
    if not isinstance(entries, list):
        raise DatasetError(f"{path}: expected a json list of people")
    n = keypoints.num_joints
    paths, centers, scales, joints, visible = [], [], [], [], []
    for i, entry in enumerate(entries):
        try:
            center = np.array(entry["center"], np.float64)
            scale = float(entry["scale"])
            kp = np.array(entry.get("joints", np.zeros((n, 2))), np.float64).reshape(n, 2)
            vis = np.array(entry.get("joints_vis", np.zeros(n)), np.float64).reshape(n)
            image = entry["image"]
        except (KeyError, TypeError, ValueError):
            raise DatasetError(f"{path}: entry #{i} lacks image/center/scale or has "
                               f"joints that are not {n} x 2") from None
        scale = np.array([scale, scale])
        if center[0] != -1:
            center[1] += 15 * scale[1]  # official: avoid cropping the legs
            scale = scale * 1.25
        paths.append(os.path.join(root, "images", image))
        centers.append(center - 1)  # 1-based MATLAB -> 0-based
        scales.append(scale)
        joints.append(kp - 1)
        visible.append(vis)
    if check_images:
        _check_images_exist(paths)
    records = PoseRecords(
        np.array(paths), np.arange(len(paths), dtype=np.int64),
        np.array(centers, np.float32).reshape(-1, 2), np.array(scales, np.float32).reshape(-1, 2),
        np.array(joints, np.float32).reshape(-1, n, 2), np.array(visible, np.float32).reshape(-1, n),
        np.ones(len(paths), np.float32), {}, path)
    return records


def pckh_from_arrays(predictions, gt_joints, joint_missing, head_boxes, threshold=0.5):
    """PCKh per joint group, as the official code computes it.

    Args:
      predictions: [N, 16, 2] 0-based image coordinates (our decoder's output).
      gt_joints: [N, 16, 2] 1-based ground truth (``pos_gt_src`` transposed).
      joint_missing: [N, 16] 1 where the joint is not annotated.
      head_boxes: [N, 2, 2] head box corners ((x1, y1), (x2, y2)).
    Returns:
      {"Head", "Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle", "Mean", "Mean@0.1"} in %
      (the means exclude pelvis and thorax and weight joints by their annotated counts).
    """
    predictions = np.asarray(predictions, np.float64) + 1.0  # compare in 1-based coordinates
    visible = 1 - np.asarray(joint_missing, np.float64)
    errors = np.linalg.norm(predictions - np.asarray(gt_joints, np.float64), axis=2)
    head = np.asarray(head_boxes, np.float64)
    head_size = np.linalg.norm(head[:, 1] - head[:, 0], axis=1) * HEAD_SIZE_FACTOR
    scaled = errors / head_size[:, None]
    counts = visible.sum(axis=0)  # per joint

    def pck_at(t):
        hits = ((scaled <= t) * visible).sum(axis=0)
        return 100.0 * hits / np.maximum(counts, 1)

    per_joint = pck_at(threshold)
    used = np.ones(len(counts), bool)
    used[6:8] = False  # pelvis and thorax are not scored
    ratio = np.where(used, counts, 0) / counts[used].sum()
    out = {"Head": float(per_joint[HEAD])}
    for name, (left, right) in MPII_GROUPS.items():
        out[name] = float(0.5 * (per_joint[left] + per_joint[right]))
    out["Mean"] = float((per_joint * ratio).sum())
    # the official "Mean@0.1" reads row 11 of arange(0, 0.51, 0.01), i.e. threshold 0.11
    out["Mean@0.1"] = float((pck_at(np.arange(0, 0.5 + 0.01, 0.01)[11]) * ratio).sum())
    return out


def read_gt_mat(path):
    """(gt_joints [N, 16, 2], joint_missing [N, 16], head_boxes [N, 2, 2]) from gt_valid.mat."""
    try:
        from scipy.io import loadmat
    except ImportError:
        raise DatasetError(f"{path}: reading the MPII .mat ground truth needs scipy "
                           "(pip install 'hrnet_tf[mpii]')") from None
    if not os.path.isfile(path):
        raise DatasetError(f"file not found: {path}")
    try:
        mat = loadmat(path)
        gt = np.transpose(mat["pos_gt_src"], [2, 0, 1])  # [16, 2, N] -> [N, 16, 2]
        missing = np.transpose(mat["jnt_missing"], [1, 0])  # [16, N] -> [N, 16]
        boxes = np.transpose(mat["headboxes_src"], [2, 0, 1])  # [2, 2, N] -> [N, 2, 2]
    except (KeyError, ValueError) as e:
        raise DatasetError(f"{path}: not an MPII ground-truth file ({e})") from None
    return gt, missing, boxes


def pckh(predictions, gt_mat_path, threshold=0.5):
    """PCKh of [N, 16, 2] predictions (in ``valid.json`` order) against ``gt_valid.mat``."""
    gt, missing, boxes = read_gt_mat(gt_mat_path)
    if len(gt) != len(predictions):
        raise DatasetError(f"{gt_mat_path}: {len(gt)} people, but {len(predictions)} predictions")
    return pckh_from_arrays(predictions, gt, missing, boxes, threshold)
