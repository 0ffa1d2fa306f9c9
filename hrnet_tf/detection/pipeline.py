"""Detection input pipelines in tf.data: mmdetection's FCOS transforms, stateless.

The official recipe (mmdetection ``configs/hrnet/fcos_hrnetv2p_w32_gn-head_4x4_1x_coco.py``):
``Resize(img_scale=(1333, 800), keep_ratio=True)`` (mmcv ``rescale_size``: factor
``min(1333 / long side, 800 / short side)``, size ``int(side * factor + 0.5)``, bilinear), boxes
scaled by the per-axis factors and clipped to the image, ``RandomFlip(0.5)`` (``x1' = w - x2``),
``Normalize`` (the model's normalization), ``Pad(size_divisor=32)`` with zeros after normalizing.

One difference, to batch with static shapes: every image is padded to the fixed canvas
``image_size`` (multiples of 32; mmdet pads each batch to its largest image), and an image that
would not fit the canvas (a portrait photo in an 800 x 1344 canvas) is resized by the smaller
factor that fits. Targets (:meth:`hrnet_tf.detection.codec.FCOSCoder.encode`) are computed here.

Randomness is stateless: epoch ``e``'s order is a permutation drawn from ``epoch_seed(config, e)``
and sample ``i``'s flip from a stateless draw keyed by (seed, i).
"""

import tensorflow as tf

# one stateless shuffle and per-sample seed for every task (the classification pipeline's)
from hrnet_tf.classification.pipeline import epoch_order, sample_seed
from hrnet_tf.data.images import decode_image, normalize
from hrnet_tf.data.normalization import IMAGENET

SCALE = (1333, 800)  # mmdet img_scale: (long edge, short edge)


def rescale_size(height, width, scale=SCALE, canvas=None):
    """(new height, new width, factor) of mmcv ``rescale_size`` (keep ratio), TF scalars; with
    ``canvas`` (h, w) also small enough to fit it."""
    h, w = tf.cast(height, tf.float32), tf.cast(width, tf.float32)
    long_edge, short_edge = float(max(scale)), float(min(scale))
    factor = tf.minimum(long_edge / tf.maximum(h, w), short_edge / tf.minimum(h, w))
    if canvas is not None:
        factor = tf.minimum(factor, tf.minimum(canvas[0] / h, canvas[1] / w))
    new_h = tf.minimum(tf.cast(h * factor + 0.5, tf.int32), canvas[0] if canvas else 1 << 30)
    new_w = tf.minimum(tf.cast(w * factor + 0.5, tf.int32), canvas[1] if canvas else 1 << 30)
    return new_h, new_w, factor


def resize_keep_ratio(image, scale=SCALE, canvas=None):
    """(resized uint8-range float image, [h, w] int32 resized shape, [w_scale, h_scale])."""
    shape = tf.shape(image)
    new_h, new_w, _ = rescale_size(shape[0], shape[1], scale, canvas)
    resized = tf.image.resize(tf.cast(image, tf.float32), tf.stack([new_h, new_w]),
                              method="bilinear")
    factors = tf.stack([tf.cast(new_w, tf.float32) / tf.cast(shape[1], tf.float32),
                        tf.cast(new_h, tf.float32) / tf.cast(shape[0], tf.float32)])
    return resized, tf.stack([new_h, new_w]), factors


def scale_boxes(boxes, factors, image_shape):
    """Boxes x1 y1 x2 y2 times the (w, h) factors, clipped to the resized image (mmdet Resize)."""
    scaled = boxes * tf.tile(factors, [2])[None, :]
    h, w = tf.cast(image_shape[0], tf.float32), tf.cast(image_shape[1], tf.float32)
    return tf.stack([tf.clip_by_value(scaled[:, 0], 0, w), tf.clip_by_value(scaled[:, 1], 0, h),
                     tf.clip_by_value(scaled[:, 2], 0, w), tf.clip_by_value(scaled[:, 3], 0, h)],
                    -1)


def flip_boxes(boxes, width):
    """mmdet ``RandomFlip.bbox_flip`` (horizontal): x1' = w - x2, x2' = w - x1."""
    w = tf.cast(width, tf.float32)
    return tf.stack([w - boxes[:, 2], boxes[:, 1], w - boxes[:, 0], boxes[:, 3]], -1)


def pad_to(x, canvas):
    """Zero padding at the bottom and right to the canvas (after normalizing, as mmdet)."""
    shape = tf.shape(x)
    padded = tf.pad(x, [[0, canvas[0] - shape[0]], [0, canvas[1] - shape[1]], [0, 0]])
    return tf.ensure_shape(padded, [canvas[0], canvas[1], 3])


def prepare(image, canvas, scale=SCALE, normalization=IMAGENET):
    """An image for the network: (input [H, W, 3] on the canvas, resized shape, (w, h) factors)."""
    resized, shape, factors = resize_keep_ratio(image, scale, canvas)
    return pad_to(normalize(resized, normalization), canvas), shape, factors


def _options(ds):
    options = tf.data.Options()
    options.deterministic = True
    return ds.with_options(options)


def _parallel(num_parallel_calls):
    return tf.data.AUTOTUNE if num_parallel_calls < 0 else num_parallel_calls


def train_dataset(split, coder, batch_size, canvas, seed, shard=(1, 0), scale=SCALE,
                  flip_ratio=0.5, max_objects=100, normalization=IMAGENET, num_parallel_calls=-1):
    """One epoch of training batches ``(images, {"labels", "bbox", "centerness"})``. An image whose
    body fails in the decoder is dropped (``ignore_errors``)."""
    parallel = _parallel(num_parallel_calls)
    canvas = (int(canvas[0]), int(canvas[1]))
    paths = tf.constant(list(split.image_paths))
    all_boxes, all_labels = split.padded(max_objects)
    all_boxes, all_labels = tf.constant(all_boxes), tf.constant(all_labels)

    def load(index):
        image = decode_image(tf.io.read_file(tf.gather(paths, index)))
        x, shape, factors = prepare(image, canvas, scale, normalization)
        labels = tf.gather(all_labels, index)
        boxes = scale_boxes(tf.gather(all_boxes, index), factors, shape)
        flip = tf.random.stateless_uniform([], sample_seed(seed, index)) < flip_ratio
        valid_w = shape[1]
        x = tf.cond(flip, lambda: _flip_valid(x, valid_w), lambda: x)
        boxes = tf.cond(flip, lambda: flip_boxes(boxes, valid_w), lambda: boxes)
        # boxes clipped to nothing by the resize are padding
        empty = (boxes[:, 2] <= boxes[:, 0]) | (boxes[:, 3] <= boxes[:, 1])
        labels = tf.where(empty, -1, labels)
        return x, coder.encode(boxes, labels, *canvas)

    ds = tf.data.Dataset.from_tensor_slices(epoch_order(len(split), seed, shard))
    ds = ds.map(load, num_parallel_calls=parallel, deterministic=True).ignore_errors()
    return _options(ds.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE))


def _flip_valid(x, valid_width):
    """Flips the image part of a padded input (the padding stays at the right)."""
    canvas_w = tf.shape(x)[1]
    flipped = tf.reverse(x[:, :valid_width], axis=[1])
    return tf.concat([flipped, x[:, valid_width:canvas_w]], 1)


def eval_dataset(split, batch_size, canvas, scale=SCALE, normalization=IMAGENET,
                 num_parallel_calls=-1):
    """Evaluation batches: dicts of ``index``, ``image`` (network input), ``image_shape`` (resized
    h, w) and ``scale_factor`` (w, h). Undecodable images are dropped (found missing by index)."""
    parallel = _parallel(num_parallel_calls)
    canvas = (int(canvas[0]), int(canvas[1]))
    paths = tf.constant(list(split.image_paths))

    def load(index):
        image = decode_image(tf.io.read_file(tf.gather(paths, index)))
        x, shape, factors = prepare(image, canvas, scale, normalization)
        return {"index": index, "image": x, "image_shape": shape, "scale_factor": factors}

    ds = tf.data.Dataset.range(len(split))
    ds = ds.map(load, num_parallel_calls=parallel, deterministic=True).ignore_errors()
    return _options(ds.batch(batch_size).prefetch(tf.data.AUTOTUNE))


__all__ = ["SCALE", "eval_dataset", "flip_boxes", "prepare", "rescale_size", "resize_keep_ratio",
           "scale_boxes", "train_dataset"]
