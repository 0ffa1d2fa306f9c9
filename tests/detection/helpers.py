"""A small COCO-format detection set written by hand: a crowd box, an image with no object, a box
outside its image, an unknown category, a sub-pixel box."""

import json

import cv2
import numpy as np


def write_coco(root, images=None, annotations=None, categories=None, image_size=(96, 128)):
    """``root/annotations/instances_val.json`` and ``root/val/*.jpg``; returns (json, image dir)."""
    root.joinpath("val").mkdir(parents=True, exist_ok=True)
    root.joinpath("annotations").mkdir(exist_ok=True)
    h, w = image_size
    if images is None:
        images = [{"id": i, "file_name": f"{i:04d}.jpg", "width": w, "height": h}
                  for i in (1, 2, 3)]
    rng = np.random.default_rng(0)
    for info in images:
        path = root / "val" / info["file_name"]
        cv2.imwrite(str(path), rng.integers(0, 255, (info["height"], info["width"], 3), np.uint8))
    if categories is None:
        categories = [{"id": 3, "name": "car"}, {"id": 7, "name": "person"}]
    if annotations is None:
        annotations = [
            {"id": 1, "image_id": 1, "category_id": 7, "bbox": [10, 12, 30, 40], "area": 1200,
             "iscrowd": 0},
            {"id": 2, "image_id": 1, "category_id": 3, "bbox": [50, 20, 45, 30], "area": 1350,
             "iscrowd": 0},
            {"id": 3, "image_id": 1, "category_id": 7, "bbox": [0, 0, 60, 60], "area": 3600,
             "iscrowd": 1},
            {"id": 4, "image_id": 3, "category_id": 3, "bbox": [200, 300, 10, 10], "area": 100,
             "iscrowd": 0},  # outside the 128 x 96 image
            {"id": 5, "image_id": 3, "category_id": 99, "bbox": [5, 5, 10, 10], "area": 100,
             "iscrowd": 0},  # unknown category
            {"id": 6, "image_id": 3, "category_id": 3, "bbox": [5, 5, 0.5, 10], "area": 5,
             "iscrowd": 0},  # under a pixel wide
        ]  # image 2 holds no object
    path = root / "annotations" / "instances_val.json"
    path.write_text(json.dumps({"images": images, "annotations": annotations,
                                "categories": categories}))
    return path, root / "val"
