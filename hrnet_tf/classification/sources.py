"""ImageNet-style classification data on disk: the folder layout and TFRecord shards.

Folder layout (torchvision ``ImageFolder``, what the official ``tools/train.py`` reads; the classes
are the sorted folder names of the training split)::

    DIR/train/<wnid>/*.JPEG
    DIR/val/<wnid>/*.JPEG

TFRecord shards (the TF ImageNet convention ``train-00000-of-01024``, ``validation-00000-of-00128``)
with the features ``image/encoded`` (bytes) and ``image/class/label`` (int64; ``label_offset: 1``
for shards whose labels run 1..1000).

Listing is where bad files are found: every file's extension, magic bytes and end marker are
checked (two small reads per file), the unusable ones are skipped and counted, and
:meth:`ImageFolderListing.report` gives the one line the end of the run prints. File lists are
sorted, so a listing (and every epoch drawn from it) is the same on every machine.

    >>> import tempfile
    >>> from hrnet_tf.classification.synthetic import write_image_folder
    >>> root = write_image_folder(tempfile.mkdtemp(), num_classes=2, train_per_class=2,
    ...                           val_per_class=1)
    >>> listing = list_image_folder(f"{root}/train")
    >>> listing.class_names, listing.labels
    (['n00000000', 'n00000001'], [0, 0, 1, 1])
"""

import os
from dataclasses import dataclass, field

from hrnet_tf.data.images import image_file_problem
from hrnet_tf.errors import DataError

FOLDER_LAYOUT = "DIR/train/<class>/*.JPEG and DIR/val/<class>/*.JPEG"
TFRECORD_FEATURES = ("image/encoded", "image/class/label")


def _report(root, skipped, usable, what, first=5):
    if not skipped:
        return None
    shown = "; ".join(f"{name} ({why})" for name, why in skipped[:first])
    more = f"; and {len(skipped) - first} more" if len(skipped) > first else ""
    return f"{root}: skipped {len(skipped)} of {usable + len(skipped)} {what}: {shown}{more}"


# ----------------------------------------------------------------------------------------------
# Folder layout


@dataclass
class ImageFolderListing:
    """The usable images of one split (sorted by class, then file name) and the skipped files."""

    root: str
    paths: list = field(default_factory=list)
    labels: list = field(default_factory=list)
    class_names: list = field(default_factory=list)
    skipped: list = field(default_factory=list)  # (path, reason)

    def __len__(self):
        return len(self.paths)

    def report(self, first=5):
        """One line: how many files were skipped and the first few of them (or None)."""
        return _report(self.root, self.skipped, len(self.paths), "files", first)


def class_folders(split_dir):
    """The sorted class folder names of ``split_dir`` (``DataError`` if it is missing or has none)."""
    split_dir = os.fspath(split_dir)
    if not os.path.isdir(split_dir):
        raise DataError(f"data folder not found: {split_dir} (expected {FOLDER_LAYOUT})")
    found = sorted(e.name for e in os.scandir(split_dir) if e.is_dir())
    if not found:
        raise DataError(f"no class folders in {split_dir} (expected {FOLDER_LAYOUT})")
    return found


def list_image_folder(split_dir, class_names=None, check_files=True):
    """Lists ``split_dir/<class>/<image>`` with integer labels.

    ``class_names`` (from the training split) fixes the label of each folder; a folder unknown to
    it is an error naming the folder. Files that are not complete images (wrong extension, wrong
    magic bytes, truncated) are skipped and recorded in ``skipped``. A missing folder, one without
    class folders or without a usable image raises ``DataError`` naming the path.
    """
    split_dir = os.fspath(split_dir)
    found = class_folders(split_dir)
    if class_names is None:
        class_names = found
    index = {name: i for i, name in enumerate(class_names)}
    listing = ImageFolderListing(root=split_dir, class_names=list(class_names))
    for name in found:
        if name not in index:
            raise DataError(
                f"{os.path.join(split_dir, name)}: class folder not present in the training split"
            )
        folder = os.path.join(split_dir, name)
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            if not entry.is_file():
                continue
            problem = image_file_problem(entry.path) if check_files else None
            if problem:
                listing.skipped.append((entry.path, problem))
            else:
                listing.paths.append(entry.path)
                listing.labels.append(index[name])
    if not listing.paths:
        raise DataError(f"no usable images under {split_dir} (expected {FOLDER_LAYOUT})")
    return listing


# ----------------------------------------------------------------------------------------------
# TFRecord shards


@dataclass
class TFRecordSplit:
    """The shards of one split; ``records`` (per shard) and ``skipped`` (record ids that are not
    complete images) when the shards were scanned."""

    root: str
    files: list = field(default_factory=list)
    records: list = field(default_factory=list)
    skipped: list = field(default_factory=list)  # (file#record, reason)
    num_examples: int = 0  # usable records

    def __len__(self):
        return self.num_examples

    def record_name(self, index):
        """``file#record`` of the ``index``-th record over all shards in file order."""
        for path, count in zip(self.files, self.records, strict=True):
            if index < count:
                return f"{path}#{index}"
            index -= count
        return f"record #{index}"

    def report(self, first=5):
        return _report(self.root, self.skipped, self.num_examples, "records", first)


def tfrecord_files(data_dir, pattern):
    """Sorted shard files ``data_dir/pattern``; ``DataError`` when there are none."""
    import tensorflow as tf

    files = sorted(tf.io.gfile.glob(os.path.join(os.fspath(data_dir), pattern)))
    if not files:
        raise DataError(
            f"no TFRecord shards match {os.path.join(data_dir, pattern)} (expected shards with "
            "image/encoded and image/class/label, e.g. train-00000-of-01024)"
        )
    return files


def parse_record(record, label_offset=0):
    """A serialized ``tf.train.Example`` -> (encoded image bytes, int32 label)."""
    import tensorflow as tf

    features = {
        "image/encoded": tf.io.FixedLenFeature([], tf.string),
        "image/class/label": tf.io.FixedLenFeature([], tf.int64),
    }
    parsed = tf.io.parse_single_example(record, features)
    label = tf.cast(parsed["image/class/label"] - label_offset, tf.int32)
    return parsed["image/encoded"], label


def scan_tfrecords(data_dir, pattern, label_offset=0, num_classes=None):
    """Reads every record of the shards once (no decoding): a :class:`TFRecordSplit` with the
    per-shard counts and the records that are not complete images or whose label is out of range.
    """
    import tensorflow as tf

    from hrnet_tf.data.images import encoded_image_ok

    files = tfrecord_files(data_dir, pattern)
    split = TFRecordSplit(root=os.fspath(data_dir), files=files)

    def check(record):
        encoded, label = parse_record(record, label_offset)
        return encoded_image_ok(encoded), label

    for path in files:
        count = 0
        ds = tf.data.TFRecordDataset(path).map(check, num_parallel_calls=tf.data.AUTOTUNE)
        for i, (ok, label) in enumerate(ds.as_numpy_iterator()):
            count += 1
            if not ok:
                split.skipped.append((f"{path}#{i}", "not a complete image"))
            elif label < 0 or (num_classes is not None and label >= num_classes):
                split.skipped.append((f"{path}#{i}", f"label {label} outside 0..{num_classes - 1}"))
            else:
                split.num_examples += 1
        split.records.append(count)
    return split


def write_tfrecords(split_dir, out_pattern, num_shards=2, label_offset=0):
    """Packs an image folder into TFRecord shards (``image/encoded``, ``image/class/label``).

    ``out_pattern`` has one ``{}`` for the shard index, e.g. ``/tmp/rec/train-{:05d}-of-00002``.
    Files go in as they are (bad files too, so the reader's checks can be tested); returns the
    shard paths.
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
                feature = {
                    "image/encoded": tf.train.Feature(bytes_list=tf.train.BytesList(value=[encoded])),
                    "image/class/label": tf.train.Feature(
                        int64_list=tf.train.Int64List(value=[label + label_offset])
                    ),
                }
                example = tf.train.Example(features=tf.train.Features(feature=feature))
                writer.write(example.SerializeToString())
        paths.append(path)
    return paths


__all__ = [
    "FOLDER_LAYOUT",
    "ImageFolderListing",
    "TFRecordSplit",
    "class_folders",
    "list_image_folder",
    "parse_record",
    "scan_tfrecords",
    "tfrecord_files",
    "write_tfrecords",
]
