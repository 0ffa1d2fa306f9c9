"""Segmentation datasets: where the files are, how images pair with labels, what the labels mean.

Every dataset resolves to a ``DatasetInfo`` (classes, colors, label lookup table, official
augmentation sizes) and a list of ``(image_path, label_path)`` pairs matched by name. Pairing is
checked: an image without its label (or a label without its image) is reported with one line that
names the file and the file expected, unless ``on_missing="skip"``, which skips and counts it.

Layouts:

* ``cityscapes``: ``DIR/leftImg8bit/{split}/<city>/*_leftImg8bit.png`` and
  ``DIR/gtFine/{split}/<city>/*_gtFine_labelIds.png`` (label ids mapped to the 19 train ids).
* ``pascal_context`` (59 classes) / ``pascal_context_60``: ``DIR/JPEGImages/<name>.jpg`` and
  ``DIR/SegmentationClassContext/<name>.png`` (0 = background, 1..59), the split read from
  ``DIR/ImageSets/SegmentationContext/{split}.txt`` when present.
* ``lip``: ``DIR/TrainVal_images/{split}_images/<name>.jpg`` and
  ``DIR/TrainVal_parsing_annotations/{split}_segmentations/<name>.png`` (20 classes).
* ``generic``: ``DIR/<image_dir>/**/<name><image_suffix>`` and
  ``DIR/<label_dir>/**/<name><label_suffix>`` (``{split}`` is replaced in both directories), with
  ``num_classes``, ``ignore_label`` and an optional ``id_mapping`` from the config.

    >>> info = dataset_info("cityscapes")
    >>> info.num_classes, info.ignore_label, info.crop_size, info.base_size
    (19, 255, (512, 1024), 2048)
"""

import glob
import os
from dataclasses import dataclass, field

import numpy as np

from hrnet_tf.segmentation import labels as L
from hrnet_tf.training.config import ConfigError, DataError


class DatasetError(DataError, ConfigError):
    """Bad or missing data; the message is one line naming the path and the problem.

    Both a ``DataError`` and a ``ConfigError`` so that the training command line reports it as
    one line (exit status 2) whether it is raised while reading the config or while training.
    """


@dataclass
class DatasetInfo:
    name: str
    num_classes: int
    class_names: tuple
    colors: np.ndarray
    label_lut: np.ndarray  # raw label value -> train id (ignore_label) or -1 (not allowed)
    ignore_label: int = 255
    class_weights: tuple | None = None
    flip_pairs: tuple = ()  # (left, right) class pairs swapped by horizontal flips (LIP)
    base_size: int = 2048  # long side at scale 1.0 for the random-scale augmentation
    crop_size: tuple = (512, 1024)  # (height, width)
    scale_factor: int = 16  # random scale = 0.5 + randint(0, scale_factor) / 10
    resize_to_crop_first: bool = False  # LIP resizes every image to the crop size first
    benchmark_label_ids: bool = False  # Cityscapes: write trainId->labelId files at test time
    extra: dict = field(default_factory=dict)


DATASETS = ("cityscapes", "pascal_context", "pascal_context_60", "lip", "generic", "synthetic")

CITYSCAPES_LAYOUT = (
    "DIR/leftImg8bit/{split}/<city>/*_leftImg8bit.png and "
    "DIR/gtFine/{split}/<city>/*_gtFine_labelIds.png"
)


def dataset_info(name, num_classes=None, ignore_label=None, id_mapping=None, class_names=None,
                 base_size=None, crop_size=None):
    """Class table and augmentation sizes of a dataset; config values override the defaults.

    ``generic`` (and ``synthetic``, a generic dataset in the Cityscapes layout) need
    ``num_classes``; ``id_mapping`` ({raw id: class}) maps raw label values, otherwise labels must
    already be 0..num_classes-1 or the ignore label.

    >>> dataset_info("generic", num_classes=3, id_mapping={10: 0, 20: 1, 30: 2}).label_lut[20]
    np.int32(1)
    """
    if name == "cityscapes":
        info = DatasetInfo(
            name, 19, L.CITYSCAPES_CLASSES, L.CITYSCAPES_PALETTE, L.cityscapes_label_lut(),
            class_weights=L.CITYSCAPES_CLASS_WEIGHTS, benchmark_label_ids=True,
        )
    elif name in ("pascal_context", "pascal_context_60"):
        n = num_classes or (60 if name.endswith("_60") else 59)
        names = L.PASCAL_CONTEXT_CLASSES_60 if n == 60 else L.PASCAL_CONTEXT_CLASSES_59
        info = DatasetInfo(
            name, n, names, L.palette(n), L.pascal_context_lut(n),
            base_size=520, crop_size=(480, 480),
        )
    elif name == "lip":
        info = DatasetInfo(
            name, 20, L.LIP_CLASSES, L.palette(20), L.identity_lut(20),
            flip_pairs=L.LIP_FLIP_PAIRS, base_size=473, crop_size=(473, 473), scale_factor=11,
            resize_to_crop_first=True,
        )
    elif name in ("generic", "synthetic"):
        if not num_classes:
            raise DatasetError(f"dataset '{name}' needs model.num_classes in the config")
        ignore = 255 if ignore_label is None else int(ignore_label)
        lut = (
            L.mapping_lut(id_mapping, ignore) if id_mapping else L.identity_lut(num_classes, ignore)
        )
        names = tuple(class_names) if class_names else tuple(str(i) for i in range(num_classes))
        if len(names) != num_classes:
            raise DatasetError(f"{len(names)} class names given for num_classes={num_classes}")
        info = DatasetInfo(name, int(num_classes), names, L.colors_for_names(names), lut,
                           ignore_label=ignore)
    else:
        raise DatasetError(f"unknown dataset '{name}'; choose one of {', '.join(DATASETS)}")
    if num_classes is not None and num_classes != info.num_classes:
        raise DatasetError(
            f"dataset '{name}' has {info.num_classes} classes, config says {num_classes}"
        )
    if base_size:
        info.base_size = int(base_size)
    if crop_size:
        info.crop_size = tuple(int(s) for s in crop_size)
    return info


def _require_dir(path, what, layout):
    if not os.path.isdir(path):
        raise DatasetError(f"{what}: directory not found: {path} (expected layout: {layout})")


def _strip(path, root, suffix):
    rel = os.path.relpath(path, root)
    return rel[: -len(suffix)] if suffix and rel.endswith(suffix) else os.path.splitext(rel)[0]


def pair_by_name(image_root, image_suffix, label_root, label_suffix, on_missing="error",
                 names=None):
    """Pairs ``image_root/**/KEY+image_suffix`` with ``label_root/**/KEY+label_suffix``.

    Returns (pairs sorted by key, number skipped). Every image needs a label and every label an
    image; ``on_missing="skip"`` drops unpaired files (counted) instead of raising. ``names``
    restricts the pairs to those keys (split lists).
    """
    images = {
        _strip(p, image_root, image_suffix): p
        for p in glob.glob(os.path.join(image_root, "**", "*" + image_suffix), recursive=True)
    }
    label_files = {
        _strip(p, label_root, label_suffix): p
        for p in glob.glob(os.path.join(label_root, "**", "*" + label_suffix), recursive=True)
    }
    if names is not None:
        wanted = set(names)
        missing_images = sorted(wanted - set(images))
        if missing_images and on_missing != "skip":
            first = os.path.join(image_root, missing_images[0] + image_suffix)
            raise DatasetError(
                f"{first}: listed in the split but not found ({len(missing_images)} missing)"
            )
        images = {k: v for k, v in images.items() if k in wanted}
        label_files = {k: v for k, v in label_files.items() if k in wanted}
    no_label = sorted(set(images) - set(label_files))
    no_image = sorted(set(label_files) - set(images))
    if (no_label or no_image) and on_missing != "skip":
        if no_label:
            key = no_label[0]
            expected = os.path.join(label_root, key + label_suffix)
            raise DatasetError(
                f"{images[key]}: no label (expected {expected}); "
                f"{len(no_label)} image(s) without label, {len(no_image)} label(s) without image"
            )
        key = no_image[0]
        expected = os.path.join(image_root, key + image_suffix)
        raise DatasetError(
            f"{label_files[key]}: no image (expected {expected}); "
            f"{len(no_image)} label(s) without image"
        )
    keys = sorted(set(images) & set(label_files))
    return [(images[k], label_files[k]) for k in keys], len(no_label) + len(no_image)


def list_pairs(name, data_dir, split, on_missing="error", image_dir=None, label_dir=None,
               image_suffix=None, label_suffix=None):
    """(image, label) path pairs of ``split`` and the count of skipped unpaired files.

    Raises DatasetError with one line naming the path and the expected layout when the directory
    is missing or holds no pairs.
    """
    data_dir = os.fspath(data_dir)
    if name in ("cityscapes", "synthetic"):
        layout = CITYSCAPES_LAYOUT.replace("{split}", split)
        if not os.path.isdir(data_dir):
            raise DatasetError(f"{name}: data directory not found: {data_dir} (expected {layout})")
        image_root = os.path.join(data_dir, "leftImg8bit", split)
        label_root = os.path.join(data_dir, "gtFine", split)
        _require_dir(image_root, name, layout)
        _require_dir(label_root, name, layout)
        pairs, skipped = pair_by_name(image_root, "_leftImg8bit.png", label_root,
                                      "_gtFine_labelIds.png", on_missing)
    elif name in ("pascal_context", "pascal_context_60"):
        layout = "DIR/JPEGImages/<name>.jpg and DIR/SegmentationClassContext/<name>.png"
        _require_dir(data_dir, name, layout)
        image_root = os.path.join(data_dir, "JPEGImages")
        label_root = os.path.join(data_dir, "SegmentationClassContext")
        _require_dir(image_root, name, layout)
        _require_dir(label_root, name, layout)
        split_file = os.path.join(data_dir, "ImageSets", "SegmentationContext", f"{split}.txt")
        names = None
        if os.path.isfile(split_file):
            with open(split_file) as f:
                names = [line.strip() for line in f if line.strip()]
        pairs, skipped = pair_by_name(image_root, ".jpg", label_root, ".png", on_missing, names)
    elif name == "lip":
        layout = (f"DIR/TrainVal_images/{split}_images/*.jpg and "
                  f"DIR/TrainVal_parsing_annotations/{split}_segmentations/*.png")
        _require_dir(data_dir, name, layout)
        image_root = os.path.join(data_dir, "TrainVal_images", f"{split}_images")
        label_root = os.path.join(
            data_dir, "TrainVal_parsing_annotations", f"{split}_segmentations"
        )
        _require_dir(image_root, name, layout)
        _require_dir(label_root, name, layout)
        pairs, skipped = pair_by_name(image_root, ".jpg", label_root, ".png", on_missing)
    elif name == "generic":
        image_dir = (image_dir or "images/{split}").replace("{split}", split)
        label_dir = (label_dir or "labels/{split}").replace("{split}", split)
        image_suffix = image_suffix or ".jpg"
        label_suffix = label_suffix or ".png"
        layout = (f"DIR/{image_dir}/**/<name>{image_suffix} and "
                  f"DIR/{label_dir}/**/<name>{label_suffix}")
        _require_dir(data_dir, name, layout)
        image_root = os.path.join(data_dir, image_dir)
        label_root = os.path.join(data_dir, label_dir)
        _require_dir(image_root, name, layout)
        _require_dir(label_root, name, layout)
        pairs, skipped = pair_by_name(image_root, image_suffix, label_root, label_suffix,
                                      on_missing)
    else:
        raise DatasetError(f"unknown dataset '{name}'; choose one of {', '.join(DATASETS)}")
    if not pairs:
        raise DatasetError(f"{name}: no image/label pairs for split '{split}' under {data_dir} "
                           f"(expected {layout})")
    return pairs, skipped


__all__ = ["DATASETS", "DatasetError", "DatasetInfo", "dataset_info", "list_pairs",
           "pair_by_name"]
