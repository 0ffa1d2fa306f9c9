"""Network outputs -> label maps: the test-time inference of the official HRNet segmentation code
(whole image, sliding window, multi-scale plus flip) and the uint8 serving function.

Every function takes ``forward``, the network as a callable ``x -> logits`` (a Keras model, or
``hrnet_tf.evaluation.forward_function(model)``), and normalized float images.

* ``inference`` (official ``BaseDataset.inference``): logits resized bilinearly to the input size;
  with ``flip`` the prediction on the mirrored input is mirrored back -- its left/right channels
  swapped for datasets with ``flip_pairs`` (LIP, ``lip.py``) -- and averaged with the plain one;
  returns ``exp`` of the averaged logits (not softmax).
* ``sliding_window``: windows of the TEST size (official ``TEST.IMAGE_SIZE``, Cityscapes
  1024x2048), overlapping scores averaged. Protocol ``cityscapes`` (``Cityscapes.
  multi_scale_inference``): stride = the window, the last row/column shifted back to end at the
  border. Protocol ``generic`` (``BaseDataset.multi_scale_inference``: PASCAL-Context, LIP, any
  other dataset): stride 2/3 of the window, the image padded to the window if smaller, the edge
  windows padded with the normalized black (-mean/std), not shifted back.
* ``multi_scale_inference``: for every scale the image's long side is resized to
  ``base_size * scale`` (``TEST.BASE_SIZE``); ``cityscapes`` runs scales <= 1 on the whole
  resized image, ``generic`` only images whose long side fits in the shorter test side (padded to
  the test size); the others by sliding window; each result is resized bilinearly to the original
  size and the scales are **summed** (sums of exp(logits), the official combination rule).
  Score resizes use ``align_corners`` = ``MODEL.ALIGN_CORNERS`` (HRNet-OCR models).
* ``whole_image_labels``: the whole-image path as TF ops on a batch, to train ids;
  ``segment_images`` is it on uint8 images: the exported ``segment`` signature, so an exported
  model answers what evaluation and ``predict`` answer.

    >>> import hrnet_tf, numpy as np
    >>> model = hrnet_tf.HRNetV2("tiny", num_classes=3)
    >>> image = np.zeros((1, 64, 96, 3), "float32")
    >>> multi_scale_inference(model, image, scales=(0.5, 1.0, 1.5), flip=True,
    ...                       crop_size=(64, 64), protocol="generic").shape.as_list()
    [1, 64, 96, 3]
"""

import numpy as np
import tensorflow as tf

from hrnet_tf.data.images import normalize
from hrnet_tf.data.normalization import IMAGENET

MODES = ("whole", "sliding", "multiscale")
PROTOCOLS = ("cityscapes", "generic")


def _resize(x, size, align_corners=False):
    if align_corners:
        from hrnet_tf.layers.resize import resize

        if isinstance(size, tf.Tensor):
            size = (size[0], size[1])
        return resize(tf.convert_to_tensor(x, tf.float32), tuple(size), "bilinear_align_corners")
    return tf.image.resize(x, tf.cast(size, tf.int32), method="bilinear")


def main_output(outputs):
    """The prediction among a model's outputs: HRNet-OCR's ``out`` (official
    ``TEST.OUTPUT_INDEX`` -1), or the one tensor of HRNetV2."""
    return outputs["out"] if isinstance(outputs, dict) else outputs


def _logits(forward, images, align_corners=False):
    logits = tf.cast(main_output(forward(images)), tf.float32)
    return _resize(logits, tf.shape(images)[1:3], align_corners)


def swap_channels(scores, flip_pairs):
    """``scores`` [..., C] with the channels of every (left, right) pair exchanged.

    >>> swap_channels(tf.constant([[0.0, 1.0, 2.0]]), ((0, 2),)).numpy().tolist()
    [[2.0, 1.0, 0.0]]
    """
    order = np.arange(scores.shape[-1])
    for left, right in flip_pairs:
        order[left], order[right] = right, left
    return tf.gather(scores, order, axis=-1)


def inference(forward, images, flip=False, flip_pairs=(), align_corners=False):
    """exp of the (flip-averaged) logits at the input size, [N, H, W, C] (official
    ``BaseDataset.inference``; the logits resized with ``MODEL.ALIGN_CORNERS``)."""
    images = tf.convert_to_tensor(images, tf.float32)
    pred = _logits(forward, images, align_corners)
    if flip:
        mirrored = _logits(forward, tf.reverse(images, axis=[2]), align_corners)
        if flip_pairs:
            mirrored = swap_channels(mirrored, flip_pairs)
        pred = (pred + tf.reverse(mirrored, axis=[2])) * 0.5
    return tf.exp(pred)


def window_starts(length, crop, stride):
    """Start offsets of the Cityscapes sliding windows along one axis (last one shifted back).

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


def generic_window_starts(length, crop, stride):
    """Start offsets of the generic (``BaseDataset``) windows along one axis of an image already
    padded to at least ``crop``: every ``stride``, the edge windows not shifted back (they are
    padded instead).

    >>> generic_window_starts(700, 480, 320)
    [0, 320]
    """
    count = int(np.ceil((length - crop) / stride)) + 1
    return [k * stride for k in range(count)]


def default_stride(crop_size, protocol):
    """The official stride: the window size (Cityscapes), ``int(2/3 * size)`` (generic)."""
    if protocol == "cityscapes":
        return tuple(int(c) for c in crop_size)
    return tuple(int(c * 2.0 / 3.0) for c in crop_size)


def _pad_to(images, size, pad_value):
    """``images`` [1, h, w, 3] padded at the bottom/right to at least ``size`` with
    ``pad_value`` (the normalized black, official ``pad_image`` with ``-mean/std``)."""
    height, width = int(images.shape[1]), int(images.shape[2])
    pad_h, pad_w = max(size[0] - height, 0), max(size[1] - width, 0)
    if not (pad_h or pad_w):
        return images
    value = tf.reshape(tf.constant(pad_value, tf.float32), (1, 1, 1, -1))
    canvas = tf.zeros((1, height + pad_h, width + pad_w, 1), tf.float32) + value
    inside = tf.pad(tf.ones((1, height, width, 1), tf.float32), [[0, 0], [0, pad_h], [0, pad_w],
                                                                  [0, 0]])
    padded = tf.pad(images, [[0, 0], [0, pad_h], [0, pad_w], [0, 0]])
    return padded * inside + canvas * (1.0 - inside)


def sliding_window(forward, images, crop_size, stride=None, flip=False, flip_pairs=(),
                   protocol="cityscapes", pad_value=None, align_corners=False, windows=None):
    """Scores of [1, H, W, 3] ``images`` from ``crop_size`` windows, overlaps averaged, [1, H, W, C].

    ``protocol="cityscapes"`` (official ``Cityscapes.multi_scale_inference``): the last windows
    shifted back to end at the border, no padding (an image smaller than the window runs whole).
    ``"generic"`` (``BaseDataset.multi_scale_inference``): an image smaller than the window is
    padded to it first, and windows reaching the bottom/right border are padded to the window size
    with ``pad_value`` (their scores cropped back). ``stride``: default :func:`default_stride`.
    ``windows``: a list that gets the (y0, x0, y1, x1) of every window run.
    """
    images = tf.convert_to_tensor(images, tf.float32)
    height, width = int(images.shape[1]), int(images.shape[2])
    crop_h, crop_w = (int(c) for c in crop_size)
    stride_h, stride_w = stride if stride else default_stride(crop_size, protocol)
    if protocol == "generic":
        images = _pad_to(images, (crop_h, crop_w), _pad_value(pad_value))
        starts = generic_window_starts
    else:
        starts = window_starts
    new_h, new_w = int(images.shape[1]), int(images.shape[2])
    total = None
    count = np.zeros((1, new_h, new_w, 1), np.float32)
    for y0 in starts(new_h, crop_h, stride_h):
        for x0 in starts(new_w, crop_w, stride_w):
            y1, x1 = min(y0 + crop_h, new_h), min(x0 + crop_w, new_w)
            window = images[:, y0:y1, x0:x1]
            if protocol == "generic" and (y1 == new_h or x1 == new_w):
                window = _pad_to(window, (crop_h, crop_w), _pad_value(pad_value))
            scores = inference(forward, window, flip, flip_pairs, align_corners).numpy()
            scores = scores[:, : y1 - y0, : x1 - x0]
            if windows is not None:
                windows.append((y0, x0, y1, x1))
            if total is None:
                total = np.zeros((1, new_h, new_w, scores.shape[-1]), np.float32)
            total[:, y0:y1, x0:x1] += scores
            count[:, y0:y1, x0:x1] += 1
    return tf.constant((total / count)[:, :height, :width])


def _pad_value(pad_value):
    if pad_value is not None:
        return np.asarray(pad_value, np.float32)
    return np.asarray(normalize(np.zeros((1, 1, 1, 3), np.uint8), IMAGENET), np.float32)[0, 0, 0]


def resized_shape(height, width, long_size):
    """The official ``image_resize``: long side to ``long_size``, other side rounded."""
    if height > width:
        return long_size, int(width * long_size / height + 0.5)
    return int(height * long_size / width + 0.5), long_size


def multi_scale_inference(forward, images, scales=(1.0,), flip=False, crop_size=(1024, 2048),
                          base_size=None, stride=None, flip_pairs=(), protocol="cityscapes",
                          pad_value=None, align_corners=False, windows=None):
    """Sum over ``scales`` of the scores resized to the original size, [1, H, W, C]: the official
    ``multi_scale_inference`` (``TEST.SCALE_LIST``, ``TEST.FLIP_TEST``).

    ``crop_size``: the TEST size (official ``TEST.IMAGE_SIZE``: Cityscapes 1024x2048, not the
    512x1024 training crop). For every scale the long side is resized to ``base_size * scale``
    (``TEST.BASE_SIZE``; None: the image's own long side). ``protocol="cityscapes"``: scales <= 1
    run the whole resized image, larger ones :func:`sliding_window` at stride = test size.
    ``"generic"``: the whole image (padded to the test size) only when its long side fits in the
    shorter test side, else padded windows at 2/3 of the test size. The scores are resized to the
    original size (``MODEL.ALIGN_CORNERS``) and summed (sums of exp(logits)).
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
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
        if protocol == "cityscapes" and scale <= 1.0:
            scores = inference(forward, scaled, flip, flip_pairs, align_corners)
            if windows is not None:
                windows.append((0, 0) + size)
        elif protocol == "generic" and max(size) <= min(crop_size):
            padded = _pad_to(scaled, crop_size, _pad_value(pad_value))
            scores = inference(forward, padded, flip, flip_pairs, align_corners)
            scores = scores[:, : size[0], : size[1]]
            if windows is not None:
                windows.append((0, 0) + tuple(int(c) for c in crop_size))
        else:
            scores = sliding_window(forward, scaled, crop_size, stride, flip, flip_pairs,
                                    protocol, pad_value, align_corners, windows)
        if size != (height, width):
            scores = _resize(scores, (height, width), align_corners)
        final = scores if final is None else final + scores
    return final


def whole_image_labels(forward, images, input_size=None, output_size=None, flip=False,
                       flip_pairs=(), align_corners=False):
    """int32 train ids [N, h, w] of normalized ``images`` [N, H, W, 3] in one pass each, TF ops.

    ``input_size`` (h, w): the images are resized to it first (a model with a fixed input size;
    LIP, whose official test runs at 473x473). ``output_size``: the scores are resized to it
    before the argmax (default: the image size). ``align_corners``: ``MODEL.ALIGN_CORNERS`` for
    the score resizes.
    """
    images = tf.convert_to_tensor(images, tf.float32)
    size = tf.shape(images)[1:3] if output_size is None else tf.constant(output_size, tf.int32)
    if input_size is not None:
        images = _resize(images, input_size)
    scores = inference(forward, images, flip, flip_pairs, align_corners)
    if input_size is not None or output_size is not None:
        scores = _resize(scores, size, align_corners)
    return tf.argmax(scores, axis=-1, output_type=tf.int32)


def predict_labels(forward, images, mode="whole", scales=(1.0,), flip=False,
                   crop_size=(1024, 2048), base_size=None, stride=None, flip_pairs=(),
                   input_size=None, output_size=None, protocol="cityscapes", pad_value=None,
                   align_corners=False):
    """int32 train ids [H, W] (NumPy) of one normalized image [1, H, W, 3].

    ``mode``: "whole" (one pass on the full image, :func:`whole_image_labels`), "sliding"
    (windows of ``crop_size`` at scale 1) or "multiscale" (:func:`multi_scale_inference`: the
    official test, ``scales`` and ``flip``, the ``protocol`` of the dataset); ``crop_size`` is
    the test size; ``input_size`` and ``output_size`` as in :func:`whole_image_labels`.
    """
    if mode == "whole":
        return whole_image_labels(forward, images, input_size, output_size, flip,
                                  flip_pairs, align_corners)[0].numpy()
    if mode not in MODES:
        raise ValueError(f"inference mode must be whole, sliding or multiscale, got {mode!r}")
    images = tf.convert_to_tensor(images, tf.float32)
    output_size = tuple(output_size or images.shape[1:3])
    if input_size is not None:
        images = _resize(images, input_size)
    if mode == "sliding":
        scores = sliding_window(forward, images, crop_size, stride, flip, flip_pairs, protocol,
                                pad_value, align_corners)
    else:
        scores = multi_scale_inference(forward, images, scales, flip, crop_size, base_size,
                                       stride, flip_pairs, protocol, pad_value, align_corners)
    if output_size != tuple(scores.shape[1:3]):
        scores = _resize(scores, output_size, align_corners)
    return tf.argmax(scores[0], axis=-1, output_type=tf.int32).numpy()


def output_classes(model):
    """The number of classes a segmentation model predicts (HRNet-OCR: its ``out`` head)."""
    shape = model.output_shape
    if isinstance(shape, dict):
        shape = shape["out"]
    elif isinstance(shape, list):  # Keras lists dict outputs by sorted key: aux, out
        shape = shape[-1]
    return int(shape[-1])


def prediction_model(model):
    """``model`` with one output, its prediction: HRNet-OCR's ``out`` head (the same layers and
    weights; Keras lists dict outputs by sorted key, aux then out); any other model as it is.
    TFLite and ONNX exports run this one output."""
    if not isinstance(getattr(model, "output_shape", None), list) or len(model.outputs) != 2:
        return model
    from hrnet_tf.models.model import HRNetModel

    return HRNetModel(model.inputs, model.outputs[-1], info=getattr(model, "info", None),
                      name=model.name)


def model_align_corners(model):
    """Whether a model was built with ``MODEL.ALIGN_CORNERS`` (HRNet-OCR): its score resizes
    follow."""
    info = getattr(model, "info", None)
    return getattr(info, "upsample_method", None) == "bilinear_align_corners"


def resize_uint8(images, size):
    """uint8 ``images`` [N, H, W, 3] (eager) resized to ``size`` by ``cv2.resize(INTER_LINEAR)``
    on the uint8 pixels, as the official LIP test does (``lip.py``: the decoded image resized to
    the test size before ``input_transform``; cv2's fixed-point rounding included)."""
    import cv2

    height, width = (int(v) for v in size)
    array = np.asarray(images)
    return np.stack([cv2.resize(np.ascontiguousarray(a), (width, height),
                                interpolation=cv2.INTER_LINEAR) for a in array])


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
                              input_size=fixed_input_size(model),
                              align_corners=model_align_corners(model))


__all__ = [
    "MODES",
    "PROTOCOLS",
    "default_stride",
    "fixed_input_size",
    "generic_window_starts",
    "main_output",
    "model_align_corners",
    "output_classes",
    "prediction_model",
    "inference",
    "multi_scale_inference",
    "predict_labels",
    "resize_uint8",
    "resized_shape",
    "segment_images",
    "sliding_window",
    "swap_channels",
    "whole_image_labels",
    "window_starts",
]
