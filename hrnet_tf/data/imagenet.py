"""ImageNet-style classification data in tf.data: folder layout or TFRecord shards.

Folder layout (torchvision ``ImageFolder``; classes are the sorted folder names of ``train``)::

    DIR/train/<wnid>/*.JPEG
    DIR/val/<wnid>/*.JPEG

TFRecord shards (the TF ImageNet convention ``train-00000-of-01024``, ``validation-00000-of-00128``)
with the features ``image/encoded`` (bytes) and ``image/class/label`` (int64; set
``label_offset: 1`` for shards whose labels run 1..1000).

Training: torchvision ``RandomResizedCrop(224)`` (area 8-100%, aspect 3/4-4/3, 10 tries, then a
centre crop) + horizontal flip with p=0.5; evaluation: resize the shorter side to 256
(= 224 / 0.875) and centre-crop 224. Both normalize with the ImageNet mean/std.

Randomness is stateless: element ``k`` of epoch ``e`` always gets the same crop and flip, whatever
the parallelism, so a resumed run sees exactly the batches it would have seen.

    listing = list_image_folder("/data/imagenet/train")
    ds = folder_train_dataset(listing.paths, listing.labels, batch_size=32, image_size=(224, 224),
                              seed=epoch_seed(config, epoch))
"""

import math
import os
from dataclasses import dataclass, field

import tensorflow as tf

from hrnet_tf.data.images import (
    center_crop,
    decode_rgb,
    encoded_image_ok,
    image_file_problem,
    normalize_imagenet,
    resize_shorter_side,
)
from hrnet_tf.training.config import DataError

FOLDER_LAYOUT = "DIR/train/<class>/*.JPEG and DIR/val/<class>/*.JPEG"

# ----------------------------------------------------------------------------------------------
# Listing and checking files


@dataclass
class ImageFolderListing:
    """The usable images of one split, and the files skipped with the reason."""

    root: str
    paths: list = field(default_factory=list)
    labels: list = field(default_factory=list)
    class_names: list = field(default_factory=list)
    skipped: list = field(default_factory=list)  # (path, reason)

    def report(self, first=5):
        """One line: how many files were skipped and the first few of them (or None)."""
        if not self.skipped:
            return None
        shown = "; ".join(f"{p} ({why})" for p, why in self.skipped[:first])
        more = f"; and {len(self.skipped) - first} more" if len(self.skipped) > first else ""
        total = len(self.paths) + len(self.skipped)
        return f"{self.root}: skipped {len(self.skipped)} of {total} files: {shown}{more}"


def list_image_folder(split_dir, class_names=None, check_files=True):
    """Lists ``split_dir/<class>/<image>`` with integer labels (sorted class names).

    ``class_names`` (from the training split) fixes the label of each folder; a validation folder
    unknown to training is an error. Files that are not complete images (wrong extension, wrong
    magic bytes, truncated) are skipped and recorded in ``skipped``. A missing or empty folder
    raises ``DataError`` naming the path and the expected layout.
    """
    split_dir = os.fspath(split_dir)
    if not os.path.isdir(split_dir):
        raise DataError(f"data folder not found: {split_dir} (expected {FOLDER_LAYOUT})")
    found = sorted(e.name for e in os.scandir(split_dir) if e.is_dir())
    if not found:
        raise DataError(f"no class folders in {split_dir} (expected {FOLDER_LAYOUT})")
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


def tfrecord_files(data_dir, pattern):
    """Sorted shard files ``data_dir/pattern``; ``DataError`` when there are none."""
    files = sorted(tf.io.gfile.glob(os.path.join(os.fspath(data_dir), pattern)))
    if not files:
        raise DataError(
            f"no TFRecord shards match {os.path.join(data_dir, pattern)} (expected shards with "
            "image/encoded and image/class/label, e.g. train-00000-of-01024)"
        )
    return files


_FEATURES = {
    "image/encoded": tf.io.FixedLenFeature([], tf.string),
    "image/class/label": tf.io.FixedLenFeature([], tf.int64),
}


def parse_record(record, label_offset=0):
    """A serialized ``tf.train.Example`` -> (encoded image bytes, int32 label)."""
    parsed = tf.io.parse_single_example(record, _FEATURES)
    label = tf.cast(parsed["image/class/label"] - label_offset, tf.int32)
    return parsed["image/encoded"], label


def scan_tfrecords(files, label_offset=0):
    """(number of records, number of unusable images, first few bad record ids) of ``files``.

    Reads every record once (no decoding): the step count of an epoch and the report of bad
    records come from here.
    """
    total, bad, first_bad = 0, 0, []
    for path in files:
        def record_ok(record):
            return encoded_image_ok(parse_record(record, label_offset)[0])

        ds = tf.data.TFRecordDataset(path).map(record_ok, num_parallel_calls=tf.data.AUTOTUNE)
        for i, ok in enumerate(ds.as_numpy_iterator()):
            total += 1
            if not ok:
                bad += 1
                if len(first_bad) < 5:
                    first_bad.append(f"{path}#{i}")
    return total, bad, first_bad


# ----------------------------------------------------------------------------------------------
# Transforms


def _element_seeds(seed, index, count):
    """``count`` independent stateless seeds for element ``index`` of the stream ``seed``."""
    base = tf.stack([tf.cast(seed, tf.int64), tf.cast(index, tf.int64)])
    return tf.random.experimental.stateless_split(base, num=count)


def random_resized_crop_window(height, width, seed, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)):
    """torchvision ``RandomResizedCrop.get_params``: (top, left, h, w) of the crop.

    Ten candidates (area fraction uniform in ``scale``, aspect ratio log-uniform in ``ratio``,
    sides rounded); the first that fits is used, at a uniform offset. If none fits, the centre
    crop of the whole image with its aspect ratio clamped to ``ratio``.
    """
    seeds = tf.random.experimental.stateless_split(seed, num=4)
    h_img, w_img = tf.cast(height, tf.float32), tf.cast(width, tf.float32)
    area = h_img * w_img
    target_area = area * tf.random.stateless_uniform([10], seeds[0], scale[0], scale[1])
    log_ratio = tf.random.stateless_uniform([10], seeds[1], math.log(ratio[0]), math.log(ratio[1]))
    aspect = tf.exp(log_ratio)
    w = tf.cast(tf.round(tf.sqrt(target_area * aspect)), tf.int32)
    h = tf.cast(tf.round(tf.sqrt(target_area / aspect)), tf.int32)
    fits = (w > 0) & (w <= width) & (h > 0) & (h <= height)
    first = tf.argmax(tf.cast(fits, tf.int32), output_type=tf.int32)
    h_try, w_try = h[first], w[first]

    in_ratio = w_img / h_img
    fallback_w = tf.where(
        in_ratio < ratio[0],
        width,
        tf.where(in_ratio > ratio[1], tf.cast(tf.round(h_img * ratio[1]), tf.int32), width),
    )
    fallback_h = tf.where(
        in_ratio < ratio[0],
        tf.cast(tf.round(w_img / ratio[0]), tf.int32),
        height,
    )
    any_fit = tf.reduce_any(fits)
    crop_h = tf.where(any_fit, h_try, fallback_h)
    crop_w = tf.where(any_fit, w_try, fallback_w)
    top_random = tf.random.stateless_uniform(
        [], seeds[2], 0, height - crop_h + 1, dtype=tf.int32
    )
    left_random = tf.random.stateless_uniform([], seeds[3], 0, width - crop_w + 1, dtype=tf.int32)
    top = tf.where(any_fit, top_random, (height - crop_h) // 2)
    left = tf.where(any_fit, left_random, (width - crop_w) // 2)
    return top, left, crop_h, crop_w


def _decode_crop(encoded, seed, scale, ratio):
    """Decodes only the random crop for JPEGs (``decode_and_crop_jpeg``), the full image else."""

    def window(shape):
        return random_resized_crop_window(shape[0], shape[1], seed, scale, ratio)

    def jpeg():
        top, left, h, w = window(tf.image.extract_jpeg_shape(encoded))
        return tf.image.decode_and_crop_jpeg(encoded, tf.stack([top, left, h, w]), channels=3)

    def other():
        image = decode_rgb(encoded)
        top, left, h, w = window(tf.shape(image))
        return image[top : top + h, left : left + w]

    image = tf.cond(tf.io.is_jpeg(encoded), jpeg, other)
    image.set_shape([None, None, 3])
    return image


def train_transform(encoded, seed, image_size, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)):
    """RandomResizedCrop (bilinear, antialiased like PIL) + flip p=0.5 + ImageNet normalization."""
    crop_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seed, num=2))
    image = _decode_crop(encoded, crop_seed, scale, ratio)
    image = tf.image.resize(image, image_size, method="bilinear", antialias=True)
    flip = tf.random.stateless_uniform([], flip_seed) < 0.5
    image = tf.where(flip, tf.reverse(image, axis=[1]), image)
    image = normalize_imagenet(image)
    image.set_shape([image_size[0], image_size[1], 3])
    return image


def eval_transform(encoded, image_size, crop_fraction=0.875):
    """Resize the shorter side to ``size / crop_fraction`` (256 for 224), centre-crop, normalize."""
    h, w = image_size
    resize_to = int(math.floor(min(h, w) / crop_fraction))
    image = resize_shorter_side(decode_rgb(encoded), resize_to)
    image = center_crop(image, h, w)
    image = normalize_imagenet(image)
    image.set_shape([h, w, 3])
    return image


# ----------------------------------------------------------------------------------------------
# Datasets


def _read_file(path, label):
    return tf.io.read_file(path), label


def _is_complete(encoded, label):
    return encoded_image_ok(encoded)


def _shard(ds, input_context):
    if input_context is not None and input_context.num_input_pipelines > 1:
        ds = ds.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
    return ds


def _augment_and_batch(
    ds, batch_size, image_size, seed, scale, ratio, parallel, input_context=None
):
    """(encoded, label) stream -> augmented per-replica batches.

    Element k of input pipeline p (of P) gets the stateless seed (seed, k * P + p): the same
    element always gets the same crop and flip, and workers never share augmentation seeds.
    """
    pipelines, pipeline = 1, 0
    if input_context is not None:
        pipelines, pipeline = input_context.num_input_pipelines, input_context.input_pipeline_id

    def load(index, encoded_and_label):
        encoded, label = encoded_and_label
        stream_index = index * pipelines + pipeline
        image = train_transform(
            encoded, _element_seeds(seed, stream_index, 1)[0], image_size, scale, ratio
        )
        return image, label

    ds = ds.enumerate().map(load, num_parallel_calls=parallel, deterministic=True)
    # A file whose header and end marker look fine but whose body is corrupt fails in the
    # decoder: dropped here rather than stopping the run.
    ds = ds.ignore_errors()
    return ds.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def folder_train_dataset(
    paths,
    labels,
    batch_size,
    image_size,
    seed,
    input_context=None,
    scale=(0.08, 1.0),
    ratio=(3 / 4, 4 / 3),
    num_parallel_calls=-1,
):
    """One epoch of augmented training batches from image files, shuffled by ``seed``."""
    parallel = tf.data.AUTOTUNE if num_parallel_calls < 0 else num_parallel_calls
    ds = tf.data.Dataset.from_tensor_slices((list(paths), tf.constant(labels, tf.int32)))
    ds = ds.shuffle(len(paths), seed=seed, reshuffle_each_iteration=False)
    ds = _shard(ds, input_context)
    ds = ds.map(_read_file, num_parallel_calls=parallel)
    return _augment_and_batch(
        ds, batch_size, image_size, seed, scale, ratio, parallel, input_context
    )


def tfrecord_train_dataset(
    files,
    batch_size,
    image_size,
    seed,
    input_context=None,
    label_offset=0,
    shuffle_buffer=10000,
    scale=(0.08, 1.0),
    ratio=(3 / 4, 4 / 3),
    num_parallel_calls=-1,
):
    """One epoch of augmented training batches from TFRecord shards, shuffled by ``seed``.

    Records that are not complete images are filtered out before decoding (``scan_tfrecords``
    counts them).
    """
    parallel = tf.data.AUTOTUNE if num_parallel_calls < 0 else num_parallel_calls
    ds = tf.data.Dataset.from_tensor_slices(list(files))
    ds = ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=False)
    num_pipelines = input_context.num_input_pipelines if input_context else 1
    shard_files = len(files) >= num_pipelines
    if shard_files:
        ds = _shard(ds, input_context)
    ds = ds.interleave(
        tf.data.TFRecordDataset,
        cycle_length=min(16, len(files)),
        num_parallel_calls=parallel,
        deterministic=True,
    )
    if not shard_files:
        ds = _shard(ds, input_context)
    ds = ds.map(lambda r: parse_record(r, label_offset), num_parallel_calls=parallel)
    ds = ds.filter(_is_complete)
    ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=False)
    return _augment_and_batch(
        ds, batch_size, image_size, seed, scale, ratio, parallel, input_context
    )


def eval_dataset(encoded_and_labels, batch_size, image_size, crop_fraction=0.875, parallel=-1):
    """Batches of (image, label) for evaluation from a dataset of (encoded bytes, label)."""
    parallel = tf.data.AUTOTUNE if parallel < 0 else parallel
    def transform(encoded, label):
        return eval_transform(encoded, image_size, crop_fraction), label

    ds = encoded_and_labels.filter(_is_complete)
    ds = ds.map(transform, num_parallel_calls=parallel, deterministic=True)
    return ds.ignore_errors().batch(batch_size).prefetch(tf.data.AUTOTUNE)


def folder_eval_dataset(paths, labels, batch_size, image_size, crop_fraction=0.875, parallel=-1):
    """Evaluation batches from image files (in listing order)."""
    ds = tf.data.Dataset.from_tensor_slices((list(paths), tf.constant(labels, tf.int32)))
    ds = ds.map(_read_file)
    return eval_dataset(ds, batch_size, image_size, crop_fraction, parallel)


def tfrecord_eval_dataset(
    files, batch_size, image_size, label_offset=0, crop_fraction=0.875, parallel=-1
):
    """Evaluation batches from TFRecord shards (in file order)."""
    ds = tf.data.TFRecordDataset(list(files)).map(lambda r: parse_record(r, label_offset))
    return eval_dataset(ds, batch_size, image_size, crop_fraction, parallel)


__all__ = [
    "FOLDER_LAYOUT",
    "ImageFolderListing",
    "eval_transform",
    "folder_eval_dataset",
    "folder_train_dataset",
    "list_image_folder",
    "parse_record",
    "random_resized_crop_window",
    "scan_tfrecords",
    "tfrecord_eval_dataset",
    "tfrecord_files",
    "tfrecord_train_dataset",
    "train_transform",
]
