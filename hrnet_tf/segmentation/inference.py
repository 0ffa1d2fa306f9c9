"""Test-time inference of the official HRNet segmentation code: whole image, sliding window, and
multi-scale plus flip.

* ``inference`` (official ``BaseDataset.inference``): logits resized bilinearly to the input size;
  with ``flip`` the prediction on the mirrored input is mirrored back (LIP also swaps left/right
  channels) and averaged with the plain one; returns ``exp`` of the averaged logits (not softmax).
* ``sliding_window`` (official Cityscapes ``multi_scale_inference``): windows of ``crop_size`` at
  ``stride`` steps; the last row/column of windows is shifted back to end at the border (so no
  padding is needed); overlapping scores are averaged.
* ``multi_scale_inference``: for every scale the image's long side is resized to
  ``base_size * scale``; scales up to ``whole_max_scale`` (1.0 on Cityscapes) run on the whole
  resized image, larger ones by sliding window; each result is resized bilinearly to the original
  size and the scales are **summed** (sums of exp(logits), the official combination rule).

All functions take ImageNet-normalized float images [1, H, W, 3] and return float32 scores
[1, H, W, num_classes]; ``argmax`` over the last axis gives train ids.

    >>> import hrnet_tf, numpy as np
    >>> model = hrnet_tf.HRNetV2("tiny", num_classes=3)
    >>> image = np.zeros((1, 64, 96, 3), "float32")
    >>> multi_scale_inference(model, image, scales=(0.5, 1.0, 1.5), flip=True,
    ...                       crop_size=(64, 64)).shape.as_list()
    [1, 64, 96, 3]
"""

import numpy as np
import tensorflow as tf


def _resize(x, size):
    return tf.image.resize(x, tf.cast(size, tf.int32), method="bilinear")


def _logits(model, images):
    logits = model(images, training=False)
    return tf.cast(_resize(logits, tf.shape(images)[1:3]), tf.float32)


def _swap_channels(scores, flip_pairs):
    order = np.arange(scores.shape[-1])
    for left, right in flip_pairs:
        order[left], order[right] = right, left
    return tf.gather(scores, order, axis=-1)


def inference(model, images, flip=False, flip_pairs=()):
    """exp of the (flip-averaged) logits at the input size, [N, H, W, C]."""
    images = tf.convert_to_tensor(images, tf.float32)
    pred = _logits(model, images)
    if flip:
        mirrored = _logits(model, tf.reverse(images, axis=[2]))
        if flip_pairs:
            mirrored = _swap_channels(mirrored, flip_pairs)
        pred = (pred + tf.reverse(mirrored, axis=[2])) * 0.5
    return tf.exp(pred)


def window_starts(length, crop, stride):
    """Start offsets of the official sliding windows along one axis (last one shifted back).

    >>> window_starts(2048, 1024, 1024), window_starts(1100, 1024, 1024)
    ([0, 1024], [0, 76])
    >>> window_starts(500, 512, 512)
    [0]
    """
    count = int(np.ceil(max(length - crop, 0) / stride)) + 1
    starts = []
    for k in range(count):
        end = min(k * stride + crop, length)
        starts.append(max(end - crop, 0))
    return starts


def sliding_window(model, images, crop_size, stride=None, flip=False, flip_pairs=()):
    """Scores of [1, H, W, 3] ``images`` from ``crop_size`` windows, overlaps averaged.

    ``stride`` defaults to the crop size (Cityscapes); the generic official rule is 2/3 of it.
    """
    images = tf.convert_to_tensor(images, tf.float32)
    height, width = int(images.shape[1]), int(images.shape[2])
    crop_h, crop_w = crop_size
    stride_h, stride_w = stride if stride is not None else crop_size
    total = None
    count = np.zeros((1, height, width, 1), np.float32)
    for y0 in window_starts(height, crop_h, stride_h):
        for x0 in window_starts(width, crop_w, stride_w):
            y1, x1 = min(y0 + crop_h, height), min(x0 + crop_w, width)
            scores = inference(model, images[:, y0:y1, x0:x1], flip, flip_pairs).numpy()
            if total is None:
                total = np.zeros((1, height, width, scores.shape[-1]), np.float32)
            total[:, y0:y1, x0:x1] += scores
            count[:, y0:y1, x0:x1] += 1
    return tf.constant(total / count)


def resized_shape(height, width, long_size):
    """The official ``image_resize``: long side to ``long_size``, other side rounded."""
    if height > width:
        return long_size, int(width * long_size / height + 0.5)
    return int(height * long_size / width + 0.5), long_size


def multi_scale_inference(model, images, scales=(1.0,), flip=False, crop_size=(512, 1024),
                          base_size=None, stride=None, whole_max_scale=1.0, flip_pairs=()):
    """Sum over ``scales`` of the scores resized to the original size, [1, H, W, C].

    ``base_size``: long side at scale 1 (None: the image's own long side, i.e. scale 1 keeps the
    image as it is; Cityscapes 2048 equals its image width).
    """
    images = tf.convert_to_tensor(images, tf.float32)
    if images.shape[0] != 1:
        raise ValueError(f"multi-scale inference takes one image at a time, got {images.shape}")
    height, width = int(images.shape[1]), int(images.shape[2])
    base = base_size or max(height, width)
    final = None
    for scale in scales:
        long_size = int(base * scale + 0.5)
        size = resized_shape(height, width, long_size)
        scaled = images if size == (height, width) else _resize(images, size)
        if scale <= whole_max_scale:
            scores = inference(model, scaled, flip, flip_pairs)
        else:
            scores = sliding_window(model, scaled, crop_size, stride, flip, flip_pairs)
        if size != (height, width):
            scores = _resize(scores, (height, width))
        final = scores if final is None else final + scores
    return final


def predict_train_ids(model, images, mode="whole", scales=(1.0,), flip=False,
                      crop_size=(512, 1024), base_size=None, stride=None, flip_pairs=(),
                      output_size=None):
    """int32 train ids [H, W] of one normalized image [1, H, W, 3].

    ``mode``: "whole" (one pass on the full image), "sliding" (windows at scale 1) or
    "multiscale" (``scales`` and ``flip`` with the official combination rule).
    ``output_size`` (h, w): scores are resized bilinearly to it before the argmax (the official
    LIP test runs at 473x473 and compares at the label size).
    """
    if mode == "whole":
        scores = inference(model, images, flip, flip_pairs)
    elif mode == "sliding":
        scores = sliding_window(model, images, crop_size, stride, flip, flip_pairs)
    elif mode == "multiscale":
        scores = multi_scale_inference(model, images, scales, flip, crop_size, base_size, stride,
                                       flip_pairs=flip_pairs)
    else:
        raise ValueError(f"inference mode must be whole, sliding or multiscale, got {mode!r}")
    if output_size is not None and tuple(output_size) != tuple(scores.shape[1:3]):
        scores = _resize(scores, output_size)
    return tf.argmax(scores[0], axis=-1, output_type=tf.int32).numpy()


__all__ = [
    "inference",
    "multi_scale_inference",
    "predict_train_ids",
    "resized_shape",
    "sliding_window",
    "window_starts",
]
