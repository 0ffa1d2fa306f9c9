"""Segmentation datasets on disk: what the labels mean, where the files are, how they pair.

Every dataset resolves to a :class:`DatasetInfo` (classes, colors, label lookup table, official
augmentation sizes) and a sorted list of ``(image_path, label_path)`` pairs matched by name.
Pairing is checked: an image without its label (or a label without its image) is one line naming
the file and the file expected (:class:`~hrnet_tf.errors.DataError`), unless ``on_bad="skip"``,
which leaves it out and returns it among the skipped ``(file, why)`` pairs.

Layouts:

* ``cityscapes`` (and the generated ``synthetic`` scenes): ``DIR/leftImg8bit/{split}/<city>/
  *_leftImg8bit.png`` and ``DIR/gtFine/{split}/<city>/*_gtFine_labelIds.png`` (label ids mapped to
  the 19 train ids; ``synthetic`` maps them with ``data.id_mapping``).
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

from hrnet_tf.errors import ConfigError, DataError
from hrnet_tf.segmentation import labels as L


@dataclass
class DatasetInfo:
    """What a dataset's labels mean and the sizes of its official augmentation."""

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
    # The official test (``tools/test.py``): TEST.IMAGE_SIZE (h, w), the window of the sliding
    # inference (None: the crop size), and which multi_scale_inference the dataset runs:
    # "cityscapes" (Cityscapes.multi_scale_inference) or "generic" (BaseDataset's).
    test_size: tuple | None = None
    protocol: str = "generic"
    extra: dict = field(default_factory=dict)


DATASETS = ("cityscapes", "pascal_context", "pascal_context_60", "lip", "generic", "synthetic")
# Class counts fixed by the dataset (PASCAL-Context's 59 or 60 is a choice of the experiment).
DATASET_CLASSES = {"cityscapes": (19,), "pascal_context": (59, 60), "pascal_context_60": (60,),
                   "lip": (20,)}

CITYSCAPES_LAYOUT = (
    "DIR/leftImg8bit/{split}/<city>/*_leftImg8bit.png and "
    "DIR/gtFine/{split}/<city>/*_gtFine_labelIds.png"
)


def dataset_info(name, num_classes=None, ignore_label=None, id_mapping=None, class_names=None,
                 base_size=None, crop_size=None):
    """Class table and augmentation sizes of a dataset; config values override the defaults.

    ``generic`` (and ``synthetic``, a generic dataset in the Cityscapes layout) need
    ``num_classes``; ``id_mapping`` ({raw id: class}) maps raw label values, otherwise labels must
    already be 0..num_classes-1 or the ignore label. Inconsistent values raise ``ConfigError``
    naming the config key.

    >>> dataset_info("generic", num_classes=3, id_mapping={10: 0, 20: 1, 30: 2}).label_lut[20]
    np.int32(1)
    >>> dataset_info("lip", num_classes=19)
    Traceback (most recent call last):
    ...
    hrnet_tf.errors.ConfigError: model.num_classes=19: dataset 'lip' has 20 classes
    """
    if name not in DATASETS:
        raise ConfigError(f"data.dataset={name!r}: choose one of {', '.join(DATASETS)}")
    allowed = DATASET_CLASSES.get(name)
    if num_classes is not None and allowed and num_classes not in allowed:
        counts = " or ".join(str(n) for n in allowed)
        raise ConfigError(f"model.num_classes={num_classes}: dataset {name!r} has {counts} classes")
    if name == "cityscapes":
        info = DatasetInfo(
            name, 19, L.CITYSCAPES_CLASSES, L.CITYSCAPES_PALETTE, L.cityscapes_label_lut(),
            class_weights=L.CITYSCAPES_CLASS_WEIGHTS, benchmark_label_ids=True,
            test_size=(1024, 2048), protocol="cityscapes",
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
    else:  # generic, synthetic
        if not num_classes or num_classes < 1:
            raise ConfigError(f"model.num_classes={num_classes}: dataset {name!r} needs it > 0")
        ignore = 255 if ignore_label is None else int(ignore_label)
        try:
            lut = (L.mapping_lut(id_mapping, ignore) if id_mapping
                   else L.identity_lut(num_classes, ignore))
        except ValueError as e:
            raise ConfigError(f"data.id_mapping: {str(e).removeprefix('id_mapping: ')}") from None
        bad = sorted({int(v) for v in (id_mapping or {}).values()
                      if not (0 <= int(v) < num_classes or int(v) == ignore)})
        if bad:
            raise ConfigError(
                f"data.id_mapping maps to {bad}, outside 0..{num_classes - 1} and not the ignore "
                f"label {ignore}"
            )
        names = tuple(class_names) if class_names else tuple(str(i) for i in range(num_classes))
        if len(names) != num_classes:
            raise ConfigError(
                f"data.class_names has {len(names)} names for model.num_classes={num_classes}"
            )
        info = DatasetInfo(name, int(num_classes), names, L.colors_for_names(names), lut,
                           ignore_label=ignore,
                           protocol="cityscapes" if name == "synthetic" else "generic")
    if base_size:
        info.base_size = int(base_size)
    if crop_size:
        info.crop_size = tuple(int(s) for s in crop_size)
    if info.test_size is None:
        info.test_size = info.crop_size
    return info


def _require_dir(path, what, layout):
    if not os.path.isdir(path):
        raise DataError(f"{what}: directory not found: {path} (expected layout: {layout})")


def _strip(path, root, suffix):
    rel = os.path.relpath(path, root)
    return rel[: -len(suffix)] if suffix and rel.endswith(suffix) else os.path.splitext(rel)[0]


def pair_by_name(image_root, image_suffix, label_root, label_suffix, on_bad="error",
                 names=None):
    """Pairs ``image_root/**/KEY+image_suffix`` with ``label_root/**/KEY+label_suffix``.

    Returns (pairs sorted by key, skipped ``(file, why)`` list). Every image needs a label and
    every label an image; ``on_bad="skip"`` leaves unpaired files out (and returns them) instead
    of raising. ``names`` restricts the pairs to those keys (split lists).
    """
    images = {
        _strip(p, image_root, image_suffix): p
        for p in glob.glob(os.path.join(image_root, "**", "*" + image_suffix), recursive=True)
    }
    label_files = {
        _strip(p, label_root, label_suffix): p
        for p in glob.glob(os.path.join(label_root, "**", "*" + label_suffix), recursive=True)
    }
    skipped = []
    if names is not None:
        wanted = set(names)
        missing = sorted(wanted - set(images))
        if missing and on_bad != "skip":
            first = os.path.join(image_root, missing[0] + image_suffix)
            raise DataError(f"{first}: listed in the split but not found ({len(missing)} missing)")
        skipped += [(os.path.join(image_root, k + image_suffix), "listed in the split, not found")
                    for k in missing]
        images = {k: v for k, v in images.items() if k in wanted}
        label_files = {k: v for k, v in label_files.items() if k in wanted}
    no_label = sorted(set(images) - set(label_files))
    no_image = sorted(set(label_files) - set(images))
    if (no_label or no_image) and on_bad != "skip":
        if no_label:
            key = no_label[0]
            expected = os.path.join(label_root, key + label_suffix)
            raise DataError(
                f"{images[key]}: no label (expected {expected}); "
                f"{len(no_label)} image(s) without label, {len(no_image)} label(s) without image"
            )
        key = no_image[0]
        expected = os.path.join(image_root, key + image_suffix)
        raise DataError(
            f"{label_files[key]}: no image (expected {expected}); "
            f"{len(no_image)} label(s) without image"
        )
    skipped += [(images[k], "no label") for k in no_label]
    skipped += [(label_files[k], "no image") for k in no_image]
    keys = sorted(set(images) & set(label_files))
    return [(images[k], label_files[k]) for k in keys], skipped


def layout_of(name, split, image_dir="images/{split}", label_dir="labels/{split}",
              image_suffix=".jpg", label_suffix=".png"):
    """(image root, image suffix, label root, label suffix, layout text) relative to ``DIR``.

    >>> layout_of("lip", "val")[0]
    'TrainVal_images/val_images'
    """
    if name in ("cityscapes", "synthetic"):
        return (f"leftImg8bit/{split}", "_leftImg8bit.png", f"gtFine/{split}",
                "_gtFine_labelIds.png", CITYSCAPES_LAYOUT.replace("{split}", split))
    if name in ("pascal_context", "pascal_context_60"):
        return ("JPEGImages", ".jpg", "SegmentationClassContext", ".png",
                "DIR/JPEGImages/<name>.jpg and DIR/SegmentationClassContext/<name>.png")
    if name == "lip":
        images = f"TrainVal_images/{split}_images"
        labels = f"TrainVal_parsing_annotations/{split}_segmentations"
        return images, ".jpg", labels, ".png", f"DIR/{images}/*.jpg and DIR/{labels}/*.png"
    if name == "generic":
        images, labels = image_dir.replace("{split}", split), label_dir.replace("{split}", split)
        layout = f"DIR/{images}/**/<name>{image_suffix} and DIR/{labels}/**/<name>{label_suffix}"
        return images, image_suffix, labels, label_suffix, layout
    raise ConfigError(f"data.dataset={name!r}: choose one of {', '.join(DATASETS)}")


def list_pairs(name, data_dir, split, on_bad="error", image_dir="images/{split}",
               label_dir="labels/{split}", image_suffix=".jpg", label_suffix=".png"):
    """(image, label) path pairs of ``split`` and the skipped ``(file, why)`` list.

    Raises ``DataError`` with one line naming the path and the expected layout when a directory
    is missing or holds no pairs.
    """
    data_dir = os.fspath(data_dir)
    image_rel, image_suffix, label_rel, label_suffix, layout = layout_of(
        name, split, image_dir, label_dir, image_suffix, label_suffix)
    if not os.path.isdir(data_dir):
        raise DataError(f"{name}: data directory not found: {data_dir} (expected {layout})")
    image_root = os.path.join(data_dir, image_rel)
    label_root = os.path.join(data_dir, label_rel)
    _require_dir(image_root, name, layout)
    _require_dir(label_root, name, layout)
    names = None
    if name in ("pascal_context", "pascal_context_60"):
        split_file = os.path.join(data_dir, "ImageSets", "SegmentationContext", f"{split}.txt")
        if os.path.isfile(split_file):
            with open(split_file) as f:
                names = [line.strip() for line in f if line.strip()]
    pairs, skipped = pair_by_name(image_root, image_suffix, label_root, label_suffix, on_bad,
                                  names)
    if not pairs:
        raise DataError(f"{name}: no image/label pairs for split '{split}' under {data_dir} "
                        f"(expected {layout})")
    return pairs, skipped


__all__ = ["DATASETS", "DatasetInfo", "dataset_info", "layout_of", "list_pairs", "pair_by_name"]
