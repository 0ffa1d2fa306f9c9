"""MPII Human Pose in the official HRNet layout (``lib/dataset/mpii.py``).

Layout::

    DIR/annot/train.json, DIR/annot/valid.json     (image, center, scale, joints, joints_vis)
    DIR/annot/gt_valid.mat                           (head boxes for PCKh; read with scipy)
    DIR/images/*.jpg

    >>> records = load_mpii("data/mpii", "valid")        # doctest: +SKIP
    >>> gt_joints, missing, head_boxes = read_gt_mat(records.ground_truth)   # doctest: +SKIP

Official conventions: the annotation is 1-based (MATLAB), so centers and joints are shifted by
-1; the center moves down by ``15 * scale`` and the scale is enlarged by 1.25 to keep the limbs in
the crop. PCKh (:func:`hrnet_tf.pose.metrics.pckh`) compares 1-based predictions.
"""

import os

import numpy as np

from hrnet_tf.errors import DataError
from hrnet_tf.pose.keypoints import MPII
from hrnet_tf.pose.sources import PoseRecords, check_images_exist, load_json


def ground_truth_path(root, split):
    """``DIR/annot/gt_<split>.mat``: the head boxes and joints PCKh scores against."""
    return os.path.join(root, "annot", f"gt_{split}.mat")


def load_mpii(root, split, keypoints=MPII, check_images=True):
    """Person crops of an MPII split ("train", "valid") as :class:`PoseRecords`."""
    path = os.path.join(root, "annot", f"{split}.json")
    entries = load_json(path)
    if not isinstance(entries, list):
        raise DataError(f"{path}: expected a json list of people")
    n = keypoints.num_joints
    paths, centers, scales, joints, visible = [], [], [], [], []
    for i, entry in enumerate(entries):
        try:
            center = np.array(entry["center"], np.float64).reshape(2)
            scale = float(entry["scale"])
            kp = np.array(entry.get("joints", np.zeros((n, 2))), np.float64).reshape(n, 2)
            vis = np.array(entry.get("joints_vis", np.zeros(n)), np.float64).reshape(n)
            image = entry["image"]
        except (KeyError, TypeError, ValueError):
            raise DataError(f"{path}: entry #{i} lacks image/center/scale or has "
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
        check_images_exist(paths)
    return PoseRecords(
        np.array(paths), np.arange(len(paths), dtype=np.int64),
        np.array(centers, np.float32).reshape(-1, 2), np.array(scales, np.float32).reshape(-1, 2),
        np.array(joints, np.float32).reshape(-1, n, 2), np.array(visible, np.float32).reshape(-1, n),
        np.ones(len(paths), np.float32), {}, path, ground_truth_path(root, split))


def read_gt_mat(path):
    """(gt_joints [N, 16, 2], joint_missing [N, 16], head_boxes [N, 2, 2]) from gt_valid.mat."""
    try:
        from scipy.io import loadmat
    except ImportError:
        raise DataError(f"{path}: reading the MPII .mat ground truth needs scipy "
                        "(pip install 'hrnet_tf[mpii]')") from None
    if not os.path.isfile(path):
        raise DataError(f"file not found: {path}")
    try:
        mat = loadmat(path)
        gt = np.transpose(mat["pos_gt_src"], [2, 0, 1])  # [16, 2, N] -> [N, 16, 2]
        missing = np.transpose(mat["jnt_missing"], [1, 0])  # [16, N] -> [N, 16]
        boxes = np.transpose(mat["headboxes_src"], [2, 0, 1])  # [2, 2, N] -> [N, 2, 2]
    except (KeyError, ValueError) as e:
        raise DataError(f"{path}: not an MPII ground-truth file ({e})") from None
    return gt, missing, boxes


__all__ = ["ground_truth_path", "load_mpii", "read_gt_mat"]
