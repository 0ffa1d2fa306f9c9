"""Generated ImageNet-layout folders with the bad files a real download has."""

import os

import cv2
import numpy as np

from hrnet_tf.classification.synthetic import write_image_folder


def image_folder(root, num_classes=2, train_per_class=3, val_per_class=1, **kwargs):
    return write_image_folder(root, num_classes=num_classes, train_per_class=train_per_class,
                              val_per_class=val_per_class, **kwargs)


def first_image(folder):
    folder = str(folder)
    return os.path.join(folder, sorted(os.listdir(folder))[0])


def add_bad_files(class_dir):
    """A text file, a truncated and an empty JPEG, and a PNG named .JPEG (which is fine) in
    ``class_dir``; returns the paths that must be skipped."""
    data = open(first_image(class_dir), "rb").read()
    bad = {
        "notes.txt": b"not an image",
        "truncated.JPEG": data[: len(data) // 2],
        "empty.JPEG": b"",
        "png_named_jpeg.JPEG": cv2.imencode(".png", np.zeros((8, 8, 3), np.uint8))[1].tobytes(),
    }
    for name, content in bad.items():
        with open(os.path.join(class_dir, name), "wb") as f:
            f.write(content)
    return sorted(os.path.join(class_dir, n) for n in ("empty.JPEG", "notes.txt", "truncated.JPEG"))


def add_undecodable(class_dir, name="broken_body.JPEG"):
    """A JPEG whose header and end marker are intact (the listing check passes) but whose
    entropy-coded body is destroyed (the decoder fails); returns its path."""
    good = open(first_image(class_dir), "rb").read()
    path = os.path.join(class_dir, name)
    with open(path, "wb") as f:
        f.write(good[:20] + b"\xff\x00" * ((len(good) - 22) // 2) + good[-2:])
    return path
