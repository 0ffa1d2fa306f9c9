"""tf.data input pipeline of the official HRNet segmentation training (``BaseDataset.gen_sample``),
written in TensorFlow ops only.

Per training sample, in the official order:

1. decode the image (RGB) and the single-channel label PNG; check that both have the same size and
   that every label value is known to the dataset's lookup table; map raw ids to train ids;
2. (LIP only) random horizontal flip with left/right class swap, then resize to the crop size;
3. random scale ``s = 0.5 + randint(0, scale_factor) / 10`` (0.5 ... 2.1 for Cityscapes): the long
   side becomes ``int(base_size * s + 0.5)``, the other ``int(side * long / long_side + 0.5)``;
   image bilinear (cv2 INTER_LINEAR), label nearest with cv2's ``floor(x * src / dst)`` indexing;
4. pad bottom/right to the crop size (image 0 before normalization, label ignore);
5. random crop (top-left uniform over every valid position, both ends included);
6. normalize (/255, ImageNet mean/std); random horizontal flip with p = 0.5.

Random draws are stateless and derived from ``(seed, sample index)``, so an epoch is reproducible
from its seed (what the trainer's resume needs).

Bad data: with ``on_bad="error"`` the first bad sample stops the pipeline with an
``InvalidArgumentError`` whose message is ``"<file>: <problem>"`` (``bad_sample_message`` extracts
that line); with ``on_bad="skip"`` bad samples are dropped and one line per skipped file is
printed to stderr.

    >>> import numpy as np, tensorflow as tf
    >>> from hrnet_tf.segmentation.datasets import dataset_info
    >>> info = dataset_info("cityscapes", crop_size=(64, 128), base_size=128)
    >>> image = tf.zeros((64, 128, 3), tf.uint8); label = tf.fill((64, 128), 7)
    >>> x, y = augment(image, label, info, tf.constant([1, 2], tf.int64))
    >>> tuple(x.shape), tuple(y.shape)
    ((64, 128, 3), (64, 128))
"""

import re
import sys

import numpy as np
import tensorflow as tf

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def normalize(image):
    """uint8/float RGB in 0..255 -> ImageNet-normalized float32."""
    image = tf.cast(image, tf.float32) / 255.0
    return (image - tf.constant(MEAN)) / tf.constant(STD)


def _hw_text(shape):
    return tf.strings.join([tf.strings.as_string(shape[0]), "x", tf.strings.as_string(shape[1])])


def decode_and_check(image_path, label_path, label_lut):
    """Reads one pair: uint8 RGB image [H, W, 3], int32 train-id label [H, W], an ``ok`` flag and
    a one-line problem message (empty when ok). Nothing here raises: callers decide."""
    image = tf.io.decode_image(tf.io.read_file(image_path), channels=3, expand_animations=False)
    raw = tf.io.decode_png(tf.io.read_file(label_path), channels=0)
    image_hw = tf.shape(image)[:2]
    label_hw = tf.shape(raw)[:2]
    channels = tf.shape(raw)[2]
    raw = raw[..., 0]
    mapped = tf.gather(tf.constant(label_lut, tf.int32), tf.cast(raw, tf.int32))
    unknown = tf.less(mapped, 0)

    same_size = tf.reduce_all(tf.equal(image_hw, label_hw))
    one_channel = tf.equal(channels, 1)
    known_ids = tf.logical_not(tf.reduce_any(unknown))
    first_unknown = tf.reduce_min(tf.where(unknown, tf.cast(raw, tf.int32), 256))
    problem = tf.case(
        [
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
        ],
        default=lambda: tf.constant(""),
    )
    ok = tf.logical_and(one_channel, tf.logical_and(same_size, known_ids))
    return image, mapped, ok, problem


def load_pair(image_path, label_path, label_lut):
    """Decodes and checks one pair, raising InvalidArgumentError("<file>: <problem>") if bad."""
    image, label, ok, problem = decode_and_check(image_path, label_path, label_lut)
    with tf.control_dependencies([tf.debugging.Assert(ok, [problem], summarize=1)]):
        return tf.identity(image), tf.identity(label)


def bad_sample_message(error):
    """The one-line ``"<file>: <problem>"`` from a pipeline InvalidArgumentError (or its text)."""
    text = getattr(error, "message", None) or str(error)
    # Graph mode (tf.data) and eager mode word the failed assertion differently.
    match = re.search(r"assertion failed: \[(.*?)\]", text, re.S) or re.search(
        r"Summarized data: b'(.*?)'", text, re.S
    )
    line = match.group(1) if match else text
    return line.strip().splitlines()[0] if line.strip() else text


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


def augment(image, label, info, seed):
    """The official training transform of one decoded sample; returns normalized float32 image
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

    image = normalize(image)
    if not info.resize_to_crop_first:
        image, label = tf.cond(
            flip, lambda: flip_pair(image, label, info.flip_pairs), lambda: (image, label)
        )
    image = tf.ensure_shape(image, (crop_h, crop_w, 3))
    label = tf.ensure_shape(label, (crop_h, crop_w))
    return image, label


def _checked_dataset(pairs, info, on_bad):
    image_paths = [p[0] for p in pairs]
    label_paths = [p[1] for p in pairs]
    ds = tf.data.Dataset.from_tensor_slices((image_paths, label_paths))
    if on_bad == "skip":
        def load(image_path, label_path):
            return decode_and_check(image_path, label_path, info.label_lut)

        def keep(image, label, ok, problem):
            # Stateless print of the skipped file; the filter is what drops it.
            printed = tf.cond(
                ok, lambda: tf.constant(True),
                lambda: _print_skip(problem),
            )
            return tf.logical_and(ok, printed)

        return ds, load, keep
    if on_bad != "error":
        raise ValueError(f"on_bad must be 'error' or 'skip', got {on_bad!r}")

    def load_strict(image_path, label_path):
        image, label = load_pair(image_path, label_path, info.label_lut)
        return image, label, tf.constant(True), tf.constant("")

    return ds, load_strict, None


def _print_skip(problem):
    with tf.control_dependencies(
        [tf.print("skipped bad sample:", problem, output_stream=sys.stderr)]
    ):
        return tf.constant(True)


def train_dataset(pairs, info, batch_size, seed=0, shuffle=True, on_bad="error",
                  num_parallel_calls=tf.data.AUTOTUNE, shard=None):
    """Batches of (normalized image [B, h, w, 3], int32 train ids [B, h, w]) for one epoch.

    ``seed`` fixes the shuffle order and every augmentation draw. ``shard`` = (count, index)
    keeps every count-th file (multi-worker input pipelines). Batches drop the remainder
    (official ``drop_last=True``).
    """
    ds, load, keep = _checked_dataset(pairs, info, on_bad)
    if shard is not None:
        ds = ds.shard(*shard)
    if shuffle:
        ds = ds.shuffle(len(pairs), seed=seed, reshuffle_each_iteration=False)
    ds = ds.enumerate()

    def load_indexed(index, paths):
        return (index, *load(*paths))

    ds = ds.map(load_indexed, num_parallel_calls=num_parallel_calls)
    if keep is not None:
        ds = ds.filter(lambda index, image, label, ok, problem: keep(image, label, ok, problem))

    def transform(index, image, label, ok, problem):
        return augment(image, label, info, tf.stack([tf.cast(seed, tf.int64), index]))

    ds = ds.map(transform, num_parallel_calls=num_parallel_calls)
    ds = ds.batch(batch_size, drop_remainder=True)
    return ds.prefetch(tf.data.AUTOTUNE)


def eval_dataset(pairs, info, on_bad="error"):
    """Unbatched full-size samples for evaluation: (uint8 image [H, W, 3], int32 label [H, W],
    ok flag, problem text, image path). With ``on_bad="skip"`` bad samples come through with
    ``ok=False`` so that the evaluator can count them."""
    image_paths = [p[0] for p in pairs]
    label_paths = [p[1] for p in pairs]
    ds = tf.data.Dataset.from_tensor_slices((image_paths, label_paths))

    def load(image_path, label_path):
        if on_bad == "skip":
            image, label, ok, problem = decode_and_check(image_path, label_path, info.label_lut)
        else:
            image, label = load_pair(image_path, label_path, info.label_lut)
            ok, problem = tf.constant(True), tf.constant("")
        return image, label, ok, problem, image_path

    return ds.map(load, num_parallel_calls=2).prefetch(2)


__all__ = [
    "MEAN",
    "STD",
    "augment",
    "bad_sample_message",
    "decode_and_check",
    "eval_dataset",
    "flip_pair",
    "load_pair",
    "normalize",
    "resize_pair",
    "random_long_size",
    "scaled_crop",
    "scaled_size",
    "train_dataset",
]
