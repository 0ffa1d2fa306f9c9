"""Network outputs -> label maps: the test-time inference of the official HRNet segmentation code
(whole image, sliding window, multi-scale plus flip) and the uint8 serving function.

Every function takes ``forward``, the network as a callable ``x -> logits`` (a Keras model, or
``hrnet_tf.evaluation.forward_function(model)``), and normalized float images.

* ``inference`` (official ``BaseDataset.inference``): logits resized bilinearly to the input size;
  with ``flip`` the prediction on the mirrored input is mirrored back -- its left/right channels
  swapped for datasets with ``flip_pairs`` (LIP, ``lip.py``) -- and averaged with the plain one;
  returns ``exp`` of the averaged logits (not softmax).
* ``sliding_window`` (official Cityscapes ``multi_scale_inference``): windows of ``crop_size`` at
  ``stride`` steps; the last row/column of windows is shifted back to end at the border (so no
  padding is needed); overlapping scores are averaged.
* ``multi_scale_inference``: for every scale the image's long side is resized to
  ``base_size * scale``; scales up to ``whole_max_scale`` (1.0 on Cityscapes) run on the whole
  resized image, larger ones by sliding window; each result is resized bilinearly to the original
  size and the scales are **summed** (sums of exp(logits), the official combination rule).
* ``whole_image_labels``: the whole-image path as TF ops on a batch, to train ids;
  ``segment_images`` is it on uint8 images: the exported ``segment`` signature, so an exported
  model answers what evaluation and ``predict`` answer.

    >>> import hrnet_tf, numpy as np
    >>> model = hrnet_tf.HRNetV2("tiny", num_classes=3)
    >>> image = np.zeros((1, 64, 96, 3), "float32")
    >>> multi_scale_inference(model, image, scales=(0.5, 1.0, 1.5), flip=True,
    ...                       crop_size=(64, 64)).shape.as_list()
    [1, 64, 96, 3]
"""

import numpy as np
import tensorflow as tf

from hrnet_tf.data.images import normalize
from hrnet_tf.data.normalization import IMAGENET

MODES = ("whole", "sliding", "multiscale")


def _resize(x, size):
    return tf.image.resize(x, tf.cast(size, tf.int32), method="bilinear")


def _logits(forward, images):
    logits = tf.cast(forward(images), tf.float32)
    return _resize(logits, tf.shape(images)[1:3])


def swap_channels(scores, flip_pairs):
    """``scores`` [..., C] with the channels of every (left, right) pair exchanged.

    >>> swap_channels(tf.constant([[0.0, 1.0, 2.0]]), ((0, 2),)).numpy().tolist()
    [[2.0, 1.0, 0.0]]
    """
    order = np.arange(scores.shape[-1])
    for left, right in flip_pairs:
        order[left], order[right] = right, left
    return tf.gather(scores, order, axis=-1)


def inference(forward, images, flip=False, flip_pairs=()):
    """exp of the (flip-averaged) logits at the input size, [N, H, W, C]."""
    images = tf.convert_to_tensor(images, tf.float32)
    pred = _logits(forward, images)
    if flip:
        mirrored = _logits(forward, tf.reverse(images, axis=[2]))
        if flip_pairs:
            mirrored = swap_channels(mirrored, flip_pairs)
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


def sliding_window(forward, images, crop_size, stride=None, flip=False, flip_pairs=()):
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
            scores = inference(forward, images[:, y0:y1, x0:x1], flip, flip_pairs).numpy()
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


def multi_scale_inference(forward, images, scales=(1.0,), flip=False, crop_size=(512, 1024),
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
            scores = inference(forward, scaled, flip, flip_pairs)
        else:
            scores = sliding_window(forward, scaled, crop_size, stride, flip, flip_pairs)
        if size != (height, width):
            scores = _resize(scores, (height, width))
        final = scores if final is None else final + scores
    return final


def whole_image_labels(forward, images, input_size=None, output_size=None, flip=False,
                       flip_pairs=()):
    """int32 train ids [N, h, w] of normalized ``images`` [N, H, W, 3] in one pass each, TF ops.

    ``input_size`` (h, w): the images are resized to it first (a model with a fixed input size;
    LIP, whose official test runs at 473x473). ``output_size``: the scores are resized to it
    before the argmax (default: the image size).
    """
    images = tf.convert_to_tensor(images, tf.float32)
    size = tf.shape(images)[1:3] if output_size is None else tf.constant(output_size, tf.int32)
    if input_size is not None:
        images = _resize(images, input_size)
    scores = inference(forward, images, flip, flip_pairs)
    if input_size is not None or output_size is not None:
        scores = _resize(scores, size)
    return tf.argmax(scores, axis=-1, output_type=tf.int32)


def predict_labels(forward, images, mode="whole", scales=(1.0,), flip=False,
                   crop_size=(512, 1024), base_size=None, stride=None, flip_pairs=(),
                   input_size=None, output_size=None):
    """int32 train ids [H, W] (NumPy) of one normalized image [1, H, W, 3].

    ``mode``: "whole" (one pass on the full image, :func:`whole_image_labels`), "sliding"
    (windows at scale 1) or "multiscale" (``scales`` and ``flip`` with the official combination
    rule); ``input_size`` and ``output_size`` as in :func:`whole_image_labels`.
    """
    if mode == "whole":
        return whole_image_labels(forward, images, input_size, output_size, flip,
                                  flip_pairs)[0].numpy()
    if mode not in MODES:
        raise ValueError(f"inference mode must be whole, sliding or multiscale, got {mode!r}")
    images = tf.convert_to_tensor(images, tf.float32)
    output_size = tuple(output_size or images.shape[1:3])
    if input_size is not None:
        images = _resize(images, input_size)
    if mode == "sliding":
        scores = sliding_window(forward, images, crop_size, stride, flip, flip_pairs)
    else:
        scores = multi_scale_inference(forward, images, scales, flip, crop_size, base_size,
                                       stride, flip_pairs=flip_pairs)
    if output_size != tuple(scores.shape[1:3]):
        scores = _resize(scores, output_size)
    return tf.argmax(scores[0], axis=-1, output_type=tf.int32).numpy()


def fixed_input_size(model):
    """(height, width) of a model built for one input size, or None (HRNetV2 takes any size)."""
    height, width = model.inputs[0].shape[1:3]
    return None if height is None or width is None else (int(height), int(width))


def segment_images(model, images):
    """The ``segment`` serving function: uint8 RGB [B, H, W, 3] -> int32 train ids [B, H, W] at
    the input size, in TF ops: ``model.info.normalization``, then :func:`whole_image_labels` (a
    model with a fixed input size gets the images resized to it)."""
    info = getattr(model, "info", None)
    x = normalize(images, info.normalization if info is not None else IMAGENET)
    return whole_image_labels(lambda t: model(t, training=False), x,
                              input_size=fixed_input_size(model))


__all__ = [
    "MODES",
    "fixed_input_size",
    "inference",
    "multi_scale_inference",
    "predict_labels",
    "resized_shape",
    "segment_images",
    "sliding_window",
    "swap_channels",
    "whole_image_labels",
    "window_starts",
]
