"""Small helpers shared by the segmentation tests (fixtures are in conftest.py)."""

import os

import cv2
import numpy as np
import tensorflow as tf

from hrnet_tf.models.specs import HRNetSpec, StageSpec

# A stage specification that is no preset: models built from it must still predict and export.
CUSTOM_SPEC = HRNetSpec(
    stage1=StageSpec(1, (1,), (8,), "BOTTLENECK"),
    stage2=StageSpec(1, (1, 1), (8, 12)),
    stage3=StageSpec(1, (1, 1, 1), (8, 12, 20)),
    stage4=StageSpec(2, (1, 1, 1, 1), (8, 12, 20, 28)),
    stem_channels=16,
)

MEAN = np.array([0.485, 0.456, 0.406])
STD = np.array([0.229, 0.224, 0.225])


def label_path(root, split, n):
    return os.path.join(root, "gtFine", split, "synthcity",
                        f"synthcity_{n:06d}_000019_gtFine_labelIds.png")


def image_path(root, split, n):
    return os.path.join(root, "leftImg8bit", split, "synthcity",
                        f"synthcity_{n:06d}_000019_leftImg8bit.png")


def write(path, array):
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    assert cv2.imwrite(str(path), array)


def write_lip(root, split, sizes=((40, 30), (25, 50)), seed=0):
    """A LIP-layout split of random images (various sizes, as LIP's) and 20-class labels."""
    rng = np.random.default_rng(seed)
    for i, (h, w) in enumerate(sizes):
        write(os.path.join(root, "TrainVal_images", f"{split}_images", f"{i}.jpg"),
              rng.integers(0, 255, (h, w, 3)).astype(np.uint8))
        write(os.path.join(root, "TrainVal_parsing_annotations", f"{split}_segmentations",
                           f"{i}.png"), rng.integers(0, 20, (h, w)).astype(np.uint8))


def truncate(path, keep=0.5):
    """Cuts a file to ``keep`` of its bytes, as an interrupted download leaves it."""
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(data[: int(len(data) * keep)])


def normalize_np(rgb):
    """The official input transform in NumPy: /255, ImageNet mean/std (float32)."""
    return ((rgb / 255.0 - MEAN) / STD).astype(np.float32)


def reference_ious(labels, preds, num_classes, ignore=255):
    """Per-class IoU by set arithmetic, no confusion matrix (official: absent classes count 0)."""
    labels, preds = np.asarray(labels), np.asarray(preds)
    valid = labels != ignore
    ious = []
    for c in range(num_classes):
        gt, pr = (labels == c) & valid, (preds == c) & valid
        union = np.logical_or(gt, pr).sum()
        ious.append(np.logical_and(gt, pr).sum() / union if union else 0.0)
    return np.array(ious)


class ConstantModel:
    """Predicts class ``k`` everywhere (logits at stride 4)."""

    def __init__(self, k, classes):
        self.k, self.classes = k, classes

    def __call__(self, images, training=False):
        n, h, w = images.shape[0], -(-images.shape[1] // 4), -(-images.shape[2] // 4)
        return tf.one_hot(tf.fill((n, h, w), self.k), self.classes) * 10.0


def corner_resize(array, h, w):
    """F.interpolate(bilinear, align_corners=True) of an [H, W, C] array: source coordinate =
    destination * (in - 1) / (out - 1), two-tap lerp per axis."""
    in_h, in_w = array.shape[:2]
    ys = np.arange(h) * (in_h - 1) / max(h - 1, 1)
    xs = np.arange(w) * (in_w - 1) / max(w - 1, 1)
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    y1, x1 = np.minimum(y0 + 1, in_h - 1), np.minimum(x0 + 1, in_w - 1)
    fy, fx = (ys - y0)[:, None, None], (xs - x0)[None, :, None]
    a = array.astype(np.float64)
    top = a[y0][:, x0] * (1 - fx) + a[y0][:, x1] * fx
    bottom = a[y1][:, x0] * (1 - fx) + a[y1][:, x1] * fx
    return (top * (1 - fy) + bottom * fy).astype(np.float32)
