"""The landmark codec: the official face geometry, targets and decoding, in TensorFlow ops.

The training pipeline, the evaluator, ``predict`` and the SavedModel ``landmarks`` signature all
call these functions. The formulas are the official ones (HRNet-Facial-Landmark-Detection:
``lib/utils/transforms.py get_transform / transform_pixel / generate_target``,
``lib/core/evaluation.py get_preds / decode_preds``, ``lib/datasets/*.py __getitem__``), quirks
included, and they are not the pose ones:

* the transform is ``get_transform(center, scale, size, rot)``: ``x -> size / (200 s) * R(-rot)
  (x - center) + size / 2``, with ``s`` the record's scale times 1.25;
* ``transform_pixel`` works on 1-based pixels: ``trunc(M (p - 1)) + 1`` (``astype(int) + 1``);
* a target's Gaussian sits at ``transform_pixel(p + 1) - 1 = trunc(M p)`` on the heatmap, only for
  points with ``y > 0``; no target weights;
* decoding takes the argmax as 1-based coordinates (``get_preds``; zeroed where the maximum is
  <= 0), moves a quarter pixel toward the larger neighbour when ``1 < px < W`` and ``1 < py < H``
  (1-based), adds 0.5, and maps back with ``transform_pixel(invert=1)``, so the official points are
  whole pixels. Averaged over the truncation, that is the float point plus 0.5 pixel.

Two more decodings (``decoding=``):

* ``"float"``: the official coordinates without the final ``astype(int) + 1``, i.e.
  ``M^-1 (c - 1)`` for the 1-based, quarter-shifted, +0.5 heatmap coordinate ``c``;
* ``"dark"``: DARK (Zhang et al., CVPR 2020: "Distribution-Aware Coordinate Representation"):
  the heatmap is blurred with a Gaussian (kernel ``6 sigma - 1`` rounded up to odd, rescaled to
  its maximum), its log expanded to second order at the argmax, the Newton step ``-H^-1 g``
  added (strictly inside a 2-pixel border, non-singular Hessian); then ``M^-1 (m + 0.5)`` as for
  float.

Point geometry runs in float64 (the official code computes it in NumPy float64, so the integer
truncations agree); the face centre is rounded to float32 first, as the official ``torch.Tensor``
centre is. hrnet_tf/testing/landmarks_reference.py re-derives every formula loop by loop.

    >>> codec = LandmarkCodec(image_size=64, heatmap_size=16, sigma=1.5)
    >>> center, scale = face_box_to_center_scale(tf.constant([[10.0, 20.0, 40.0, 30.0]]))
    >>> center.numpy().tolist(), scale.numpy().tolist()
    ([[30.0, 35.0]], [0.2])
    >>> heatmaps = codec.encode(tf.constant([[30.0, 35.0]], tf.float64),
    ...                         codec.heatmap_matrix(center[0], codec.padded(scale[0])))
    >>> heatmaps.shape
    TensorShape([16, 16, 1])
"""

import math

import tensorflow as tf

from hrnet_tf.data import affine
from hrnet_tf.data.images import normalize
from hrnet_tf.data.normalization import IMAGENET

BOX_PADDING = 1.25  # lib/datasets/*.py: scale *= 1.25
DECODINGS = ("official", "float", "dark")


# -- geometry ------------------------------------------------------------------------------------
def official_center(center):
    """The centre as the official code holds it: a float32 ``torch.Tensor`` (then float64)."""
    return tf.cast(tf.cast(center, tf.float32), tf.float64)


def transform_matrix(center, scale, size, rotation=0.0, dtype=tf.float64):
    """The 2x3 part of the official ``get_transform(center, scale, [size, size], rot)``.

    ``center`` [..., 2], ``scale`` [...] (box size / 200, already times 1.25), ``rotation`` degrees
    ([...] or a scalar), ``size`` the square output side. Returns [..., 2, 3] of ``dtype``.
    """
    center = tf.cast(center, dtype)
    scale = tf.cast(scale, dtype)
    size = tf.cast(size, dtype)
    h = 200.0 * scale
    zoom = size / h
    # t0 = [[size/h, 0, size (0.5 - cx/h)], [0, size/h, size (0.5 - cy/h)]]
    t0_offset = size * (0.5 - center / h[..., None])
    eye = tf.eye(2, dtype=dtype)
    if isinstance(rotation, (int, float)) and rotation == 0:
        # the official code skips the rotation block for rot == 0
        linear = eye * zoom[..., None, None]
        return tf.concat([linear, t0_offset[..., None]], axis=-1)
    theta = -tf.cast(rotation, dtype) * (math.pi / 180.0) + tf.zeros_like(zoom)
    cos, sin = tf.cos(theta), tf.sin(theta)
    # t = T^-1 R T t0 with T a shift by -size/2 and R = [[cos, -sin], [sin, cos]] of -rot
    rot = tf.stack([tf.stack([cos, -sin], -1), tf.stack([sin, cos], -1)], -2)
    half = size * 0.5 + tf.zeros_like(center)
    linear = rot * zoom[..., None, None]
    offset = tf.linalg.matvec(rot, t0_offset - half) + half
    # a drawn rotation of exactly 0 is skipped as well (``if not rot == 0``)
    unrotated = tf.equal(theta, 0.0)
    linear = tf.where(unrotated[..., None, None], eye * zoom[..., None, None], linear)
    offset = tf.where(unrotated[..., None], t0_offset, offset)
    return tf.concat([linear, offset[..., None]], axis=-1)


def invert_matrix(matrix):
    """Inverse of [..., 2, 3] affine matrices (float64 kept)."""
    linear, offset = matrix[..., :2], matrix[..., 2]
    a, b, c, d = linear[..., 0, 0], linear[..., 0, 1], linear[..., 1, 0], linear[..., 1, 1]
    det = a * d - b * c
    inv = tf.stack([tf.stack([d, -b], -1), tf.stack([-c, a], -1)], -2) / det[..., None, None]
    return tf.concat([inv, -tf.linalg.matvec(inv, offset)[..., None]], axis=-1)


def apply_matrix(points, matrix):
    """``matrix`` [..., 2, 3] applied to points [..., K, 2] (the same dtype)."""
    return tf.einsum("...ij,...kj->...ki", matrix[..., :2], points) + matrix[..., None, :, 2]


def transform_pixel(points, matrix, invert=False):
    """Official ``transform_pixel`` of 1-based pixels [..., K, 2]: ``trunc(M (p - 1)) + 1`` (with
    ``M^-1`` when ``invert``), whole numbers in float64."""
    points = tf.cast(points, tf.float64)
    matrix = tf.cast(matrix, tf.float64)
    if invert:
        matrix = invert_matrix(matrix)
    moved = apply_matrix(points - 1.0, matrix)
    return tf.cast(tf.cast(moved, tf.int64), tf.float64) + 1.0


def face_box_to_center_scale(boxes):
    """Face boxes [..., 4] (x, y, w, h) -> centres [..., 2] (float32, as the official
    ``torch.Tensor`` centre) and scales [...] = max(w, h) / 200 (float64, before the 1.25
    padding), the convention of the official CSVs and of
    :func:`hrnet_tf.landmarks.sources.landmark_box_center_scale`."""
    boxes = tf.convert_to_tensor(boxes)
    x, y, w, h = tf.unstack(tf.cast(boxes, tf.float32), 4, axis=-1)
    w64, h64 = tf.unstack(tf.cast(boxes, tf.float64)[..., 2:], 2, axis=-1)
    return (tf.stack([x + w * 0.5, y + h * 0.5], -1),
            tf.maximum(w64, h64) * (1.0 / affine.PIXEL_STD))


# -- decoding pieces -----------------------------------------------------------------------------
def _flat_argmax(heatmaps):
    """(row-major index [N, L] of each map's maximum, maxima [N, L], map width) of NHWC maps."""
    heatmaps = tf.convert_to_tensor(heatmaps, tf.float32)
    shape = tf.shape(heatmaps)
    n, h, w, c = shape[0], shape[1], shape[2], shape[3]
    flat = tf.reshape(tf.transpose(heatmaps, [0, 3, 1, 2]), [n, c, h * w])
    return tf.argmax(flat, axis=2, output_type=tf.int32), tf.reduce_max(flat, axis=2), w


def argmax_1based(heatmaps):
    """Official ``get_preds`` on NHWC heatmaps: ([N, L, 2] 1-based x, y of the maximum, zeroed
    where the maximum is <= 0; [N, L] maxima)."""
    index, maxima, w = _flat_argmax(heatmaps)
    coords = tf.cast(tf.stack([index % w + 1, index // w + 1], axis=-1), tf.float64)
    return coords * tf.cast(maxima > 0.0, tf.float64)[..., None], maxima


def _at(per_point, y, x):
    """per_point [N, L, H, W] at integer (y, x) [N, L] (clipped inside)."""
    shape = tf.shape(per_point)
    y = tf.clip_by_value(y, 0, shape[2] - 1)
    x = tf.clip_by_value(x, 0, shape[3] - 1)
    return tf.gather_nd(per_point, tf.stack([y, x], axis=-1), batch_dims=2)


def quarter_offset(heatmaps, coords):
    """The official post-processing of ``decode_preds`` on 1-based coordinates: +-0.25 toward the
    larger neighbour where ``1 < px < W`` and ``1 < py < H`` (``px = floor(x)``)."""
    heatmaps = tf.convert_to_tensor(heatmaps, tf.float32)
    shape = tf.shape(heatmaps)
    h, w = shape[1], shape[2]
    px = tf.cast(tf.floor(coords[..., 0]), tf.int32)
    py = tf.cast(tf.floor(coords[..., 1]), tf.int32)
    inside = (px > 1) & (px < w) & (py > 1) & (py < h)
    per_point = tf.transpose(heatmaps, [0, 3, 1, 2])
    # hm[py - 1][px] - hm[py - 1][px - 2] and hm[py][px - 1] - hm[py - 2][px - 1] (0-based rows)
    dx = _at(per_point, py - 1, px) - _at(per_point, py - 1, px - 2)
    dy = _at(per_point, py, px - 1) - _at(per_point, py - 2, px - 1)
    shift = tf.cast(0.25 * tf.sign(tf.stack([dx, dy], -1)), tf.float64)
    return coords + shift * tf.cast(inside, tf.float64)[..., None]


def dark_kernel_size(sigma):
    """DARK's blur kernel: 6 sigma - 1 (11 for sigma 2, 17 for 3, DarkPose's settings), odd."""
    k = int(6 * sigma - 1)
    return k + 1 if k % 2 == 0 else max(k, 1)


def gaussian_kernel_1d(size):
    """``cv2.getGaussianKernel(size, 0)``: the fixed small kernels up to 7, else sigma
    ``0.3 ((size - 1) / 2 - 1) + 0.8``, normalized."""
    small = {1: [1.0], 3: [0.25, 0.5, 0.25], 5: [0.0625, 0.25, 0.375, 0.25, 0.0625],
             7: [0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125]}
    if size in small:
        return small[size]
    sigma = 0.3 * ((size - 1) * 0.5 - 1) + 0.8
    values = [math.exp(-((i - (size - 1) / 2) ** 2) / (2 * sigma * sigma)) for i in range(size)]
    total = sum(values)
    return [v / total for v in values]


def dark_coordinates(heatmaps, kernel_size):
    """DARK on NHWC heatmaps: 0-based sub-pixel maxima [N, L, 2] (float64) and the maxima."""
    heatmaps = tf.convert_to_tensor(heatmaps, tf.float32)
    shape = tf.shape(heatmaps)
    n, h, w, c = shape[0], shape[1], shape[2], shape[3]
    index, maxima, _ = _flat_argmax(heatmaps)
    valid = maxima > 0.0
    px = tf.where(valid, index % w, 0)
    py = tf.where(valid, index // w, 0)
    # Blur with zero padding (DarkPose pads by the kernel radius, blurs, crops), keep the maximum.
    k = tf.constant(gaussian_kernel_1d(kernel_size), tf.float32)
    per_map = tf.reshape(tf.transpose(heatmaps, [0, 3, 1, 2]), [n * c, h, w, 1])
    blurred = tf.nn.conv2d(per_map, tf.reshape(k, [kernel_size, 1, 1, 1]), 1, "SAME")
    blurred = tf.nn.conv2d(blurred, tf.reshape(k, [1, kernel_size, 1, 1]), 1, "SAME")
    blurred = tf.reshape(blurred, [n, c, h, w])
    origin = tf.reshape(maxima, [n, c, 1, 1])
    peak = tf.reduce_max(blurred, axis=[2, 3], keepdims=True)
    blurred = blurred * origin / tf.where(peak > 0, peak, 1.0)
    logs = tf.cast(tf.math.log(tf.maximum(blurred, 1e-10)), tf.float64)

    def at(dy, dx):
        return _at(logs, py + dy, px + dx)

    dx = 0.5 * (at(0, 1) - at(0, -1))
    dy = 0.5 * (at(1, 0) - at(-1, 0))
    dxx = 0.25 * (at(0, 2) - 2 * at(0, 0) + at(0, -2))
    dxy = 0.25 * (at(1, 1) - at(-1, 1) - at(1, -1) + at(-1, -1))
    dyy = 0.25 * (at(2, 0) - 2 * at(0, 0) + at(-2, 0))
    det = dxx * dyy - dxy * dxy
    inside = (px > 1) & (px < w - 2) & (py > 1) & (py < h - 2) & tf.not_equal(det, 0.0)
    safe = tf.where(inside, det, 1.0)
    # -H^-1 g with H = [[dxx, dxy], [dxy, dyy]]
    off_x = -(dyy * dx - dxy * dy) / safe
    off_y = -(-dxy * dx + dxx * dy) / safe
    coords = tf.cast(tf.stack([px, py], -1), tf.float64)
    offset = tf.where(inside[..., None], tf.stack([off_x, off_y], -1), 0.0)
    return coords + offset, maxima


def decode_heatmaps(heatmaps, centers, scales, decoding="official", sigma=1.5):
    """Heatmaps [N, h, w, L] of the crops of faces (``centers`` [N, 2], ``scales`` [N] times
    1.25) -> (points [N, L, 2] float64 in image pixels, maxima [N, L])."""
    if decoding not in DECODINGS:
        raise ValueError(f"decoding must be one of {DECODINGS}, got {decoding!r}")
    heatmaps = tf.convert_to_tensor(heatmaps, tf.float32)
    size = tf.shape(heatmaps)[2]
    matrix = transform_matrix(official_center(centers), scales, size)
    if decoding == "dark":
        coords, maxima = dark_coordinates(heatmaps, dark_kernel_size(sigma))
        return apply_matrix(coords + 0.5, invert_matrix(matrix)), maxima
    coords, maxima = argmax_1based(heatmaps)
    coords = quarter_offset(heatmaps, coords) + 0.5
    if decoding == "official":
        return transform_pixel(coords, matrix, invert=True), maxima
    return apply_matrix(coords - 1.0, invert_matrix(matrix)), maxima


# -- the codec -----------------------------------------------------------------------------------
class LandmarkCodec:
    """Crops, targets and decoding for one (square) input and heatmap size.

    Args:
      image_size: the side of the network input (256).
      heatmap_size: the heatmap side (64; default ``image_size / 4``).
      sigma: the Gaussian sigma in heatmap pixels (1.5; 300W 1.0); DARK's blur follows it.
      decoding: "official" (default), "float" or "dark" (module docstring).
      box_padding: the official ``scale *= 1.25``.
    """

    def __init__(self, image_size=256, heatmap_size=None, sigma=1.5, decoding="official",
                 box_padding=BOX_PADDING):
        self.image_size = int(image_size)
        self.heatmap_size = int(heatmap_size or self.image_size // 4)
        self.sigma = float(sigma)
        if decoding not in DECODINGS:
            raise ValueError(f"decoding must be one of {DECODINGS}, got {decoding!r}")
        self.decoding = decoding
        self.box_padding = float(box_padding)

    def padded(self, scale):
        """A record's scale (landmark box / 200) as the transforms take it: times 1.25."""
        return tf.cast(scale, tf.float64) * self.box_padding

    # -- geometry ------------------------------------------------------------------------------
    def input_matrix(self, center, scale, rotation=0.0):
        """The crop transform at the input size (``scale`` already padded)."""
        return transform_matrix(official_center(center), scale, self.image_size, rotation)

    def heatmap_matrix(self, center, scale, rotation=0.0):
        return transform_matrix(official_center(center), scale, self.heatmap_size, rotation)

    def crop(self, image, center, scale, rotation=0.0):
        """The [size, size, 3] float32 crop: ``cv2.warpAffine(image, get_transform(...))``,
        bilinear, zeros outside (whole grey levels for uint8 images)."""
        matrix = tf.cast(self.input_matrix(center, scale, rotation), tf.float32)
        return affine.warp_affine(image, matrix, (self.image_size, self.image_size))

    def crop_faces(self, image, centers, scales):
        """Evaluation crops [N, size, size, 3] of one image, one per face (scales padded)."""
        size = self.image_size
        return tf.map_fn(
            lambda cs: self.crop(image, cs[0], cs[1]),
            (tf.cast(centers, tf.float32), tf.cast(scales, tf.float64)),
            fn_output_signature=tf.TensorSpec([size, size, None], tf.float32))

    # -- targets -------------------------------------------------------------------------------
    def encode(self, points, heatmap_matrix):
        """Official targets of one face: points [L, 2] (source pixels, 0-based, float64) ->
        heatmaps [hm, hm, L] float32. Points with ``y <= 0`` get an empty map, as do Gaussians
        wholly off the map; a Gaussian sits at ``trunc(M p)`` (``transform_pixel(p + 1) - 1``)."""
        points = tf.cast(points, tf.float64)
        size = self.heatmap_size
        location = transform_pixel(points + 1.0, heatmap_matrix) - 1.0  # [L, 2], whole numbers
        radius = self.sigma * 3.0
        # generate_target: ul = int(pt - 3 sigma), br = int(pt + 3 sigma + 1) (toward zero);
        # the patch of np.arange(2r + 1) has its peak at index (2r + 1) // 2
        upper_left = tf.cast(tf.cast(location - radius, tf.int64), tf.float64)
        bottom_right = tf.cast(tf.cast(location + radius + 1.0, tf.int64), tf.float64)
        off_map = tf.reduce_any(upper_left >= size, -1) | tf.reduce_any(bottom_right < 0, -1)
        used = (points[:, 1] > 0) & ~off_map
        peak = tf.cast(upper_left + math.floor((2 * radius + 1) / 2), tf.float32)
        grid = tf.range(size, dtype=tf.float64)
        in_x = (grid[None] >= upper_left[:, :1]) & (grid[None] < bottom_right[:, :1])  # [L, W]
        in_y = (grid[None] >= upper_left[:, 1:]) & (grid[None] < bottom_right[:, 1:])  # [L, H]
        grid = tf.cast(grid, tf.float32)
        dx2 = tf.square(grid[None] - peak[:, :1])  # [L, W]
        dy2 = tf.square(grid[None] - peak[:, 1:])  # [L, H]
        gauss = tf.exp(-(dx2[:, None, :] + dy2[:, :, None]) / (2.0 * self.sigma**2))
        window = in_y[:, :, None] & in_x[:, None, :] & used[:, None, None]
        heatmaps = tf.where(window, gauss, 0.0)  # [L, H, W]
        return tf.transpose(heatmaps, [1, 2, 0])

    # -- decoding ------------------------------------------------------------------------------
    def decode(self, heatmaps, centers, scales, decoding=None):
        """(points [N, L, 2] float64 in image pixels, maxima [N, L]) of heatmaps of crops with
        ``centers`` [N, 2] and padded ``scales`` [N]."""
        return decode_heatmaps(heatmaps, centers, scales, decoding or self.decoding, self.sigma)

    # -- inference ------------------------------------------------------------------------------
    def estimate(self, forward, image, boxes, normalization=IMAGENET, decoding=None):
        """The whole inference of one uint8 image [H, W, 3] with face boxes [N, 4] (x, y, w, h):
        (points [N, L, 2] float32 in image pixels, scores [N, L] the heatmap maxima)."""
        centers, scales = face_box_to_center_scale(tf.reshape(boxes, [-1, 4]))
        scales = self.padded(scales)
        crops = normalize(self.crop_faces(image, centers, scales), normalization)
        points, maxima = self.decode(tf.cast(forward(crops), tf.float32), centers, scales,
                                     decoding)
        return tf.cast(points, tf.float32), maxima


def codec_for_model(model, decoding="official"):
    """The codec of a landmark model: sizes from its input and output, sigma from
    ``info.labels["sigma"]`` (what training records; 1.5 otherwise)."""
    in_h, in_w = model.inputs[0].shape[1:3]
    hm_h, hm_w = model.outputs[0].shape[1:3]
    if None in (in_h, in_w, hm_h, hm_w) or in_h != in_w or hm_h != hm_w:
        raise ValueError(f"model {model.name!r}: a landmark model needs a fixed square input "
                         f"(got {in_h}x{in_w})")
    info = getattr(model, "info", None)
    sigma = float((info.labels or {}).get("sigma", 1.5)) if info is not None else 1.5
    return LandmarkCodec(in_h, hm_h, sigma, decoding)


def serve_landmarks(model, image, boxes):
    """The uint8 serving function of the SavedModel ``landmarks`` signature: ``image`` uint8
    [H, W, 3], ``boxes`` [N, 4] face boxes (x, y, w, h) -> ``landmarks`` [N, L, 2] in image
    pixels (the official decoding) and ``scores`` [N, L] (heatmap maxima)."""
    codec = codec_for_model(model)
    info = getattr(model, "info", None)
    normalization = info.normalization if info is not None else IMAGENET
    points, scores = codec.estimate(lambda x: model(x, training=False), image, boxes,
                                    normalization)
    return {"landmarks": points, "scores": scores}


__all__ = [
    "BOX_PADDING",
    "DECODINGS",
    "LandmarkCodec",
    "argmax_1based",
    "codec_for_model",
    "dark_coordinates",
    "decode_heatmaps",
    "face_box_to_center_scale",
    "invert_matrix",
    "quarter_offset",
    "serve_landmarks",
    "transform_matrix",
    "transform_pixel",
]
