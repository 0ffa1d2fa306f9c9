"""The synthetic face demo: cartoon faces with 10 landmarks, written in the official CSV layout.

Each image holds one face: a skin-coloured ellipse on a noisy background, rotated (up to +-25
degrees), scaled and moved at random, with eyes, brows, nose, mouth corners, chin and cheeks drawn
at its landmarks (each jittered a little, so the shape varies). Mirror-image features look the
same, so the horizontal flip with the pairs of :data:`SYNTHETIC_SET` is a valid augmentation.

Layout (the official one, ``data/<set>/``): ``images/{train,test}/NNNNN.png`` and
``face_landmarks_synthetic_{train,test}.csv`` (``image_name, scale, center_w, center_h, x0, y0,
...``; centre and scale from the landmark box, :func:`landmark_box_center_scale`).

    >>> import tempfile
    >>> root = ensure_synthetic(tempfile.mkdtemp(), 2, 1, 96, seed=0)  # doctest: +ELLIPSIS
    generating the synthetic dataset in ...
    >>> sorted(os.listdir(root))[:2]
    ['.hrnet_tf_synthetic.json', 'face_landmarks_synthetic_test.csv']
"""

import csv
import math
import os

import numpy as np

from hrnet_tf.data.images import write_png
from hrnet_tf.data.synthetic import ensure_generated
from hrnet_tf.landmarks.sources import landmark_box_center_scale

# The landmark set of the demo (a config dict, as data.landmarks takes it).
SYNTHETIC_SET = {
    "name": "synthetic_faces",
    "num_points": 10,
    # 0/1 eyes, 2 nose, 3/4 mouth corners, 5 chin, 6/7 brows, 8/9 cheeks (image left/right)
    "flip_pairs": [[0, 1], [3, 4], [6, 7], [8, 9]],
    "normalizer": [0, 1],  # inter-ocular, as WFLW/300W
}
TEMPLATE = np.array([[-0.38, -0.25], [0.38, -0.25], [0.0, 0.12], [-0.3, 0.47], [0.3, 0.47],
                     [0.0, 0.92], [-0.42, -0.52], [0.42, -0.52], [-0.74, 0.2], [0.74, 0.2]])
TRAIN_CSV = "face_landmarks_synthetic_train.csv"
TEST_CSV = "face_landmarks_synthetic_test.csv"
IMAGE_DIR = "images"


def draw_face(rng, size):
    """(uint8 image [size, size, 3], points [10, 2] 0-based pixels) of one random face."""
    image = rng.integers(40, 200, 3)[None, None] + rng.normal(0, 12, (size, size, 3))
    image = np.clip(image, 0, 255).astype(np.uint8)
    radius = size * rng.uniform(0.22, 0.32)
    center = size / 2 + rng.uniform(-0.12, 0.12, 2) * size
    angle = rng.uniform(-25, 25)
    shape = TEMPLATE + rng.normal(0, 0.035, TEMPLATE.shape)
    shape[[3, 4], 0] *= rng.uniform(0.8, 1.25)  # wider or narrower mouths
    theta = math.radians(angle)
    rot = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    points = center + radius * shape @ rot.T
    return _render(image, center, radius, angle, points, rng), points


def _render(image, center, radius, angle, points, rng):
    import cv2

    skin = tuple(int(v) for v in rng.integers(150, 240, 3))
    axes = (int(radius * 0.82), int(radius * 1.0))
    image = np.ascontiguousarray(image)
    cv2.ellipse(image, (int(round(center[0])), int(round(center[1]))), axes, angle, 0, 360,
                skin, -1, cv2.LINE_AA)
    p = [(int(round(x)), int(round(y))) for x, y in points]
    r = max(2, int(radius * 0.09))
    for i in (0, 1):
        cv2.circle(image, p[i], r, (30, 30, 30), -1, cv2.LINE_AA)
        cv2.circle(image, p[i], max(1, r // 2), (240, 240, 240), -1, cv2.LINE_AA)
    cv2.circle(image, p[2], max(2, r - 1), (120, 60, 40), -1, cv2.LINE_AA)
    cv2.line(image, p[3], p[4], (180, 30, 40), max(1, r // 2 + 1), cv2.LINE_AA)
    for i in (3, 4):
        cv2.circle(image, p[i], max(1, r // 2 + 1), (140, 20, 30), -1, cv2.LINE_AA)
    cv2.circle(image, p[5], max(2, r - 1), (60, 120, 60), -1, cv2.LINE_AA)
    for i in (6, 7):
        cv2.circle(image, p[i], max(2, r - 1), (70, 40, 20), -1, cv2.LINE_AA)
    for i in (8, 9):
        cv2.circle(image, p[i], max(2, r - 1), (230, 120, 150), -1, cv2.LINE_AA)
    return image


def _write_split(root, split, count, size, rng):
    rows = []
    for i in range(count):
        image, points = draw_face(rng, size)
        name = f"{split}/{i:05d}.png"
        write_png(os.path.join(root, IMAGE_DIR, name), image)
        center, scale = landmark_box_center_scale(points)
        rows.append([name, f"{scale:.6f}", f"{center[0]:.3f}", f"{center[1]:.3f}",
                     *(f"{v:.3f}" for v in points.ravel())])
    header = ["image_name", "scale", "center_w", "center_h"]
    for k in range(len(TEMPLATE)):
        header += [f"original_{k}_x", f"original_{k}_y"]
    with open(os.path.join(root, TRAIN_CSV if split == "train" else TEST_CSV), "w",
              newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def ensure_synthetic(root, num_train, num_test, size, seed=0):
    """The demo set in ``root`` (regenerated when the settings change); returns ``root``."""
    settings = {"task": "landmarks", "train": int(num_train), "test": int(num_test),
                "size": int(size), "seed": int(seed), "version": 1}

    def generate(folder):
        rng = np.random.default_rng(int(seed))
        _write_split(folder, "train", int(num_train), int(size), rng)
        _write_split(folder, "test", int(num_test), int(size), rng)

    return ensure_generated(root, settings, generate)


__all__ = ["IMAGE_DIR", "SYNTHETIC_SET", "TEMPLATE", "TEST_CSV", "TRAIN_CSV", "draw_face",
           "ensure_synthetic"]
