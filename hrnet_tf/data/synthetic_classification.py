"""A small generated classification dataset in the ImageNet folder layout (tests and demos).

Class ``c`` is a noisy image whose background hue and the orientation of a bar depend on ``c``,
so a network has to look at colour and shape; random distractor blobs and JPEG compression keep
it from being trivial.

    write_image_folder("/tmp/synth", num_classes=4, train_per_class=40, val_per_class=10)
    # /tmp/synth/train/n00000000/n00000000_0000.JPEG ... and /tmp/synth/val/...
"""

import os

import numpy as np

from hrnet_tf.data.images import write_jpeg


def class_name(index):
    """ImageNet-like folder name of class ``index`` ("n00000003")."""
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
    root, num_classes=4, train_per_class=40, val_per_class=10, seed=0, height=40, width=48
):
    """Writes ``root/train/<class>/*.JPEG`` and ``root/val/<class>/*.JPEG``; returns ``root``.

    Existing complete output (a ``.done`` marker with the same parameters) is reused.
    """
    root = os.fspath(root)
    params = f"{num_classes} {train_per_class} {val_per_class} {seed} {height} {width}"
    marker = os.path.join(root, ".done")
    if os.path.exists(marker):
        with open(marker) as f:
            if f.read() == params:
                return root
    rng = np.random.default_rng(seed)
    for split, per_class in (("train", train_per_class), ("val", val_per_class)):
        for c in range(num_classes):
            for i in range(per_class):
                image = synthetic_image(c, num_classes, rng, height, width)
                name = class_name(c)
                write_jpeg(os.path.join(root, split, name, f"{name}_{i:04d}.JPEG"), image)
    with open(marker, "w") as f:
        f.write(params)
    return root


def write_tfrecords(split_dir, out_pattern, num_shards=2, label_offset=0):
    """Packs an image folder into TFRecord shards (``image/encoded``, ``image/class/label``).

    ``out_pattern`` has one ``{}`` for the shard index, e.g. ``/tmp/rec/train-{:05d}-of-00002``.
    Files go in as they are (bad files too, so the reader's checks can be tested).
    """
    import tensorflow as tf

    classes = sorted(e.name for e in os.scandir(split_dir) if e.is_dir())
    items = []
    for label, name in enumerate(classes):
        folder = os.path.join(split_dir, name)
        items += [(os.path.join(folder, f), label) for f in sorted(os.listdir(folder))]
    paths = []
    for shard in range(num_shards):
        path = out_pattern.format(shard)
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with tf.io.TFRecordWriter(path) as writer:
            for file_path, label in items[shard::num_shards]:
                with open(file_path, "rb") as f:
                    encoded = f.read()
                example = tf.train.Example(
                    features=tf.train.Features(
                        feature={
                            "image/encoded": tf.train.Feature(
                                bytes_list=tf.train.BytesList(value=[encoded])
                            ),
                            "image/class/label": tf.train.Feature(
                                int64_list=tf.train.Int64List(value=[label + label_offset])
                            ),
                        }
                    )
                )
                writer.write(example.SerializeToString())
        paths.append(path)
    return paths


__all__ = ["class_name", "synthetic_image", "write_image_folder", "write_tfrecords"]
