"""Affine crops in TensorFlow ops, for tf.data pipelines and serving graphs (no cv2, no py_function).

The official pose code crops with ``cv2.warpAffine(image, M, (W, H), flags=INTER_LINEAR)``, where
``M`` maps source pixels to output pixels and pixel centres sit on integer coordinates. Here the
same crop is ``warp_affine(image, M, (W, H))``: it inverts ``M`` and hands the output-to-source map
to ``ImageProjectiveTransformV3`` (bilinear, zeros outside), which uses the same integer-centre
convention. ``similarity_matrix`` is the official ``get_affine_transform`` in closed form.

Matrices are 2x3 (``[..., 2, 3]`` for a batch): ``similarity_matrix``, ``invert_affine``,
``compose_affine`` and ``transform_points`` take any leading batch shape.

    >>> m = similarity_matrix([100.0, 80.0], [0.96, 1.28], 0.0, (192, 256))
    >>> crop = warp_affine(tf.zeros([200, 300, 3]), m, (192, 256))
    >>> crop.shape
    TensorShape([256, 192, 3])
    >>> similarity_matrix(tf.zeros([5, 2]), tf.ones([5, 2]), 0.0, (48, 64)).shape
    TensorShape([5, 2, 3])
"""

import math

import tensorflow as tf

PIXEL_STD = 200.0


def similarity_matrix(center, scale, rotation, output_size, inverse=False, pixel_std=PIXEL_STD):
    """The 2x3 matrix of the official ``get_affine_transform(center, scale, rot, output_size)``.

    The official code (``lib/utils/transforms.py``) builds it from three point pairs (box centre ->
    output centre, a point half a box width above the centre rotated by ``rot`` -> the point half an
    output width above the output centre, and a perpendicular third point); those pairs always
    define a similarity, so it is ``k * R(-rot)`` with ``k = output_width / (scale_x * 200)``,
    translated so that the centres meet. Only ``scale[..., 0]`` matters, as in the original.

    Args:
      center: [..., 2] box centre (x, y) in source pixels.
      scale: [..., 2] box size / 200 (only the width is used).
      rotation: degrees (scalar or [...]), counter-clockwise in the image as the official code.
      output_size: (width, height) of the crop (Python numbers or scalar tensors).
      inverse: return the output -> source map instead (the official ``inv=1``).
    Returns:
      [..., 2, 3] float32.
    """
    center = tf.cast(tf.convert_to_tensor(center), tf.float32)
    scale = tf.cast(tf.convert_to_tensor(scale), tf.float32)
    out_w = tf.cast(output_size[0], tf.float32)
    out_h = tf.cast(output_size[1], tf.float32)
    zoom = out_w / (scale[..., 0] * pixel_std)
    theta = tf.cast(rotation, tf.float32) * (math.pi / 180.0) + tf.zeros_like(zoom)
    cos, sin = tf.cos(theta), tf.sin(theta)
    out_center = tf.stack([out_w * 0.5, out_h * 0.5])
    if inverse:
        # source = R(rot) / k (output - output_centre) + centre
        linear = _matrix_2x2(cos, -sin, sin, cos) / zoom[..., None, None]
        offset = center - tf.linalg.matvec(linear, out_center)
    else:
        linear = _matrix_2x2(cos, sin, -sin, cos) * zoom[..., None, None]
        offset = out_center - tf.linalg.matvec(linear, center)
    return tf.concat([linear, offset[..., None]], axis=-1)


def _matrix_2x2(a, b, c, d):
    return tf.stack([tf.stack([a, b], axis=-1), tf.stack([c, d], axis=-1)], axis=-2)


def invert_affine(matrix):
    """Inverse of a 2x3 affine matrix (as a 2x3 matrix; batches ``[..., 2, 3]`` too)."""
    linear, offset = matrix[..., :2], matrix[..., 2]
    inv_linear = tf.linalg.inv(linear)
    return tf.concat([inv_linear, -tf.linalg.matvec(inv_linear, offset)[..., None]], axis=-1)


def compose_affine(outer, inner):
    """The 2x3 matrix of ``outer(inner(x))``."""
    linear = tf.matmul(outer[..., :2], inner[..., :2])
    offset = tf.linalg.matvec(outer[..., :2], inner[..., 2]) + outer[..., 2]
    return tf.concat([linear, offset[..., None]], axis=-1)


def horizontal_flip_matrix(image_width):
    """The 2x3 matrix of the official flip ``x -> width - x - 1``."""
    w = tf.cast(image_width, tf.float32)
    return tf.stack([tf.stack([-1.0, 0.0, w - 1.0]), tf.constant([0.0, 1.0, 0.0])])


def transform_points(points, matrix):
    """Applies a 2x3 matrix to points: ``points`` [..., K, 2] with ``matrix`` [..., 2, 3] (the same
    leading shape, or none: one matrix for all points).

    >>> transform_points(tf.constant([[1.0, 2.0]]), tf.constant([[2.0, 0, 1], [0, 2.0, 0]])).numpy()
    array([[3., 4.]], dtype=float32)
    """
    points = tf.cast(points, tf.float32)
    matrix = tf.cast(matrix, tf.float32)
    return tf.einsum("...ij,...kj->...ki", matrix[..., :2], points) + matrix[..., None, :, 2]


def warp_affine(image, matrix, output_size, interpolation="BILINEAR", fill_value=0.0):
    """``cv2.warpAffine(image, matrix, output_size)`` for one [H, W, C] image, in TF ops.

    ``matrix`` maps source to output pixels (the cv2 convention); the result is float32
    [output_height, output_width, C], zeros where the crop leaves the image. A uint8 image (what
    the official code warps: ``cv2.imread`` output) gives whole grey levels rounded to nearest, as
    ``cv2.warpAffine`` does; TF's own uint8 kernel truncates, a bias of half a grey level, and is
    slower than warping in float32 and rounding.
    """
    out_w, out_h = int(output_size[0]), int(output_size[1])
    image = tf.convert_to_tensor(image)
    integer_input = image.dtype == tf.uint8
    image = tf.cast(image, tf.float32)
    to_source = invert_affine(tf.cast(matrix, tf.float32))
    transform = tf.concat([tf.reshape(to_source, [6]), tf.zeros([2])], axis=0)
    warped = tf.raw_ops.ImageProjectiveTransformV3(
        images=image[None],
        transforms=transform[None],
        output_shape=tf.constant([out_h, out_w], tf.int32),
        fill_value=tf.constant(fill_value, tf.float32),
        interpolation=interpolation,
        fill_mode="CONSTANT",
    )
    return tf.round(warped[0]) if integer_input else warped[0]


def warp_affine_cv2(image, matrix, output_size):
    """``cv2.warpAffine(image, matrix, output_size, flags=cv2.INTER_LINEAR)`` itself, run inside a
    ``tf.data`` map (``tf.numpy_function``) on one uint8 [H, W, C] image; float32 result.

    The official training pipelines warp with exactly this call, and it is about 3x faster on CPU
    than TensorFlow's projective-transform kernel (``benchmarks/README.md``, pose pipeline). For
    training input only: a graph holding it cannot be exported (use :func:`warp_affine` there).
    cv2 releases the GIL while it warps, so parallel map calls run side by side.
    """
    import cv2

    out_w, out_h = int(output_size[0]), int(output_size[1])

    def warp(pixels, m):
        return cv2.warpAffine(pixels, m.astype("float64"), (out_w, out_h), flags=cv2.INTER_LINEAR)

    image = tf.convert_to_tensor(image)
    warped = tf.numpy_function(warp, [image, tf.cast(matrix, tf.float32)], image.dtype,
                               stateful=False)
    warped = tf.reshape(warped, [out_h, out_w, image.shape[-1] or tf.shape(image)[-1]])
    return tf.cast(warped, tf.float32)


__all__ = [
    "PIXEL_STD",
    "compose_affine",
    "horizontal_flip_matrix",
    "invert_affine",
    "similarity_matrix",
    "transform_points",
    "warp_affine",
    "warp_affine_cv2",
]
