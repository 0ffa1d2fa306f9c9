"""COCO keypoints in the official layout, read with pycocotools, with the official skip rules.

Layout (``DIR`` = ``--data-dir``)::

    DIR/annotations/person_keypoints_{train2017,val2017}.json
    DIR/images/{train2017,val2017}/*.jpg
    DIR/person_detection_results/COCO_val2017_detections_AP_H_56_person.json
    DIR/annotations/image_info_test-dev2017.json                 (test-dev: images, no annotations)
    DIR/images/test2017/*.jpg
    DIR/person_detection_results/COCO_test-dev2017_detections_AP_H_609_person.json

A split whose name contains "test" is read as the official ``coco.py`` does: its annotation file is
``image_info_<split>.json`` (no keypoints), its images live in ``images/test2017``, and its crops are
the detector's boxes; the evaluation then writes the results json for the COCO server instead of
scoring it.

    >>> records = load_coco("data/coco", "val2017", aspect_ratio=192 / 256)   # doctest: +SKIP
    >>> records.size, records.skipped                                          # doctest: +SKIP
    (6352, {'crowd': 0, 'zero_area': 4, 'no_keypoints': 4741, 'not_person': 0})

Rows dropped by the official rules (``lib/dataset/coco.py _load_coco_keypoint_annotation_kernal``,
``_load_coco_person_detection_results``) are counted in ``records.skipped``: crowd annotations,
annotations without a labelled keypoint, boxes of zero area; detections of another category, below
``image_threshold`` or of an unknown image. Input that cannot be right stops with one line naming
the file (``DataError``): a missing image or annotation file, malformed json, an annotation whose
keypoint list does not have ``3 * num_joints`` numbers (named by its id: pycocotools' COCOeval would
otherwise fail with a numpy broadcast error), a detection without category/image/box/score.
"""

import contextlib
import io
import numbers
import os

import numpy as np

from hrnet_tf.errors import DataError
from hrnet_tf.pose.codec import box_to_center_scale
from hrnet_tf.pose.keypoints import COCO
from hrnet_tf.pose.sources import PoseRecords, check_images_exist, load_json

DEFAULT_DETECTIONS = "COCO_val2017_detections_AP_H_56_person.json"
# The detector boxes the official repository publishes (SimpleBaseline's detector, person AP 56.4
# on val2017 and 60.9 on test-dev2017).
DETECTION_FILES = {"val2017": DEFAULT_DETECTIONS,
                   "test-dev2017": "COCO_test-dev2017_detections_AP_H_609_person.json"}
PERSON = 1


def is_test_split(split):
    """A split without keypoint annotations (official ``'test' in self.image_set``)."""
    return "test" in split


def annotation_path(root, split):
    """``person_keypoints_<split>.json``; ``image_info_<split>.json`` for test splits (official
    ``_get_ann_file_keypoint``)."""
    prefix = "image_info" if is_test_split(split) else "person_keypoints"
    return os.path.join(root, "annotations", f"{prefix}_{split}.json")


def detection_path(root, split="val2017"):
    """The official detector boxes of ``split`` under ``root`` (val2017: AP 56 person detector,
    test-dev2017: AP 60.9); other splits: ``COCO_<split>_detections.json``."""
    name = DETECTION_FILES.get(split, f"COCO_{split}_detections.json")
    return os.path.join(root, "person_detection_results", name)


def _numbers(values, count):
    return (isinstance(values, (list, tuple)) and len(values) == count
            and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values))


def open_coco(annotation_file, num_joints=None, image_info=False):
    """pycocotools ``COCO`` for a keypoint annotation file, quiet, with one-line errors.

    With ``num_joints``, every person annotation must carry ``3 * num_joints`` keypoint numbers and
    a 4-number box (the ground truth COCOeval reads), else ``DataError`` naming the annotation id.
    ``image_info``: a test split's image list, which has no annotations.
    """
    from pycocotools.coco import COCO as CocoApi

    data = load_json(annotation_file)
    if not isinstance(data, dict):
        raise DataError(f"{annotation_file}: expected a json object with images/annotations")
    if image_info:
        data.setdefault("annotations", [])
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            raise DataError(f"{annotation_file}: missing or bad key '{key}'")
    for i, ann in enumerate(data["annotations"]):
        if not isinstance(ann, dict) or "image_id" not in ann:
            raise DataError(f"{annotation_file}: annotation #{i} is not an object with an image_id")
        if num_joints is not None and ann.get("category_id") == PERSON:
            _check_annotation(annotation_file, ann, num_joints)
    api = CocoApi()
    api.dataset = data
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            api.createIndex()
        except (KeyError, TypeError) as e:
            raise DataError(f"{annotation_file}: malformed entry ({e!r})") from None
    return api


def _check_annotation(annotation_file, ann, num_joints):
    values = ann.get("keypoints")
    if not _numbers(values, 3 * num_joints):
        got = f"{len(values)} values" if isinstance(values, list) else repr(values)[:40]
        raise DataError(
            f"{annotation_file}: annotation id {ann.get('id')} has keypoints {got}, expected "
            f"{3 * num_joints} numbers (x, y, v for {num_joints} joints)"
        )
    if not _numbers(ann.get("bbox"), 4):
        raise DataError(f"{annotation_file}: annotation id {ann.get('id')} has bbox "
                        f"{ann.get('bbox')!r}, expected [x, y, w, h]")


def _image_path(root, split, image_info):
    folder = "test2017" if is_test_split(split) else split  # official image_path_from_index
    return os.path.join(root, "images", folder, image_info["file_name"])


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
    test = is_test_split(split)
    if test and detection_file is None:
        raise DataError(f"{split} has no keypoint annotations ({ann_file}): its crops come from a "
                        "detector's boxes (eval.use_gt_bbox: false, eval.detection_file)")
    api = open_coco(ann_file, keypoints.num_joints, image_info=test)
    if detection_file is not None:
        rows, skipped = _detection_rows(api, root, split, os.fspath(detection_file),
                                        image_threshold)
    else:
        rows, skipped = _ground_truth_rows(api, root, split, keypoints.num_joints)
    records = _to_records(rows, keypoints.num_joints, skipped, aspect_ratio)
    records.source = os.fspath(detection_file) if detection_file is not None else ann_file
    records.ground_truth = ann_file
    if check_images:
        check_images_exist(records.image_paths)
    return records


def _ground_truth_rows(api, root, split, num_joints):
    skipped = {"crowd": 0, "zero_area": 0, "no_keypoints": 0, "not_person": 0}
    rows = []
    for image_id in sorted(api.getImgIds()):
        info = api.imgs[image_id]
        width, height = info["width"], info["height"]
        for ann in api.imgToAnns.get(image_id, []):
            if ann.get("iscrowd", 0):
                skipped["crowd"] += 1
                continue
            if ann.get("category_id") != PERSON:
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
            if max(ann["keypoints"]) == 0:
                skipped["no_keypoints"] += 1
                continue
            kp = np.asarray(ann["keypoints"], np.float32).reshape(num_joints, 3)
            rows.append((_image_path(root, split, info), image_id, [x1, y1, x2 - x1, y2 - y1],
                         kp[:, :2], np.minimum(kp[:, 2], 1.0), 1.0))
    return rows, skipped


def _detection_rows(api, root, split, detection_file, image_threshold):
    detections = load_json(detection_file)
    if not isinstance(detections, list):
        raise DataError(f"{detection_file}: expected a json list of detections")
    skipped = {"not_person": 0, "below_threshold": 0, "unknown_image": 0, "zero_area": 0}
    rows = []
    for i, det in enumerate(detections):
        if not (isinstance(det, dict) and {"category_id", "image_id", "bbox", "score"} <= set(det)
                and _numbers(det["bbox"], 4) and _numbers([det["score"]], 1)):
            raise DataError(f"{detection_file}: detection #{i} is not "
                            "{category_id, image_id, bbox: [x, y, w, h], score}")
        box, score = det["bbox"], float(det["score"])
        if det["category_id"] != PERSON:
            skipped["not_person"] += 1
        elif score < image_threshold:
            skipped["below_threshold"] += 1
        elif det["image_id"] not in api.imgs:
            skipped["unknown_image"] += 1
        elif box[2] <= 0 or box[3] <= 0:
            skipped["zero_area"] += 1
        else:
            # Detector boxes carry no joints: all zero, all "visible", as the official loader.
            rows.append((_image_path(root, split, api.imgs[det["image_id"]]), det["image_id"],
                         box, None, None, score))
    return rows, skipped


def _to_records(rows, num_joints, skipped, aspect_ratio):
    if not rows:
        return PoseRecords.empty(num_joints, skipped=skipped)
    paths, ids, boxes, joints, visible, scores = zip(*rows, strict=True)
    centers, scales = box_to_center_scale(np.asarray(boxes, np.float32), aspect_ratio)
    zero_joints = np.zeros((num_joints, 2), np.float32)
    ones = np.ones(num_joints, np.float32)
    return PoseRecords(
        np.array(paths), np.array(ids, np.int64), centers.numpy(), scales.numpy(),
        np.stack([zero_joints if j is None else j for j in joints]).astype(np.float32),
        np.stack([ones if v is None else v for v in visible]).astype(np.float32),
        np.array(scores, np.float32), skipped)


__all__ = ["DEFAULT_DETECTIONS", "DETECTION_FILES", "annotation_path", "detection_path",
           "is_test_split", "load_coco", "open_coco"]
