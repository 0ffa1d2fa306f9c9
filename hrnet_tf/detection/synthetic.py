"""The generated detection demo: simple shapes (square, disc, triangle) in the COCO layout.

    DIR/annotations/instances_{train,val}.json
    DIR/{train,val}/000000000001.jpg ...

Each image (random size around 128 x 144) holds 0 to 3 shapes of random colour and size (16 to 56
px) on a textured background, placed so that they seldom overlap; about one image in twelve holds
none (kept, as COCO's). Boxes are the tight boxes of the drawn pixels. Generated through
:func:`hrnet_tf.data.synthetic.ensure_generated`.
"""

import json
import os

import cv2
import numpy as np

from hrnet_tf.data.synthetic import ensure_generated

GENERATOR_VERSION = 2
CATEGORIES = ("square", "disc", "triangle")


def _background(rng, height, width):
    small = rng.uniform(60, 200, (4, 4, 3)).astype(np.float32)
    image = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    image += rng.normal(0, 8, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def _place(rng, h, w, taken):
    """(size, cx, cy) of a shape whose square does not touch the ones already placed (a few
    tries; the last one is kept, so shapes seldom overlap)."""
    for _ in range(20):
        size = int(rng.uniform(16, 56))
        cx, cy = rng.uniform(size / 2, w - size / 2), rng.uniform(size / 2, h - size / 2)
        box = (cx - size / 2 - 2, cy - size / 2 - 2, cx + size / 2 + 2, cy + size / 2 + 2)
        if all(box[2] < t[0] or t[2] < box[0] or box[3] < t[1] or t[3] < box[1] for t in taken):
            break
    taken.append(box)
    return size, cx, cy


def _draw(image, rng, kind, taken):
    h, w = image.shape[:2]
    size, cx, cy = _place(rng, h, w, taken)
    color = tuple(int(c) for c in rng.integers(0, 256, 3))
    mask = np.zeros((h, w), np.uint8)
    if kind == 0:
        half = size / 2
        cv2.rectangle(mask, (int(cx - half), int(cy - half)), (int(cx + half), int(cy + half)),
                      255, -1)
    elif kind == 1:
        cv2.circle(mask, (int(cx), int(cy)), size // 2, 255, -1, cv2.LINE_AA)
    else:
        pts = np.array([[cx, cy - size / 2], [cx - size / 2, cy + size / 2],
                        [cx + size / 2, cy + size / 2]], np.int32)
        cv2.fillPoly(mask, [pts], 255, cv2.LINE_AA)
    alpha = mask[..., None].astype(np.float32) / 255
    image[:] = (image * (1 - alpha) + np.asarray(color, np.float32) * alpha).astype(np.uint8)
    ys, xs = np.nonzero(mask > 127)
    x0, y0 = int(xs.min()), int(ys.min())
    return [float(x0), float(y0), float(xs.max() - x0 + 1), float(ys.max() - y0 + 1)], \
        float((mask > 127).sum())


def _write_split(root, split, count, rng, next_id):
    os.makedirs(os.path.join(root, split), exist_ok=True)
    images, annotations = [], []
    for i in range(count):
        image_id = i + 1
        height, width = int(rng.integers(112, 145)), int(rng.integers(128, 161))
        image = _background(rng, height, width)
        n = 0 if rng.random() < 1 / 12 else int(rng.integers(1, 4))
        taken = []
        for _ in range(n):
            kind = int(rng.integers(0, len(CATEGORIES)))
            bbox, area = _draw(image, rng, kind, taken)
            annotations.append({"id": next_id, "image_id": image_id, "category_id": kind + 1,
                                "bbox": [round(v, 2) for v in bbox], "area": area,
                                "iscrowd": 0})
            next_id += 1
        file_name = f"{image_id:012d}.jpg"
        cv2.imwrite(os.path.join(root, split, file_name), image[:, :, ::-1],
                    [cv2.IMWRITE_JPEG_QUALITY, 92])
        images.append({"id": image_id, "file_name": file_name, "width": width, "height": height})
    categories = [{"id": i + 1, "name": name, "supercategory": "shape"}
                  for i, name in enumerate(CATEGORIES)]
    os.makedirs(os.path.join(root, "annotations"), exist_ok=True)
    with open(os.path.join(root, "annotations", f"instances_{split}.json"), "w") as f:
        json.dump({"images": images, "annotations": annotations, "categories": categories}, f)
    return next_id


def make_synthetic_shapes(root, num_train, num_val, seed=0):
    rng = np.random.default_rng(seed)
    next_id = _write_split(root, "train", num_train, rng, 1)
    _write_split(root, "val", num_val, rng, next_id)
    return root


def ensure_synthetic(root, num_train, num_val, seed=0):
    """``root`` holding the shapes set of these settings (generated or regenerated as needed)."""
    settings = {"generator": "detection shapes", "version": GENERATOR_VERSION,
                "num_train": int(num_train), "num_val": int(num_val), "seed": int(seed)}
    return ensure_generated(root, settings,
                            lambda folder: make_synthetic_shapes(folder, num_train, num_val, seed))


__all__ = ["CATEGORIES", "ensure_synthetic", "make_synthetic_shapes"]
