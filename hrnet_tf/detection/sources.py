"""COCO detection annotations (``instances_*.json``, or any COCO json with boxes) read with pycocotools.

Layout (``DIR`` = ``--data-dir``, mmdetection's ``data/coco``)::

    DIR/annotations/instances_{train2017,val2017}.json
    DIR/{train2017,val2017}/*.jpg

    >>> split = load_split("data/coco/annotations/instances_val2017.json",
    ...                    "data/coco/val2017")                                # doctest: +SKIP
    >>> len(split), split.skipped                                             # doctest: +SKIP
    (5000, {'crowd': 186, ...})

Category ids become contiguous labels in the file's category order (mmdet ``CocoDataset.cat2label``)
and are mapped back in the results json. As mmdet's ``CocoDataset._parse_ann_info``: crowd boxes are
left out of the training targets (pycocotools' COCOeval ignores them in evaluation); boxes that do
not overlap the image or are under one pixel wide/high are skipped; images without objects are kept.
Counted skips: ``crowd``, ``outside_image``, ``too_small``, ``unknown_category`` (an annotation whose
category is not in the file's categories). One-line ``DataError``: a missing annotation file or
image, malformed json, an annotation without a 4-number ``bbox``.
"""

import contextlib
import io
import numbers
import os
from dataclasses import dataclass, field

import numpy as np

from hrnet_tf.errors import DataError


@dataclass
class DetectionSplit:
    """The images of one split and their boxes (x1, y1, x2, y2, original pixels) and labels."""

    annotation_file: str
    image_paths: list
    image_ids: list
    sizes: list  # (height, width) per image
    boxes: list  # [G, 4] float32 arrays
    labels: list  # [G] int arrays (contiguous labels)
    category_ids: list  # label -> COCO category id
    category_names: list
    skipped: dict = field(default_factory=dict)

    def __len__(self):
        return len(self.image_paths)

    def report(self, what):
        counts = {k: v for k, v in self.skipped.items() if v}
        if not counts:
            return None
        return f"{what}: skipped annotations " + ", ".join(f"{k}={v}" for k, v in counts.items())

    def padded(self, max_objects):
        """(boxes [N, M, 4] float32, labels [N, M] int32 with -1 padding), M = max_objects (the
        largest boxes are kept when an image has more)."""
        n = len(self)
        boxes = np.zeros((n, max_objects, 4), np.float32)
        labels = np.full((n, max_objects), -1, np.int32)
        for i, (b, lab) in enumerate(zip(self.boxes, self.labels, strict=True)):
            if len(b) > max_objects:
                keep = np.argsort(-(b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]), kind="stable")
                b, lab = b[keep[:max_objects]], lab[keep[:max_objects]]
            boxes[i, :len(b)] = b
            labels[i, :len(b)] = lab
        return boxes, labels


def _real_numbers(values, count):
    return (isinstance(values, (list, tuple)) and len(values) == count
            and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values))


def open_coco(annotation_file):
    """pycocotools ``COCO`` of a detection json, quiet; ``DataError`` naming the file otherwise."""
    from pycocotools.coco import COCO

    from hrnet_tf.pose.sources import load_json

    data = load_json(annotation_file)
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise DataError(f"{annotation_file}: not a COCO annotation file (no 'images' list)")
    data.setdefault("annotations", [])
    data.setdefault("categories", [])
    for ann in data["annotations"]:
        if not _real_numbers(ann.get("bbox"), 4):
            raise DataError(f"{annotation_file}: annotation id {ann.get('id')} has no "
                            f"[x, y, w, h] bbox (got {ann.get('bbox')!r})")
    api = COCO()
    api.dataset = data
    with contextlib.redirect_stdout(io.StringIO()):
        api.createIndex()
    return api


def load_split(annotation_file, image_dir, check_images=True, max_images=0):
    """The :class:`DetectionSplit` of an annotation file whose images are in ``image_dir``."""
    api = open_coco(annotation_file)
    categories = api.dataset["categories"]
    category_ids = [int(c["id"]) for c in categories]
    label_of = {cid: i for i, cid in enumerate(category_ids)}
    skipped = {"crowd": 0, "outside_image": 0, "too_small": 0, "unknown_category": 0}
    paths, ids, sizes, all_boxes, all_labels = [], [], [], [], []
    image_ids = sorted(api.imgs)[: max_images or None]
    for image_id in image_ids:
        info = api.imgs[image_id]
        width, height = float(info.get("width", 0)), float(info.get("height", 0))
        boxes, labels = [], []
        for ann in api.imgToAnns.get(image_id, []):
            x, y, w, h = (float(v) for v in ann["bbox"])
            if ann.get("iscrowd", 0):
                skipped["crowd"] += 1
                continue
            if int(ann.get("category_id", -1)) not in label_of:
                skipped["unknown_category"] += 1
                continue
            inter_w = max(0.0, min(x + w, width) - max(x, 0.0))
            inter_h = max(0.0, min(y + h, height) - max(y, 0.0))
            if inter_w * inter_h == 0:
                skipped["outside_image"] += 1
                continue
            if ann.get("area", w * h) <= 0 or w < 1 or h < 1:
                skipped["too_small"] += 1
                continue
            boxes.append([x, y, x + w, y + h])
            labels.append(label_of[int(ann["category_id"])])
        path = os.path.join(image_dir, info["file_name"])
        if check_images and not os.path.isfile(path):
            raise DataError(f"image file not found: {path} (image id {image_id} of "
                            f"{annotation_file})")
        paths.append(path)
        ids.append(int(image_id))
        sizes.append((int(height), int(width)))
        all_boxes.append(np.asarray(boxes, np.float32).reshape(-1, 4))
        all_labels.append(np.asarray(labels, np.int32))
    return DetectionSplit(
        annotation_file=os.fspath(annotation_file), image_paths=paths, image_ids=ids, sizes=sizes,
        boxes=all_boxes, labels=all_labels, category_ids=category_ids,
        category_names=[str(c.get("name", c["id"])) for c in categories], skipped=skipped)


__all__ = ["DetectionSplit", "load_split", "open_coco"]
