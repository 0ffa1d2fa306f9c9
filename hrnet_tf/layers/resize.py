"""Spatial resizing that matches PyTorch's `F.interpolate` modes used by the official HRNet code.

* ``"nearest"``: `nn.Upsample(scale_factor=2**k, mode="nearest")` (classification, pose, detection).
  An integer factor is a broadcast and a reshape (every pixel repeated f x f times): exact, and unlike
  TF's resize op its gradient compiles under XLA (``ResizeNearestNeighborGrad`` has no XLA CPU kernel)
  and it is faster in graph mode. Resizing to an arbitrary size uses TF's half-pixel nearest, which
  picks the same pixels as PyTorch whenever the ratio is an integer.
* ``"bilinear"``: `F.interpolate(mode="bilinear", align_corners=False)` (segmentation, landmarks);
  identical to TF's half-pixel-centre bilinear without antialiasing.
* ``"bilinear_align_corners"``: `align_corners=True` (HRNet-OCR checkpoints). Keras has no such mode.
  On TensorFlow it is ``ResizeBilinear(align_corners=True, half_pixel_centers=False)``, the same
  formula, which TFLite keeps as one RESIZE_BILINEAR that XNNPACK runs; on the other backends two
  gathers and a lerp per axis.

Target sizes may be dynamic (``None`` dimensions in a functional model); on the TensorFlow backend
they are then tensors, which `keras.ops.image.resize` refuses, so we call `tf.image.resize` there.
"""

import keras
from keras import ops

from hrnet_tf.errors import ConfigError

RESIZE_METHODS = ("nearest", "bilinear", "bilinear_align_corners")


def check_method(method):
    if method not in RESIZE_METHODS:
        raise ConfigError(f"resize method must be one of {RESIZE_METHODS}, got {method!r}")
    return method


def spatial_size(x):
    """(height, width) of an NHWC tensor: python ints where static, scalar tensors where dynamic."""
    shape = ops.shape(x)
    return shape[1], shape[2]


def _is_static(size):
    return all(isinstance(s, int) for s in size)


def resize(x, size, method="bilinear"):
    """Resize NHWC ``x`` to ``size`` = (height, width) with a PyTorch-equivalent ``method``."""
    check_method(method)
    if method == "bilinear_align_corners":
        return _resize_align_corners(x, size)
    if keras.backend.backend() == "tensorflow" and not _is_static(size):
        import tensorflow as tf

        out = tf.image.resize(x, tf.stack([size[0], size[1]]), method=method)
    else:
        out = ops.image.resize(x, tuple(int(s) for s in size), interpolation=method)
    # tf.image.resize returns float32 for bilinear; keep mixed-precision dtypes intact.
    return ops.cast(out, x.dtype)


def upsample(x, factor, method="nearest", target=None):
    """Upsample by an integer ``factor``, or to ``target``'s spatial size when given.

    Fixed factors are what the classification and pose code do (inputs must then be divisible by 32);
    resizing to the target tensor is what segmentation does and works for any input size.
    """
    if target is not None:
        return resize(x, spatial_size(target), method)
    if method == "nearest":
        return repeat_pixels(x, factor)
    h, w = spatial_size(x)
    return resize(x, (h * factor, w * factor), method)


def repeat_pixels(x, factor):
    """Nearest-neighbour upsampling by an integer factor: each pixel becomes a factor x factor block.

    Built from 4-D concatenations and reshapes only: concatenating ``k`` copies along channels and
    reading the result as ``k`` times as many columns repeats every column; the same along the
    width, read as rows, repeats every row. TFLite's XNNPACK delegate takes both ops (concatenations
    of at most 4 inputs, hence factor 8 as 4 then 2), while ``RESIZE_NEAREST_NEIGHBOR`` and
    ``BROADCAST_TO`` would split the graph into partitions with reference kernels between them.
    """
    for k in _repeat_steps(factor):
        _, h, w, c = ops.shape(x)
        columns = ops.reshape(ops.concatenate([x] * k, axis=-1), (-1, h, w * k, c))
        x = ops.reshape(ops.concatenate([columns] * k, axis=2), (-1, h * k, w * k, c))
    return x


def _repeat_steps(factor):
    """``factor`` as a product of steps of at most 4 where possible: 8 -> [4, 2], 6 -> [3, 2]."""
    steps = []
    while factor > 1:
        step = next((k for k in (4, 3, 2) if factor % k == 0), factor)
        steps.append(step)
        factor //= step
    return steps


def _lerp_axis(x, out_len, axis):
    in_len = ops.shape(x)[axis]
    scale = ops.cast(in_len - 1, "float32") / ops.cast(ops.maximum(out_len - 1, 1), "float32")
    pos = ops.cast(ops.arange(out_len), "float32") * scale
    lo = ops.cast(ops.floor(pos), "int32")
    lo = ops.minimum(lo, in_len - 1)
    hi = ops.minimum(lo + 1, in_len - 1)
    frac = pos - ops.cast(lo, "float32")
    frac_shape = [1, 1, 1, 1]
    frac_shape[axis] = -1
    frac = ops.cast(ops.reshape(frac, frac_shape), x.dtype)
    x_lo = ops.take(x, lo, axis=axis)
    x_hi = ops.take(x, hi, axis=axis)
    return x_lo + (x_hi - x_lo) * frac


def _resize_align_corners(x, size):
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        out = tf.raw_ops.ResizeBilinear(images=x, size=tf.stack([size[0], size[1]]),
                                        align_corners=True, half_pixel_centers=False)
        return ops.cast(out, x.dtype)
    x = _lerp_axis(x, size[0], axis=1)
    return _lerp_axis(x, size[1], axis=2)
