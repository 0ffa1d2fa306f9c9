"""COCO keypoints in the official layout, read with pycocotools, with the official skip rules.

Layout (``DIR`` = ``--data-dir``)::

    DIR/annotations/person_keypoints_{train2017,val2017}.json
    DIR/images/{train2017,val2017}/*.jpg
    DIR/person_detection_results/COCO_val2017_detections_AP_H_56_person.json

    >>> records = load_coco("data/coco", "val2017", aspect_ratio=192 / 256)   # doctest: +SKIP
    >>> records.size, records.skipped                                          # doctest: +SKIP
    (6352, {'crowd': 0, 'no_keypoints': 4741, 'zero_area': 4})

Bad data: crowd annotations, annotations without a labelled keypoint and boxes of zero area are
skipped and counted in ``records.skipped``; a missing image or annotation file, or malformed json,
raises ``DatasetError`` with one line naming the file.
"""

import contextlib
import io
import json
import os
from dataclasses import dataclass, field

import numpy as np

from hrnet_tf.pose.codec import box_to_center_scale
from hrnet_tf.pose.keypoints import COCO

DEFAULT_DETECTIONS = "COCO_val2017_detections_AP_H_56_person.json"


class DatasetError(ValueError):
    """Unusable dataset input; the message is one line naming the file (and key/value)."""


@dataclass
class PoseRecords:
    """One row per person crop; the arrays feed ``tf.data.Dataset.from_tensor_slices`` directly.

    joints [N, J, 2] and visible [N, J] are in image pixels (all zero / all one for detector boxes,
    as in the official code); ``scores`` are box scores (1 for ground-truth boxes).
    """

    image_paths: np.ndarray
    image_ids: np.ndarray
    centers: np.ndarray
    scales: np.ndarray
    joints: np.ndarray
    visible: np.ndarray
    scores: np.ndarray
    skipped: dict = field(default_factory=dict)
    annotation_file: str = ""

    @property
    def size(self):
        return len(self.image_paths)

    def as_dict(self):
        return {
            "image_path": self.image_paths, "image_id": self.image_ids,
            "center": self.centers, "scale": self.scales, "joints": self.joints,
            "visible": self.visible, "score": self.scores,
        }

    def subset(self, index):
        index = np.asarray(index)
        return PoseRecords(
            self.image_paths[index], self.image_ids[index], self.centers[index],
            self.scales[index], self.joints[index], self.visible[index], self.scores[index],
            dict(self.skipped), self.annotation_file,
        )


def _load_json(path):
    if not os.path.isfile(path):
        raise DatasetError(f"file not found: {path}")
    try:
        with open(path) as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise DatasetError(f"{path}: malformed json ({e.msg} at line {e.lineno})") from None
    except UnicodeDecodeError:
        raise DatasetError(f"{path}: not a text json file") from None


def open_coco(annotation_file):
    """pycocotools ``COCO`` for a keypoint annotation file, quiet, with one-line errors."""
    from pycocotools.coco import COCO as CocoApi

    data = _load_json(annotation_file)
    if not isinstance(data, dict):
        raise DatasetError(f"{annotation_file}: expected a json object with images/annotations")
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            raise DatasetError(f"{annotation_file}: missing or bad key '{key}'")
    api = CocoApi()
    api.dataset = data
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            api.createIndex()
        except (KeyError, TypeError) as e:
            raise DatasetError(f"{annotation_file}: malformed entry ({e!r})") from None
    return api


def annotation_path(root, split):
    return os.path.join(root, "annotations", f"person_keypoints_{split}.json")


def _image_path(root, split, image_info):
    return os.path.join(root, "images", split, image_info["file_name"])


def _check_images_exist(paths):
    for path in sorted(set(paths)):
        if not os.path.isfile(path):
            raise DatasetError(f"image file not found: {path}")


def load_coco(root, split, aspect_ratio, keypoints=COCO, detection_file=None,
              image_threshold=0.0, check_images=True):
    """Person crops of a COCO keypoint split.

    Args:
      root: dataset directory in the official layout.
      split: "train2017", "val2017", ...
      aspect_ratio: crop width / height (192/256).
      keypoints: the :class:`KeypointSet`; annotations must have ``3 * num_joints`` values.
      detection_file: None for ground-truth boxes (training, and ``USE_GT_BBOX``), else a
        detector results json (person category, score >= ``image_threshold``).
    Returns:
      :class:`PoseRecords` (``skipped`` counts every dropped annotation by reason).
    """
    ann_file = annotation_path(root, split)
    api = open_coco(ann_file)
    if detection_file is not None:
        records = _detection_records(api, root, split, detection_file, aspect_ratio,
                                     keypoints.num_joints, image_threshold)
    else:
        records = _ground_truth_records(api, root, split, aspect_ratio, keypoints, ann_file)
    records.annotation_file = ann_file
    if check_images:
        _check_images_exist(records.image_paths)
    return records


def _ground_truth_records(api, root, split, aspect_ratio, keypoints, ann_file):
    num_joints = keypoints.num_joints
    skipped = {"crowd": 0, "zero_area": 0, "no_keypoints": 0, "not_person": 0}
    rows = []
    for image_id in sorted(api.getImgIds()):
        info = api.imgs[image_id]
        width, height = info["width"], info["height"]
        for ann in api.imgToAnns.get(image_id, []):
            if ann.get("iscrowd", 0):
                skipped["crowd"] += 1
                continue
            if ann.get("category_id") != 1:
                skipped["not_person"] += 1
                continue
            # Official box sanitising: clip to the image, keep boxes with positive area.
            x, y, w, h = ann["bbox"]
            x1, y1 = max(0.0, x), max(0.0, y)
            x2 = min(width - 1.0, x1 + max(0.0, w - 1.0))
            y2 = min(height - 1.0, y1 + max(0.0, h - 1.0))
            if not (ann.get("area", 0) > 0 and x2 >= x1 and y2 >= y1):
                skipped["zero_area"] += 1
                continue
            values = ann.get("keypoints") or []
            if len(values) != 3 * num_joints:
                raise DatasetError(
                    f"{ann_file}: annotation id {ann.get('id')} has {len(values)} keypoint values, "
                    f"expected {3 * num_joints} for {num_joints} joints")
            if max(values) == 0:
                skipped["no_keypoints"] += 1
                continue
            kp = np.asarray(values, np.float32).reshape(num_joints, 3)
            center, scale = box_to_center_scale([x1, y1, x2 - x1, y2 - y1], aspect_ratio)
            rows.append((_image_path(root, split, info), image_id, center, scale, kp[:, :2],
                         np.minimum(kp[:, 2], 1.0), 1.0))
    return _to_records(rows, num_joints, skipped)


def _detection_records(api, root, split, detection_file, aspect_ratio, num_joints,
                       image_threshold):
    detections = _load_json(detection_file)
    if not isinstance(detections, list):
        raise DatasetError(f"{detection_file}: expected a json list of detections")
    skipped = {"not_person": 0, "below_threshold": 0, "unknown_image": 0, "zero_area": 0}
    rows = []
    for i, det in enumerate(detections):
        try:
            category, image_id, box, score = (
                det["category_id"], det["image_id"], det["bbox"], float(det["score"]))
        except (KeyError, TypeError, ValueError):
            raise DatasetError(f"{detection_file}: detection #{i} lacks "
                               "category_id/image_id/bbox/score") from None
        if category != 1:
            skipped["not_person"] += 1
            continue
        if score < image_threshold:
            skipped["below_threshold"] += 1
            continue
        if image_id not in api.imgs:
            skipped["unknown_image"] += 1
            continue
        if box[2] <= 0 or box[3] <= 0:
            skipped["zero_area"] += 1
            continue
        center, scale = box_to_center_scale(box, aspect_ratio)
        rows.append((_image_path(root, split, api.imgs[image_id]), image_id, center, scale,
                     np.zeros((num_joints, 2), np.float32), np.ones(num_joints, np.float32),
                     score))
    return _to_records(rows, num_joints, skipped)


def _to_records(rows, num_joints, skipped):
    if not rows:
        empty2 = np.zeros((0, 2), np.float32)
        return PoseRecords(np.zeros(0, str), np.zeros(0, np.int64), empty2, empty2,
                           np.zeros((0, num_joints, 2), np.float32),
                           np.zeros((0, num_joints), np.float32), np.zeros(0, np.float32),
                           skipped)
    paths, ids, centers, scales, joints, visible, scores = zip(*rows, strict=True)
    return PoseRecords(
        np.array(paths), np.array(ids, np.int64), np.stack(centers).astype(np.float32),
        np.stack(scales).astype(np.float32), np.stack(joints).astype(np.float32),
        np.stack(visible).astype(np.float32), np.array(scores, np.float32), skipped)


def format_skipped(skipped):
    """'skipped: 2 no_keypoints, 1 crowd' (or '' when nothing was skipped)."""
    parts = [f"{n} {reason}" for reason, n in skipped.items() if n]
    return "skipped: " + ", ".join(parts) if parts else ""
