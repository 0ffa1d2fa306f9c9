"""tf.data pipelines of the segmentation task: the official training augmentation
(``BaseDataset.gen_sample`` of HRNet-Semantic-Segmentation), the evaluation stream and the check of
every pair, in TensorFlow ops only.

Per training sample, in the official order:

1. read the image (``hrnet_tf.data.images``: JPEGs with the accurate DCT, as cv2.imread) and the
   single-channel label PNG; check that the image is complete, that both have the same size and
   that every label value is known to the dataset's lookup table; map raw ids to train ids;
2. (LIP only) random horizontal flip with left/right class swap, then resize to the crop size;
3. random scale ``s = 0.5 + randint(0, scale_factor) / 10`` (0.5 ... 2.1 for Cityscapes): the long
   side becomes ``int(base_size * s + 0.5)``, the other ``int(side * long / long_side + 0.5)``;
   image bilinear (cv2 INTER_LINEAR), label nearest with cv2's ``floor(x * src / dst)`` indexing;
4. pad bottom/right to the crop size (image 0 before normalization, label ignore);
5. random crop (top-left uniform over every valid position, both ends included);
6. normalize (``hrnet_tf.data.images.normalize``); random horizontal flip with p = 0.5.

Randomness is stateless: the epoch's order is a permutation drawn from its seed and every draw of
a sample is keyed by ``(seed, index of the sample in the sorted file list)``, so an epoch is the
same stream whenever it is rebuilt (what resuming needs).

Bad samples: with ``on_bad="error"`` the first one stops the pipeline through
:func:`hrnet_tf.data.checks.fail_unless` with the line ``"<file>: <problem>"`` (the trainer prints
it and exits with status 2); with ``on_bad="skip"`` they are left out (:func:`check_pairs` lists
them beforehand, so that the run reports them by name).

    >>> import numpy as np, tensorflow as tf
    >>> from hrnet_tf.segmentation.sources import dataset_info
    >>> info = dataset_info("cityscapes", crop_size=(64, 128), base_size=128)
    >>> image = tf.zeros((64, 128, 3), tf.uint8); label = tf.fill((64, 128), 7)
    >>> x, y = augment(image, label, info, tf.constant([1, 2], tf.int64))
    >>> tuple(x.shape), tuple(y.shape)
    ((64, 128, 3), (64, 128))
"""

import numpy as np
import tensorflow as tf

from hrnet_tf.data.checks import fail_unless
from hrnet_tf.data.images import (
    decode_image,
    decode_label,
    encoded_image_ok,
    encoded_image_size,
    encoded_png_ok,
    normalize,
)
from hrnet_tf.data.normalization import IMAGENET


def _hw_text(shape):
    return tf.strings.join([tf.strings.as_string(shape[0]), "x", tf.strings.as_string(shape[1])])


def _problem(cases):
    """The message of the first failed check (``(failed, message_fn)`` pairs), or ""."""
    return tf.case(cases, default=lambda: tf.constant(""))


def _label_checks(label_path, raw, label_lut, image_hw, image_path):
    """(train-id label [H, W] int32, ok, problem) of a decoded raw label [H, W, C]."""
    channels = tf.shape(raw)[2]
    label_hw = tf.shape(raw)[:2]
    values = tf.cast(raw[..., 0], tf.int32)
    mapped = tf.gather(tf.convert_to_tensor(label_lut, tf.int32), values)
    unknown = tf.less(mapped, 0)
    one_channel = tf.equal(channels, 1)
    same_size = tf.reduce_all(tf.equal(image_hw, label_hw))
    known_ids = tf.logical_not(tf.reduce_any(unknown))
    first_unknown = tf.reduce_min(tf.where(unknown, values, 256))
    problem = _problem([
        (tf.logical_not(one_channel), lambda: tf.strings.join(
            [label_path, ": label has ", tf.strings.as_string(channels),
             " channels; expected a single-channel id PNG"])),
        (tf.logical_not(same_size), lambda: tf.strings.join(
            [label_path, ": label size ", _hw_text(label_hw), " differs from image size ",
             _hw_text(image_hw), " (", image_path, ")"])),
        (tf.logical_not(known_ids), lambda: tf.strings.join(
            [label_path, ": label id ", tf.strings.as_string(first_unknown),
             " is not in the label mapping (",
             tf.strings.as_string(tf.reduce_sum(tf.cast(unknown, tf.int32))), " pixels)"])),
    ])
    ok = tf.logical_and(one_channel, tf.logical_and(same_size, known_ids))
    return mapped, ok, problem


def _read_checked(image_path, label_path, label_lut, decode_pixels=True):
    """(image or None, train ids, ok, problem, image_ok) of one pair; without ``decode_pixels``
    the image's size comes from its header and the image itself is not decoded."""
    encoded_image = tf.io.read_file(image_path)
    encoded_label = tf.io.read_file(label_path)
    image_ok = encoded_image_ok(encoded_image)
    label_ok = encoded_png_ok(encoded_label)
    image = None
    if decode_pixels:
        image = tf.cond(image_ok, lambda: decode_image(encoded_image),
                        lambda: tf.zeros([0, 0, 3], tf.uint8))
        image_hw = tf.shape(image)[:2]
    else:
        image_hw = tf.cond(image_ok, lambda: encoded_image_size(encoded_image),
                           lambda: tf.zeros([2], tf.int32))
    raw = tf.cond(label_ok, lambda: decode_label(encoded_label),
                  lambda: tf.zeros([0, 0, 1], tf.uint8))
    label, checks_ok, label_problem = _label_checks(label_path, raw, label_lut, image_hw,
                                                    image_path)
    problem = _problem([
        (tf.logical_not(image_ok), lambda: tf.strings.join(
            [image_path, ": truncated or not an image"])),
        (tf.logical_not(label_ok), lambda: tf.strings.join(
            [label_path, ": truncated or not a PNG label map"])),
        (tf.logical_not(checks_ok), lambda: label_problem),
    ])
    ok = tf.logical_and(tf.logical_and(image_ok, label_ok), checks_ok)
    return image, label, ok, problem, image_ok


def read_pair(image_path, label_path, label_lut):
    """Reads one pair without raising: (uint8 RGB image [H, W, 3], int32 train ids [H, W],
    ``ok``, one-line ``problem`` ("" when ok), ``image_ok``: whether the image itself is usable).

    An image that is truncated or not an image, or a label that is not a complete PNG, is not
    decoded at all (the decoder would stop the pipeline without naming the file).
    """
    return _read_checked(image_path, label_path, label_lut)


def load_pair(image_path, label_path, label_lut):
    """Reads one pair; a bad one raises ``InvalidArgumentError`` carrying ``"<file>: <problem>"``
    (:func:`hrnet_tf.data.checks.sample_problem` extracts the line)."""
    image, label, ok, problem, _ = read_pair(image_path, label_path, label_lut)
    with tf.control_dependencies([fail_unless(ok, problem)]):
        return tf.identity(image), tf.identity(label)


def check_pairs(pairs, label_lut, num_parallel_calls=tf.data.AUTOTUNE):
    """The pairs that pass every check, and the ``(file, problem)`` list of those that do not.

    Reads every label (decoded) and every image's header (not decoded): the pass ``on_bad="skip"``
    makes before training, so that the skipped files are known and reported by name.
    """
    if not pairs:
        return [], []
    def check(image_path, label_path):
        _, _, ok, problem, _ = _read_checked(image_path, label_path, label_lut,
                                             decode_pixels=False)
        return ok, problem

    ds = tf.data.Dataset.from_tensor_slices(([p[0] for p in pairs], [p[1] for p in pairs]))
    good, bad = [], []
    results = ds.map(check, num_parallel_calls=num_parallel_calls).as_numpy_iterator()
    for pair, (ok, problem) in zip(pairs, results, strict=True):
        if ok:
            good.append(pair)
        else:
            file, _, why = problem.decode().partition(": ")
            bad.append((file, why))
    return good, bad


def _cv2_nearest_indices(src, dst):
    # cv2 INTER_NEAREST: source index floor(x * src / dst), clipped; no half-pixel offset.
    scale = tf.cast(src, tf.float64) / tf.cast(dst, tf.float64)
    idx = tf.cast(tf.floor(tf.cast(tf.range(dst), tf.float64) * scale), tf.int32)
    return tf.minimum(idx, src - 1)


def resize_pair(image, label, size):
    """Image bilinear (half-pixel centres, no antialias, rounded like cv2 on uint8), label nearest
    with cv2 indexing; ``size`` = (height, width)."""
    size = tf.cast(size, tf.int32)
    resized = tf.image.resize(tf.cast(image, tf.float32), size, method="bilinear")
    resized = tf.clip_by_value(tf.round(resized), 0.0, 255.0)
    h, w = tf.shape(label)[0], tf.shape(label)[1]
    rows = _cv2_nearest_indices(h, size[0])
    cols = _cv2_nearest_indices(w, size[1])
    label = tf.gather(tf.gather(label, rows, axis=0), cols, axis=1)
    return resized, label


def _bilinear_axis(in_size, out_size, start, count):
    # TF/PyTorch half-pixel bilinear along one axis, for output positions start..start+count-1.
    scale = tf.cast(in_size, tf.float32) / tf.cast(out_size, tf.float32)
    pos = (tf.cast(tf.range(start, start + count), tf.float32) + 0.5) * scale - 0.5
    low = tf.floor(pos)
    lo = tf.maximum(tf.cast(low, tf.int32), 0)
    hi = tf.minimum(tf.cast(tf.math.ceil(pos), tf.int32), in_size - 1)
    return lo, hi, pos - low


def scaled_crop(image, label, size, y0, x0, crop_size, ignore_label):
    """``resize_pair`` to ``size``, pad bottom/right to ``crop_size`` (image 0, label ignore) and
    crop at (y0, x0) -- computing only the cropped pixels.

    Resizing the whole image first (what the official code does) costs up to 2.1^2 times the
    image; the crop is a fraction of that. Same values: each output pixel uses the same source
    pixels and weights (separable half-pixel bilinear, cv2 nearest indexing for the label).
    """
    crop_h, crop_w = crop_size
    in_h, in_w = tf.shape(label)[0], tf.shape(label)[1]
    rows = tf.minimum(crop_h, size[0] - y0)  # real (unpadded) rows inside the crop
    cols = tf.minimum(crop_w, size[1] - x0)

    lo, hi, frac = _bilinear_axis(in_h, size[0], y0, rows)
    image = tf.cast(image, tf.float32)
    top, bottom = tf.gather(image, lo, axis=0), tf.gather(image, hi, axis=0)
    image = top + (bottom - top) * frac[:, None, None]
    lo, hi, frac = _bilinear_axis(in_w, size[1], x0, cols)
    left, right = tf.gather(image, lo, axis=1), tf.gather(image, hi, axis=1)
    image = left + (right - left) * frac[None, :, None]
    image = tf.clip_by_value(tf.round(image), 0.0, 255.0)

    label_rows = _cv2_nearest_indices(in_h, size[0])[y0 : y0 + rows]
    label_cols = _cv2_nearest_indices(in_w, size[1])[x0 : x0 + cols]
    label = tf.gather(tf.gather(label, label_rows, axis=0), label_cols, axis=1)

    pad = [[0, crop_h - rows], [0, crop_w - cols]]
    image = tf.pad(image, [*pad, [0, 0]], constant_values=0.0)
    label = tf.pad(label, pad, constant_values=ignore_label)
    return image, label


def scaled_size(height, width, long_size):
    """Official ``image_resize``: the long side becomes ``long_size`` (ties: width is long)."""
    h = tf.cast(height, tf.float64)
    w = tf.cast(width, tf.float64)
    long_f = tf.cast(long_size, tf.float64)
    new_h = tf.where(h > w, long_f, tf.floor(h * long_f / w + 0.5))
    new_w = tf.where(h > w, tf.floor(w * long_f / h + 0.5), long_f)
    return tf.cast(tf.stack([new_h, new_w]), tf.int32)


def random_long_size(base_size, scale_factor, seed):
    """``int(base_size * (0.5 + randint(0, scale_factor) / 10) + 0.5)``, in float64 like numpy."""
    k = tf.random.stateless_uniform([], seed, minval=0, maxval=scale_factor + 1, dtype=tf.int32)
    scale = 0.5 + tf.cast(k, tf.float64) / 10.0
    return tf.cast(tf.floor(float(base_size) * scale + 0.5), tf.int32)


def flip_pair(image, label, flip_pairs=()):
    """Horizontal flip; with ``flip_pairs`` ((left, right), ...) the classes are swapped (LIP)."""
    image = tf.reverse(image, axis=[1])
    label = tf.reverse(label, axis=[1])
    if flip_pairs:
        table = np.arange(256, dtype=np.int32)
        for left, right in flip_pairs:
            table[left], table[right] = right, left
        swap = tf.constant(table)
        # Ignore (255) and other values stay; only class ids of the pairs move.
        label = tf.where(
            (label >= 0) & (label < 256), tf.gather(swap, tf.clip_by_value(label, 0, 255)), label
        )
    return image, label


def augment(image, label, info, seed, normalization=IMAGENET):
    """The official training transform of one decoded sample; returns the normalized float32 image
    [crop_h, crop_w, 3] and int32 label [crop_h, crop_w]. ``seed``: int64 pair (stateless)."""
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=5)
    crop_h, crop_w = info.crop_size
    image = tf.cast(image, tf.float32)
    label = tf.cast(label, tf.int32)
    flip = tf.random.stateless_uniform([], seeds[0], 0, 2, dtype=tf.int32) > 0
    if info.resize_to_crop_first:
        # LIP: flip (with left/right swap) first, then resize to the crop size, no second flip.
        image, label = tf.cond(
            flip, lambda: flip_pair(image, label, info.flip_pairs), lambda: (image, label)
        )
        image, label = resize_pair(image, label, (crop_h, crop_w))

    long_size = random_long_size(info.base_size, info.scale_factor, seeds[1])
    size = scaled_size(tf.shape(label)[0], tf.shape(label)[1], long_size)
    # Top-left of the crop in the padded, scaled image (padding is bottom/right only).
    padded_h = tf.maximum(size[0], crop_h)
    padded_w = tf.maximum(size[1], crop_w)
    y0 = tf.random.stateless_uniform([], seeds[2], 0, padded_h - crop_h + 1, dtype=tf.int32)
    x0 = tf.random.stateless_uniform([], seeds[3], 0, padded_w - crop_w + 1, dtype=tf.int32)
    image, label = scaled_crop(image, label, size, y0, x0, (crop_h, crop_w), info.ignore_label)

    image = normalize(image, normalization)
    if not info.resize_to_crop_first:
        image, label = tf.cond(
            flip, lambda: flip_pair(image, label, info.flip_pairs), lambda: (image, label)
        )
    image = tf.ensure_shape(image, (crop_h, crop_w, 3))
    label = tf.ensure_shape(label, (crop_h, crop_w))
    return image, label


def epoch_order(num_samples, seed):
    """The order of an epoch's samples: a permutation drawn from ``seed`` alone.

    >>> epoch_order(5, 3).tolist() == epoch_order(5, 3).tolist()
    True
    """
    return np.random.default_rng(int(seed) % (1 << 63)).permutation(num_samples)


def train_dataset(pairs, info, batch_size, seed=0, shuffle=True, on_bad="error",
                  num_parallel_calls=tf.data.AUTOTUNE, shard=(1, 0), normalization=IMAGENET):
    """Batches of (normalized image [B, h, w, 3], int32 train ids [B, h, w]) for one epoch.

    ``seed`` fixes the order and every augmentation draw (keyed by each sample's index in
    ``pairs``). ``shard`` = (count, index) keeps every count-th sample of the epoch's order
    (multi-worker input pipelines). Batches drop the remainder (official ``drop_last=True``).
    """
    if on_bad not in ("error", "skip"):
        raise ValueError(f"on_bad must be 'error' or 'skip', got {on_bad!r}")
    order = epoch_order(len(pairs), seed) if shuffle else np.arange(len(pairs))
    count, index = shard
    order = order[index::count]
    ds = tf.data.Dataset.from_tensor_slices((
        order.astype(np.int64),
        [pairs[i][0] for i in order],
        [pairs[i][1] for i in order],
    ))
    lut = info.label_lut

    def load(sample, image_path, label_path):
        image, label, ok, problem, _ = read_pair(image_path, label_path, lut)
        return sample, image, label, ok, problem

    def checked(sample, image, label, ok, problem):
        with tf.control_dependencies([fail_unless(ok, problem)]):
            return sample, tf.identity(image), tf.identity(label), ok, problem

    def transform(sample, image, label, ok, problem):
        key = tf.stack([tf.cast(seed, tf.int64), sample])
        return augment(image, label, info, key, normalization)

    ds = ds.map(load, num_parallel_calls=num_parallel_calls, deterministic=True)
    if on_bad == "skip":
        ds = ds.filter(lambda sample, image, label, ok, problem: ok)
    else:
        ds = ds.map(checked, num_parallel_calls=num_parallel_calls, deterministic=True)
    ds = ds.map(transform, num_parallel_calls=num_parallel_calls, deterministic=True)
    ds = ds.batch(batch_size, drop_remainder=True)
    return ds.prefetch(tf.data.AUTOTUNE)


def eval_dataset(pairs, info, on_bad="error"):
    """Full-size samples for evaluation, one per batch: dicts of ``index`` [1], ``image`` uint8
    [1, H, W, 3], ``label`` int32 [1, H, W], ``ok``/``problem`` [1] (samples to leave out, with
    why) and ``fatal`` [1]: a bad label with ``on_bad="error"`` (the evaluator stops on it).

    An unusable image is always left out (counted), whatever ``on_bad``: one broken file must not
    cost the metrics of a whole split. A file that passes the checks but fails in the decoder is
    dropped here and reported by the evaluation loop as undecodable.
    """
    ds = tf.data.Dataset.from_tensor_slices((
        np.arange(len(pairs), dtype=np.int64), [p[0] for p in pairs], [p[1] for p in pairs]))
    lut = info.label_lut
    strict = on_bad == "error"

    def load(index, image_path, label_path):
        image, label, ok, problem, image_ok = read_pair(image_path, label_path, lut)
        fatal = tf.logical_and(tf.constant(strict), tf.logical_and(image_ok, tf.logical_not(ok)))
        # The report names the sample (its image) already: "a.png (truncated or ...)".
        prefix = tf.strings.join([image_path, ": "])
        n = tf.strings.length(prefix)
        problem = tf.cond(tf.strings.substr(problem, 0, n) == prefix,
                          lambda: tf.strings.substr(problem, n, -1), lambda: problem)
        return {"index": index, "image": image, "label": label, "ok": ok, "problem": problem,
                "fatal": fatal}

    ds = ds.map(load, num_parallel_calls=2, deterministic=True).ignore_errors()
    return ds.batch(1).prefetch(2)


__all__ = [
    "augment",
    "check_pairs",
    "epoch_order",
    "eval_dataset",
    "flip_pair",
    "load_pair",
    "random_long_size",
    "read_pair",
    "resize_pair",
    "scaled_crop",
    "scaled_size",
    "train_dataset",
]
