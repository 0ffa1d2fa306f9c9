"""A small generated classification dataset in the ImageNet folder layout (the demo and the tests).

Class ``c`` is a noisy image whose background hue and the orientation of a bar depend on ``c``,
so a network has to look at colour and shape; random distractor blobs and JPEG compression keep
it from being trivial.

    write_image_folder("/tmp/synth", num_classes=4, train_per_class=40, val_per_class=10)
    # /tmp/synth/train/n00000000/n00000000_0000.JPEG ... and /tmp/synth/val/...

The demo (``data.dataset: synthetic``) goes through :func:`ensure_synthetic`, which writes the set
once into ``data.dir`` (default ``runs/synthetic/classification``) and regenerates it when its
settings change (:func:`hrnet_tf.data.synthetic.ensure_generated`).
"""

import os

import numpy as np

from hrnet_tf.data.images import write_jpeg
from hrnet_tf.data.synthetic import default_root, ensure_generated

# The demo images: 40x48 before the pipeline's crops (a little larger than the 32 px input).
IMAGE_SIZE = (40, 48)


def class_name(index):
    """ImageNet-like folder name of class ``index``.

    >>> class_name(3)
    'n00000003'
    """
    return f"n{index:08d}"


def synthetic_image(label, num_classes, rng, height=40, width=48):
    """One uint8 RGB image of class ``label``."""
    import cv2

    hue = int(180 * label / num_classes)  # OpenCV hue range is 0..179
    hsv = np.empty((height, width, 3), np.uint8)
    hsv[..., 0] = hue
    hsv[..., 1] = 170
    hsv[..., 2] = 200
    image = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB).astype(np.int16)
    # a bar whose angle depends on the class
    angle = np.pi * label / num_classes
    cy, cx = rng.uniform(0.3, 0.7) * height, rng.uniform(0.3, 0.7) * width
    length = 0.45 * min(height, width)
    p0 = (int(cx - length * np.cos(angle)), int(cy - length * np.sin(angle)))
    p1 = (int(cx + length * np.cos(angle)), int(cy + length * np.sin(angle)))
    bar = np.zeros((height, width), np.uint8)
    cv2.line(bar, p0, p1, 255, thickness=max(2, height // 10))
    image[bar > 0] = (255, 255, 255)
    # distractors and noise
    for _ in range(2):
        y, x = rng.integers(0, height), rng.integers(0, width)
        color = rng.integers(0, 256, 3)
        cv2.circle(image, (int(x), int(y)), int(rng.integers(2, 5)), color.tolist(), -1)
    image = image + rng.normal(0, 12, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def write_image_folder(
    root, num_classes=4, train_per_class=40, val_per_class=10, seed=0, size=IMAGE_SIZE,
    max_size=None,
):
    """Writes ``root/train/<class>/*.JPEG`` and ``root/val/<class>/*.JPEG``; returns ``root``.

    Images are ``size`` (height, width); with ``max_size`` each image's height and width are drawn
    between ``size`` and ``max_size`` (varied sizes, as real photos). Writes unconditionally: the
    demo calls it through :func:`ensure_synthetic`.
    """
    root = os.fspath(root)
    rng = np.random.default_rng(seed)
    low = np.asarray(size)
    for split, per_class in (("train", train_per_class), ("val", val_per_class)):
        for c in range(num_classes):
            name = class_name(c)
            for i in range(per_class):
                height, width = size
                if max_size is not None:
                    height, width = (int(v) for v in rng.integers(low, np.asarray(max_size) + 1))
                image = synthetic_image(c, num_classes, rng, height, width)
                write_jpeg(os.path.join(root, split, name, f"{name}_{i:04d}.JPEG"), image)
    return root


def synthetic_settings(data_config):
    """What the generated set depends on (a change regenerates it)."""
    d = data_config
    return {
        "generator": "hrnet_tf.classification.synthetic/1",
        "num_classes": d.synthetic_classes,
        "train_per_class": d.synthetic_train_per_class,
        "val_per_class": d.synthetic_val_per_class,
        "size": list(IMAGE_SIZE),
        "seed": 0,
    }


def ensure_synthetic(data_config):
    """The root of the demo set of ``data_config`` (``config.data``), generated when needed."""
    d = data_config
    root = d.dir or default_root("classification")
    settings = synthetic_settings(d)
    return ensure_generated(
        root,
        settings,
        lambda folder: write_image_folder(
            folder, settings["num_classes"], settings["train_per_class"],
            settings["val_per_class"], settings["seed"], tuple(settings["size"]),
        ),
    )


__all__ = [
    "IMAGE_SIZE",
    "class_name",
    "ensure_synthetic",
    "synthetic_image",
    "synthetic_settings",
    "write_image_folder",
]
