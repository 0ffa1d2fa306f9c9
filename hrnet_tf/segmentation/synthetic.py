"""Synthetic street scenes in the Cityscapes directory layout: the demo data of the segmentation task.

Each scene has sky, a band of buildings with windows, trees, a road with cars, and an ego-vehicle
hood at the bottom; label PNGs hold Cityscapes *label ids* (23 sky, 11 building, 21 vegetation,
7 road, 26 car, 1 ego vehicle), so the same id -> train id mapping code runs as on real data.
Colors are the Cityscapes ones with per-image lighting changes and pixel noise, and class
boundaries are irregular, so the task is easy but not trivial.

    >>> import tempfile
    >>> root = tempfile.mkdtemp()
    >>> counts = write_synthetic_cityscapes(root, num_train=2, num_val=1, size=(64, 128))
    >>> counts
    {'train': 2, 'val': 1}

``SYNTHETIC_ID_MAPPING`` maps those label ids to the 5 classes ``SYNTHETIC_CLASSES`` (the ego
vehicle is ignored), the ``id_mapping`` of ``configs/segmentation/synthetic_tiny.yaml``.

:func:`ensure_scenes` is what the task calls: it goes through
:func:`hrnet_tf.data.synthetic.ensure_generated`, so the folder is regenerated when the counts,
size or seed change and a folder holding other data is refused.
"""

import os

import cv2
import numpy as np

from hrnet_tf.data.synthetic import ensure_generated

# Part of the generation settings: bump it when make_scene draws different scenes.
GENERATOR = "street scenes v1"

SYNTHETIC_CLASSES = ("road", "building", "vegetation", "sky", "car")
SYNTHETIC_ID_MAPPING = {1: 255, 7: 0, 11: 1, 21: 2, 23: 3, 26: 4}

_COLORS = {  # label id -> base RGB color (Cityscapes palette)
    23: (70, 130, 180),
    11: (70, 70, 70),
    21: (107, 142, 35),
    7: (128, 64, 128),
    26: (0, 0, 142),
    1: (20, 20, 20),
}


def make_scene(rng, size=(256, 512)):
    """One scene: (RGB uint8 image [H, W, 3], uint8 label ids [H, W])."""
    h, w = size
    label = np.zeros((h, w), np.uint8)
    image = np.zeros((h, w, 3), np.float32)

    horizon = int(h * rng.uniform(0.25, 0.45))
    road_top = int(h * rng.uniform(0.55, 0.7))
    label[:] = 23  # sky everywhere, then paint what is in front
    # Building band: a skyline of rectangles of random heights between horizon and road.
    x = 0
    while x < w:
        bw = int(rng.integers(w // 16, w // 5))
        top = int(rng.integers(max(2, horizon - h // 6), horizon + h // 10))
        label[top:road_top, x : x + bw] = 11
        x += bw
    # Road: its top edge is a gentle random slope.
    slope = rng.uniform(-0.05, 0.05)
    for col in range(0, w):
        edge = int(road_top + slope * (col - w / 2))
        label[max(edge, 0) :, col] = 7
    # Trees: ellipses on the building band.
    for _ in range(int(rng.integers(1, 5))):
        cx = int(rng.integers(0, w))
        cy = int(rng.integers(horizon, road_top))
        axes = (int(rng.integers(w // 30, w // 10)), int(rng.integers(h // 12, h // 5)))
        cv2.ellipse(label, (cx, cy), axes, 0, 0, 360, 21, -1)
    # Cars: boxes with a cabin on the road.
    for _ in range(int(rng.integers(1, 4))):
        cw = int(rng.integers(w // 10, w // 5))
        ch = int(cw * rng.uniform(0.35, 0.55))
        cx = int(rng.integers(0, max(1, w - cw)))
        cy = int(rng.integers(road_top, max(road_top + 1, h - ch - h // 10)))
        label[cy + ch // 3 : cy + ch, cx : cx + cw] = 26
        label[cy : cy + ch // 3 + 1, cx + cw // 5 : cx + cw - cw // 5] = 26
    # Ego-vehicle hood (ignored in training and evaluation).
    hood = int(h * rng.uniform(0.03, 0.08))
    cv2.ellipse(label, (w // 2, h + hood), (w // 2, 2 * hood), 0, 180, 360, 1, -1)

    light = rng.uniform(0.7, 1.2)
    for label_id, color in _COLORS.items():
        jitter = rng.normal(0, 12, 3)
        image[label == label_id] = np.clip(np.array(color) * light + jitter, 0, 255)
    # Windows on buildings, stripes on the road, texture everywhere.
    windows = (label == 11) & ((np.arange(h)[:, None] // 6) % 3 == 0) & (
        (np.arange(w)[None, :] // 5) % 3 == 0
    )
    image[windows] = image[windows] * 0.6 + 60
    stripes = (label == 7) & (np.abs(np.arange(w)[None, :] - w / 2) < 3)
    image[stripes] = 220
    image += rng.normal(0, 10, image.shape)
    image = cv2.GaussianBlur(np.clip(image, 0, 255), (3, 3), 0)
    return image.astype(np.uint8), label


def write_synthetic_cityscapes(root, num_train=64, num_val=12, size=(256, 512), seed=0,
                               city="synthcity"):
    """Writes scenes to ``root`` in the Cityscapes layout; returns {split: count}.

    Files: ``root/leftImg8bit/{split}/<city>/<city>_<n>_000019_leftImg8bit.png`` and
    ``root/gtFine/{split}/<city>/<city>_<n>_000019_gtFine_labelIds.png``.
    """
    rng = np.random.default_rng(seed)
    counts = {}
    for split, count in (("train", num_train), ("val", num_val)):
        image_dir = os.path.join(root, "leftImg8bit", split, city)
        label_dir = os.path.join(root, "gtFine", split, city)
        os.makedirs(image_dir, exist_ok=True)
        os.makedirs(label_dir, exist_ok=True)
        for n in range(count):
            stem = f"{city}_{n:06d}_000019"
            image, label = make_scene(rng, size)
            label_path = os.path.join(label_dir, f"{stem}_gtFine_labelIds.png")
            image_path = os.path.join(image_dir, f"{stem}_leftImg8bit.png")
            cv2.imwrite(label_path, label)
            cv2.imwrite(image_path, cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        counts[split] = count
    return counts


def ensure_scenes(root, num_train, num_val, size, seed=0):
    """Makes ``root`` hold exactly the scenes of these settings (generated when missing or when
    the settings changed; a folder with other files is refused with ``DataError``)."""
    settings = {"generator": GENERATOR, "train": int(num_train), "val": int(num_val),
                "size": [int(s) for s in size], "seed": int(seed)}
    return ensure_generated(
        root, settings,
        lambda folder: write_synthetic_cityscapes(folder, num_train, num_val, tuple(size), seed),
    )


__all__ = [
    "GENERATOR",
    "SYNTHETIC_CLASSES",
    "SYNTHETIC_ID_MAPPING",
    "ensure_scenes",
    "make_scene",
    "write_synthetic_cityscapes",
]
