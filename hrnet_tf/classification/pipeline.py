"""Classification input pipelines in tf.data: the official train and eval transforms, stateless.

As the official ``tools/train.py`` (HRNet-Image-Classification ``main``): training takes
torchvision ``RandomResizedCrop(size)`` (area 8-100 %, aspect 3/4-4/3 log-uniform, 10 tries, then
a centre crop) and ``RandomHorizontalFlip()``; evaluation ``Resize(int(size / 0.875))`` (the shorter
side) and ``CenterCrop(size)``. Both resize bilinearly with antialiasing (as PIL) and normalize with
the model's normalization (ImageNet mean/std). Decoding goes through :mod:`hrnet_tf.data.images`
(accurate DCT; a training JPEG decodes only its random crop).

:func:`eval_image` is THE evaluation transform: the evaluator maps it over the validation files,
and the exported ``classify`` signature and ``predict`` apply it to uint8 images
(:func:`hrnet_tf.classification.codec.classify`), so they see the same tensor.

Randomness is stateless. Epoch ``e``'s order is a permutation of the sorted file list drawn from
``epoch_seed(config, e)`` alone, and sample ``i``'s crop and flip come from stateless ops keyed by
(that seed, ``i``): the stream does not depend on parallelism, sharding or what ran before, so two
runs with the same seed see the same batches and a resumed run, skipping the batches it has done,
continues the identical stream.

    >>> import tensorflow as tf
    >>> image = tf.zeros([300, 500, 3], tf.uint8)
    >>> eval_image(image, (224, 224)).shape       # resize to 256 x 426, centre crop 224
    TensorShape([224, 224, 3])
"""

import math

import numpy as np
import tensorflow as tf

from hrnet_tf.classification.sources import parse_record
from hrnet_tf.data.images import (
    center_crop,
    decode_image,
    decode_image_crop,
    encoded_image_ok,
    normalize,
    resize_to_cover,
)
from hrnet_tf.data.normalization import IMAGENET

# The official validation resize: shorter side 256 for a 224 crop (tools/train.py).
EVAL_CROP_FRACTION = 0.875
# RandomResizedCrop's defaults.
CROP_SCALE = (0.08, 1.0)
CROP_RATIO = (3 / 4, 4 / 3)
# TFRecord samples are keyed by (shard, record): shard * RECORD_KEY_STRIDE + record.
RECORD_KEY_STRIDE = 2**32


# ----------------------------------------------------------------------------------------------
# Transforms


def sample_seed(seed, key):
    """The stateless seed ``[2]`` of sample ``key`` in the stream ``seed`` (an epoch's seed)."""
    return tf.stack([tf.cast(seed, tf.int64), tf.cast(key, tf.int64)])


def random_resized_crop_window(height, width, seed, scale=CROP_SCALE, ratio=CROP_RATIO):
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
    fallback_h = tf.where(in_ratio < ratio[0], tf.cast(tf.round(w_img / ratio[0]), tf.int32), height)
    any_fit = tf.reduce_any(fits)
    crop_h = tf.where(any_fit, h_try, fallback_h)
    crop_w = tf.where(any_fit, w_try, fallback_w)
    top_random = tf.random.stateless_uniform([], seeds[2], 0, height - crop_h + 1, dtype=tf.int32)
    left_random = tf.random.stateless_uniform([], seeds[3], 0, width - crop_w + 1, dtype=tf.int32)
    top = tf.where(any_fit, top_random, (height - crop_h) // 2)
    left = tf.where(any_fit, left_random, (width - crop_w) // 2)
    return top, left, crop_h, crop_w


def random_crop(encoded, seed, scale=CROP_SCALE, ratio=CROP_RATIO):
    """The uint8 pixels of the :func:`random_resized_crop_window` of an encoded image (a JPEG
    decodes only that window)."""

    def window(shape):
        return random_resized_crop_window(shape[0], shape[1], seed, scale, ratio)

    return decode_image_crop(encoded, window)


def train_image(encoded, seed, image_size, scale=CROP_SCALE, ratio=CROP_RATIO,
                normalization=IMAGENET):
    """Encoded image -> RandomResizedCrop + flip p=0.5 + normalization, from the seed ``[2]``."""
    crop_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seed, num=2))
    crop = random_crop(encoded, crop_seed, scale, ratio)
    image = tf.image.resize(crop, image_size, method="bilinear", antialias=True)
    flip = tf.random.stateless_uniform([], flip_seed) < 0.5
    image = tf.where(flip, tf.reverse(image, axis=[1]), image)
    image = normalize(image, normalization)
    image.set_shape([image_size[0], image_size[1], 3])
    return image


def eval_crop(image, image_size, crop_fraction=EVAL_CROP_FRACTION):
    """uint8 RGB ``[H, W, 3]`` -> float32 pixels ``[h, w, 3]``: resized so that it covers
    ``floor(size / crop_fraction)`` (the shorter side to 256 for 224), then the centre crop."""
    h, w = image_size
    resized = resize_to_cover(image, int(h / crop_fraction), int(w / crop_fraction))
    crop = center_crop(resized, h, w)
    crop.set_shape([h, w, 3])
    return crop


def eval_image(image, image_size, crop_fraction=EVAL_CROP_FRACTION, normalization=IMAGENET):
    """THE evaluation transform: uint8 RGB ``[H, W, 3]`` -> the network input ``[h, w, 3]``."""
    return normalize(eval_crop(image, image_size, crop_fraction), normalization)


def eval_images(images, image_size, crop_fraction=EVAL_CROP_FRACTION, normalization=IMAGENET):
    """:func:`eval_image` of each uint8 image of a batch ``[B, H, W, 3]``."""
    h, w = image_size
    return tf.map_fn(
        lambda image: eval_image(image, image_size, crop_fraction, normalization),
        images,
        fn_output_signature=tf.TensorSpec([h, w, 3], tf.float32),
    )


# ----------------------------------------------------------------------------------------------
# Training streams


def epoch_order(num_items, seed, shard=(1, 0)):
    """The items of one epoch: a permutation of ``range(num_items)`` drawn from ``seed``, then this
    input pipeline's share (``shard`` = (pipelines, index))."""
    order = np.random.default_rng(int(seed) % 2**63).permutation(num_items)
    pipelines, index = shard
    return order[index::pipelines].astype(np.int64)


def _options(ds):
    options = tf.data.Options()
    options.deterministic = True
    return ds.with_options(options)


def _parallel(num_parallel_calls):
    return tf.data.AUTOTUNE if num_parallel_calls < 0 else num_parallel_calls


def folder_train_dataset(listing, batch_size, image_size, seed, shard=(1, 0), scale=CROP_SCALE,
                         ratio=CROP_RATIO, num_parallel_calls=-1):
    """One epoch of augmented training batches ``(images, labels)`` from an image folder listing.

    A file whose header and end marker looked fine at listing time but whose body is corrupt
    fails in the decoder: it is dropped (``ignore_errors``) rather than stopping the run.
    """
    parallel = _parallel(num_parallel_calls)
    paths = tf.constant(list(listing.paths))
    labels = tf.constant(list(listing.labels), tf.int32)

    def load(index):
        encoded = tf.io.read_file(tf.gather(paths, index))
        image = train_image(encoded, sample_seed(seed, index), image_size, scale, ratio)
        return image, tf.gather(labels, index)

    ds = tf.data.Dataset.from_tensor_slices(epoch_order(len(listing.paths), seed, shard))
    ds = ds.map(load, num_parallel_calls=parallel, deterministic=True).ignore_errors()
    return _options(ds.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE))


def _records(files, label_offset, num_classes, parallel, file_ids):
    """(key, encoded, label, ok) of the records of ``files[file_ids]``, interleaved in a fixed
    order; key = shard * RECORD_KEY_STRIDE + record."""
    files = tf.constant(list(files))

    def of_file(file_id):
        records = tf.data.TFRecordDataset(tf.gather(files, file_id)).enumerate()
        return records.map(lambda i, record: (file_id * RECORD_KEY_STRIDE + i, record))

    ds = tf.data.Dataset.from_tensor_slices(np.asarray(file_ids, np.int64))
    ds = ds.interleave(of_file, cycle_length=max(1, min(16, len(file_ids))), block_length=1,
                       num_parallel_calls=parallel, deterministic=True)

    def parse(key, record):
        encoded, label = parse_record(record, label_offset)
        ok = encoded_image_ok(encoded) & (label >= 0) & (label < num_classes)
        return key, encoded, label, ok

    return ds.map(parse, num_parallel_calls=parallel, deterministic=True)


def tfrecord_train_dataset(split, batch_size, image_size, seed, num_classes, shard=(1, 0),
                           label_offset=0, shuffle_buffer=10000, scale=CROP_SCALE,
                           ratio=CROP_RATIO, num_parallel_calls=-1):
    """One epoch of augmented training batches from TFRecord shards.

    The shard order is a permutation drawn from ``seed``, records are interleaved in a fixed order
    and shuffled through a buffer seeded by ``seed``; each record's crop and flip are keyed by
    (``seed``, shard, record). Records that are not complete images or whose label is outside
    ``0..num_classes-1`` are left out (``scan_tfrecords`` counted them).
    """
    parallel = _parallel(num_parallel_calls)
    pipelines, index = shard
    by_file = len(split.files) >= pipelines
    file_ids = epoch_order(len(split.files), seed, shard if by_file else (1, 0))
    ds = _records(split.files, label_offset, num_classes, parallel, file_ids)
    if not by_file:
        ds = ds.shard(pipelines, index)
    ds = ds.filter(lambda key, encoded, label, ok: ok)
    ds = ds.shuffle(shuffle_buffer, seed=int(seed) % 2**63, reshuffle_each_iteration=False)

    def augment(key, encoded, label, ok):
        return train_image(encoded, sample_seed(seed, key), image_size, scale, ratio), label

    ds = ds.map(augment, num_parallel_calls=parallel, deterministic=True).ignore_errors()
    return _options(ds.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE))


# ----------------------------------------------------------------------------------------------
# Evaluation streams: dicts with "index", "image", "label" (and "ok"/"problem" for records)


def folder_eval_dataset(listing, batch_size, image_size, crop_fraction=EVAL_CROP_FRACTION,
                        num_parallel_calls=-1):
    """Evaluation batches of an image folder listing, in listing order; a file that fails in the
    decoder is dropped here, and the evaluation loop reports it by name."""
    parallel = _parallel(num_parallel_calls)
    items = (np.arange(len(listing.paths), dtype=np.int64), list(listing.paths),
             np.asarray(listing.labels, np.int32))

    def load(index, path, label):
        image = eval_image(decode_image(tf.io.read_file(path)), image_size, crop_fraction)
        return {"index": index, "image": image, "label": label}

    ds = tf.data.Dataset.from_tensor_slices(items)
    ds = ds.map(load, num_parallel_calls=parallel, deterministic=True).ignore_errors()
    return _options(ds.batch(batch_size).prefetch(tf.data.AUTOTUNE))


def tfrecord_eval_dataset(split, batch_size, image_size, num_classes, label_offset=0,
                          crop_fraction=EVAL_CROP_FRACTION, num_parallel_calls=-1):
    """Evaluation batches of TFRecord shards in file order; records that are not complete images
    or have a label out of range come with ``ok`` False and their ``problem``."""
    parallel = _parallel(num_parallel_calls)
    h, w = image_size

    def load(index, record):
        encoded, label = parse_record(record, label_offset)
        complete = encoded_image_ok(encoded)
        in_range = (label >= 0) & (label < num_classes)
        ok = complete & in_range
        image = tf.cond(
            ok,
            lambda: eval_image(decode_image(encoded), image_size, crop_fraction),
            lambda: tf.zeros([h, w, 3], tf.float32),
        )
        problem = tf.where(
            complete,
            tf.strings.format("label {} outside 0..{}", (label, num_classes - 1)),
            "not a complete image",
        )
        return {"index": index, "image": image, "label": label, "ok": ok,
                "problem": tf.where(ok, "", problem)}

    ds = tf.data.TFRecordDataset(list(split.files)).enumerate()
    ds = ds.map(load, num_parallel_calls=parallel, deterministic=True).ignore_errors()
    return _options(ds.batch(batch_size).prefetch(tf.data.AUTOTUNE))


__all__ = [
    "CROP_RATIO",
    "CROP_SCALE",
    "EVAL_CROP_FRACTION",
    "epoch_order",
    "eval_crop",
    "eval_image",
    "eval_images",
    "folder_eval_dataset",
    "folder_train_dataset",
    "random_crop",
    "random_resized_crop_window",
    "sample_seed",
    "tfrecord_eval_dataset",
    "tfrecord_train_dataset",
    "train_image",
]
