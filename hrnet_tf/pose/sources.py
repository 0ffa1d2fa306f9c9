"""Pose datasets on disk: the person-crop table every format is read into, and the checks they share.

One row per person crop (a ground-truth box with its joints, or a detector box), as numpy arrays
that ``tf.data.Dataset.from_tensor_slices`` takes directly. The formats: :mod:`hrnet_tf.pose.coco`
(COCO keypoints, and the synthetic demo, which is written in that layout) and
:mod:`hrnet_tf.pose.mpii`. Unusable input raises :class:`~hrnet_tf.errors.DataError` with one line
naming the file (and the annotation); rows dropped by the official rules are counted in
``PoseRecords.skipped`` and reported by :func:`skip_note`.

    >>> records = PoseRecords.empty(17)
    >>> records.size, records.joints.shape
    (0, (0, 17, 2))
"""

import json
import os
from dataclasses import dataclass, field

import numpy as np

from hrnet_tf.data.images import image_file_problem
from hrnet_tf.errors import DataError


@dataclass
class PoseRecords:
    """Person crops: ``joints`` [N, J, 2] and ``visible`` [N, J] are in image pixels (all zero / all
    one for detector boxes, as in the official code); ``scores`` are box scores (1 for ground-truth
    boxes); ``source`` is the annotation file they were read from, ``ground_truth`` what the
    evaluation scores against (the COCO annotation file, MPII's ``gt_valid.mat``)."""

    image_paths: np.ndarray
    image_ids: np.ndarray
    centers: np.ndarray
    scales: np.ndarray
    joints: np.ndarray
    visible: np.ndarray
    scores: np.ndarray
    skipped: dict = field(default_factory=dict)
    source: str = ""
    ground_truth: str = ""

    @property
    def size(self):
        return len(self.image_paths)

    @classmethod
    def empty(cls, num_joints, **kwargs):
        empty2 = np.zeros((0, 2), np.float32)
        return cls(np.zeros(0, str), np.zeros(0, np.int64), empty2, empty2,
                   np.zeros((0, num_joints, 2), np.float32), np.zeros((0, num_joints), np.float32),
                   np.zeros(0, np.float32), **kwargs)

    def as_dict(self):
        return {
            "image_path": self.image_paths, "image_id": self.image_ids,
            "center": self.centers, "scale": self.scales, "joints": self.joints,
            "visible": self.visible, "score": self.scores,
        }

    def subset(self, index):
        """The rows ``index`` (a slice, integer indices or a boolean mask) as new records."""
        if not isinstance(index, slice):
            index = np.asarray(index)
        return PoseRecords(
            self.image_paths[index], self.image_ids[index], self.centers[index],
            self.scales[index], self.joints[index], self.visible[index], self.scores[index],
            dict(self.skipped), self.source, self.ground_truth,
        )


def load_json(path):
    """The parsed json file; ``DataError`` naming the file when it is missing or malformed."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise DataError(f"file not found: {path}")
    try:
        with open(path) as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise DataError(f"{path}: malformed json ({e.msg} at line {e.lineno})") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text json file") from None


def check_images_exist(paths):
    """``DataError`` naming the first listed image that is not a file."""
    for path in sorted(set(paths)):
        if not os.path.isfile(path):
            raise DataError(f"image file not found: {path}")


def without_bad_images(records, what, shown=10):
    """``records`` without the crops of images that are not complete files (wrong magic bytes,
    truncated: :func:`hrnet_tf.data.images.image_file_problem`, which reads each file's first and
    last bytes), and the report line naming them (None when all are complete)."""
    problems = {}
    for path in sorted(set(records.image_paths)):
        problem = image_file_problem(path)
        if problem:
            problems[path] = problem
    if not problems:
        return records, None
    bad = np.array([path in problems for path in records.image_paths])
    listed = "; ".join(f"{path} ({why})" for path, why in list(problems.items())[:shown])
    more = f"; and {len(problems) - shown} more" if len(problems) > shown else ""
    note = (f"{what}: skipped {len(problems)} image(s), {int(bad.sum())} person crop(s): "
            f"{listed}{more}")
    return records.subset(np.flatnonzero(~bad)), note


def select_data(records, pixel_std=200.0):
    """Official ``JointsDataset.select_data`` (``DATASET.SELECT_DATA``, training only): keeps a
    crop when ``ks = exp(-|c_joints - c_box|^2 / (0.2^2 * 2 * area))``, the agreement of the mean
    of its labelled joints with its box centre (area = prod(scale * 200)), exceeds
    ``0.2 / 16 * num_vis + 0.45 - 0.2 / 16``; crops without labelled joints go too. The dropped
    crops are counted in ``skipped["select_data"]``.

    >>> records = PoseRecords.empty(17)
    >>> select_data(records).skipped
    {'select_data': 0}
    """
    visible = np.asarray(records.visible) > 0
    num_vis = visible.sum(axis=1)
    joint_sum = np.where(visible[..., None], np.asarray(records.joints, np.float64), 0.0).sum(1)
    joint_center = joint_sum / np.maximum(num_vis, 1)[:, None]
    area = np.prod(np.asarray(records.scales, np.float64), axis=1) * pixel_std**2
    distance2 = np.sum((joint_center - np.asarray(records.centers, np.float64)) ** 2, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ks = np.exp(-distance2 / (0.2**2 * 2.0 * area))
    metric = (0.2 / 16) * num_vis + 0.45 - 0.2 / 16
    keep = (num_vis > 0) & (ks > metric)
    selected = records.subset(np.flatnonzero(keep))
    selected.skipped["select_data"] = int((~keep).sum())
    return selected


def skip_note(records, what):
    """One line for the end-of-run report, e.g. ``'val2017 (DIR/annotations/x.json): skipped 3
    annotations: 2 no_keypoints, 1 crowd'``, or None when nothing was skipped.

    >>> skip_note(PoseRecords.empty(17, skipped={"crowd": 1, "zero_area": 0}), "train2017")
    'train2017: skipped 1 annotation(s): 1 crowd'
    """
    parts = [f"{n} {reason}" for reason, n in records.skipped.items() if n]
    if not parts:
        return None
    total = sum(records.skipped.values())
    where = f"{what} ({records.source})" if records.source else what
    return f"{where}: skipped {total} annotation(s): {', '.join(parts)}"


__all__ = ["PoseRecords", "check_images_exist", "load_json", "select_data", "skip_note",
           "without_bad_images"]
