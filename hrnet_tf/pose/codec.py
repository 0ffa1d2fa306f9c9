"""The pose codec: the one pose geometry, in TensorFlow ops.

Box -> (center, scale), the crop, the Gaussian targets a network learns, heatmaps -> keypoints,
the flip test, and the uint8 serving function of the SavedModel ``keypoints`` signature. Training
(the tf.data pipeline), evaluation (COCO and MPII), ``predict`` and the export all call these
functions, so the target a network learns and the way its output is read back cannot drift apart.
The formulas are the official ones (deep-high-resolution-net.pytorch: ``lib/dataset/coco.py
_xywh2cs``, ``lib/utils/transforms.py get_affine_transform / flip_back``,
``JointsDataset.generate_target``, ``lib/core/inference.py get_final_preds``,
``lib/core/function.py validate``), quirks included:

* heatmap centres are rounded with ``int(x / stride + 0.5)`` (truncation toward zero);
* a joint's weight becomes 0 only when its whole 6-sigma window is off the heatmap
  (``ul >= size`` or ``br < 0``);
* decoding takes the argmax (coordinates 0 when the maximum is <= 0), adds a quarter pixel toward
  the higher neighbour only strictly inside the border (``1 < x < W - 1``), then maps heatmap
  pixels to the image with the inverse crop transform;
* the flip test mirrors the crop, swaps left/right heatmaps back and shifts them one pixel right
  (``TEST.SHIFT_HEATMAP``) before averaging.

DARK (Zhang et al., CVPR 2020; ilovepose/DarkPose) is the other coding, chosen per codec:

* ``encoding="unbiased"`` (DarkPose ``JointsDataset.generate_target``): the Gaussian is centred at
  the joint's float position on the heatmap grid (``joint / stride``, not rounded) over the whole
  map; the weight rule truncates ``mu -+ 3 sigma`` with ``int()`` (``adjust_target_weight``);
* ``decoding="dark"`` (DarkPose ``lib/core/inference.py get_final_preds``): argmax and maxval of the
  raw heatmap, then the heatmap blurred by a ``blur_kernel`` Gaussian (``gaussian_blur``: zero
  padding, cv2's kernel for ``sigma=0``, rescaled to keep the maximum), ``log(max(hm, 1e-10))``,
  and one Newton step ``-H^-1 grad`` with central differences where ``1 < x < W - 2`` and
  ``1 < y < H - 2`` and the Hessian is regular (``taylor``); no quarter offset.

Both keep the official crop geometry (as mmpose's ``MSRAHeatmap(unbiased=True)`` does): DarkPose's
own repository also changed the affine transform to ``(size - 1) / 2`` centres, which is UDP's
territory and not part of these options.

hrnet_tf/testing/pose_reference.py re-derives each of these loop by loop in NumPy/cv2; the tests
hold this module to it.

    >>> codec = PoseCodec(image_size=(192, 256), heatmap_size=(48, 64), sigma=2.0)
    >>> center, scale = box_to_center_scale(tf.constant([[0.0, 0.0, 30.0, 100.0]]), 0.75)
    >>> center.numpy().tolist(), scale.numpy().tolist()
    ([[15.0, 50.0]], [[0.46875, 0.625]])
    >>> heatmaps, weights = codec.encode(tf.constant([[24.0, 32.0]]), tf.constant([1.0]))
    >>> heatmaps.shape  # (heatmap height, heatmap width, joints)
    TensorShape([64, 48, 1])
    >>> keypoints = codec.decode(heatmaps[None], center, scale)   # [N, J, 3]: x, y, maxval
"""

import math

import numpy as np
import tensorflow as tf

from hrnet_tf.data import affine
from hrnet_tf.data.images import normalize
from hrnet_tf.data.normalization import IMAGENET
from hrnet_tf.pose.keypoints import KeypointSet

BOX_PADDING = 1.25
ENCODINGS = ("standard", "unbiased")
DECODINGS = ("standard", "dark")
DARK_BLUR_KERNEL = 11  # DarkPose TEST.BLUR_KERNEL; mmpose: 11 for sigma 2, 17 for sigma 3


def box_to_center_scale(boxes, aspect_ratio, padding=BOX_PADDING, pixel_std=affine.PIXEL_STD):
    """Official ``_xywh2cs``: boxes [..., 4] (x, y, w, h) -> centers [..., 2], scales [..., 2].

    The box is widened or heightened to ``aspect_ratio`` (= crop width / height), then enlarged by
    ``padding`` (1.25); scale is that size / 200.
    """
    boxes = tf.cast(tf.convert_to_tensor(boxes), tf.float32)
    x, y, w, h = tf.unstack(boxes, 4, axis=-1)
    centers = tf.stack([x + w * 0.5, y + h * 0.5], axis=-1)
    # Multiplications by single constants only: the graph optimizer turns a division by a
    # constant into a multiplication by its reciprocal and folds constant chains (``/ 200 *
    # 1.25``), so those would round differently in an exported graph than in eager code, and a
    # crop one ulp away can differ by a grey level.
    new_h = tf.where(w > aspect_ratio * h, w * (1.0 / aspect_ratio), h)
    new_w = tf.where(w < aspect_ratio * h, h * aspect_ratio, w)
    scales = tf.stack([new_w, new_h], axis=-1) * (padding / pixel_std)
    return centers, scales


def crop_matrix(center, scale, output_size, rotation=0.0):
    """The source -> crop matrix of a box ([..., 2] center and scale; output (width, height))."""
    return affine.similarity_matrix(center, scale, rotation, output_size)


def crop_boxes(image, centers, scales, output_size):
    """Crops [N, h, w, 3] float32 (whole grey levels for a uint8 image) from one [H, W, 3] image,
    one per (center, scale); ``output_size`` is (width, height). Pixels outside are 0, as with
    ``cv2.warpAffine``'s default border."""
    width, height = output_size

    def crop_one(center_scale):
        center, scale = center_scale
        return affine.warp_affine(image, crop_matrix(center, scale, output_size), output_size)

    return tf.map_fn(
        crop_one,
        (tf.cast(centers, tf.float32), tf.cast(scales, tf.float32)),
        fn_output_signature=tf.TensorSpec([height, width, None], tf.float32),
    )


def heatmap_maxima(heatmaps):
    """Official ``get_max_preds`` on NHWC heatmaps: ([N, J, 2] integer-valued x, y; [N, J] maxima),
    coordinates zeroed where the maximum is <= 0.

    >>> hm = tf.reshape(tf.one_hot([7], 12), [1, 3, 4, 1])   # N=1, a 3x4 heatmap, 1 joint
    >>> xy, v = heatmap_maxima(hm)
    >>> xy.numpy().tolist(), v.numpy().tolist()
    ([[[3.0, 1.0]]], [[1.0]])
    """
    heatmaps = tf.convert_to_tensor(heatmaps, tf.float32)
    shape = tf.shape(heatmaps)
    n, h, w, j = shape[0], shape[1], shape[2], shape[3]
    flat = tf.reshape(tf.transpose(heatmaps, [0, 3, 1, 2]), [n, j, h * w])
    index = tf.argmax(flat, axis=2, output_type=tf.int32)
    maxima = tf.reduce_max(flat, axis=2)
    coords = tf.cast(tf.stack([index % w, index // w], axis=-1), tf.float32)
    coords *= tf.cast(maxima > 0.0, tf.float32)[..., None]
    return coords, maxima


def quarter_offset(heatmaps, coords):
    """The official post-processing shift: +-0.25 toward the higher neighbour on each axis, only for
    maxima strictly inside the border (``1 < x < W - 1``, ``1 < y < H - 1``)."""
    heatmaps = tf.convert_to_tensor(heatmaps, tf.float32)
    shape = tf.shape(heatmaps)
    h, w = shape[1], shape[2]
    px = tf.cast(tf.floor(coords[..., 0] + 0.5), tf.int32)
    py = tf.cast(tf.floor(coords[..., 1] + 0.5), tf.int32)
    inside = (px > 1) & (px < w - 1) & (py > 1) & (py < h - 1)
    per_joint = tf.transpose(heatmaps, [0, 3, 1, 2])  # [N, J, H, W]

    def at(y, x):
        y = tf.clip_by_value(y, 0, h - 1)
        x = tf.clip_by_value(x, 0, w - 1)
        return tf.gather_nd(per_joint, tf.stack([y, x], axis=-1), batch_dims=2)

    dx = at(py, px + 1) - at(py, px - 1)
    dy = at(py + 1, px) - at(py - 1, px)
    shift = 0.25 * tf.sign(tf.stack([dx, dy], axis=-1))
    return coords + shift * tf.cast(inside, tf.float32)[..., None]


def gaussian_kernel(size):
    """The 1-D kernel of ``cv2.GaussianBlur(img, (size, size), 0)`` (``cv2.getGaussianKernel(size,
    0)``): cv2's fixed tables for sizes 1-9, else sigma ``0.3 * ((size - 1) * 0.5 - 1) + 0.8``,
    normalized to sum 1 (float64).

    >>> gaussian_kernel(3).tolist()
    [0.25, 0.5, 0.25]
    """
    size = int(size)
    if size < 1 or size % 2 == 0:
        raise ValueError(f"the blur kernel must be a positive odd size, got {size}")
    fixed = {1: [1.0], 3: [0.25, 0.5, 0.25], 5: [0.0625, 0.25, 0.375, 0.25, 0.0625],
             7: [0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125],
             9: [0.015625, 0.05078125, 0.1171875, 0.19921875, 0.234375, 0.19921875, 0.1171875,
                 0.05078125, 0.015625]}
    if size in fixed:
        return np.array(fixed[size], np.float64)
    sigma = 0.3 * ((size - 1) * 0.5 - 1) + 0.8
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2
    kernel = np.exp(-(x**2) / (2 * sigma**2))
    return kernel / kernel.sum()


def modulate(heatmaps, blur_kernel=DARK_BLUR_KERNEL):
    """DarkPose ``gaussian_blur`` on NHWC heatmaps: each map blurred with zero padding (the
    official pads by the kernel radius before ``cv2.GaussianBlur``, so its border mode never
    reaches the map) and rescaled so that its maximum is the original one."""
    heatmaps = tf.convert_to_tensor(heatmaps, tf.float32)
    shape = tf.shape(heatmaps)
    n, h, w, j = shape[0], shape[1], shape[2], shape[3]
    maps = tf.reshape(tf.transpose(heatmaps, [0, 3, 1, 2]), [n * j, h, w, 1])
    kernel = tf.constant(gaussian_kernel(blur_kernel), tf.float32)
    size = int(blur_kernel)
    blurred = tf.nn.conv2d(maps, tf.reshape(kernel, [size, 1, 1, 1]), 1, "SAME")
    blurred = tf.nn.conv2d(blurred, tf.reshape(kernel, [1, size, 1, 1]), 1, "SAME")
    before = tf.reduce_max(maps, axis=[1, 2, 3], keepdims=True)
    after = tf.reduce_max(blurred, axis=[1, 2, 3], keepdims=True)
    blurred = blurred * tf.math.divide_no_nan(before, after)
    return tf.transpose(tf.reshape(blurred, [n, j, h, w]), [0, 2, 3, 1])


def dark_refine(heatmaps, coords, blur_kernel=DARK_BLUR_KERNEL):
    """DarkPose's refinement of integer argmax ``coords`` [N, J, 2]: one Newton step on the log
    of the modulated heatmaps (``taylor``), where ``1 < x < W - 2`` and ``1 < y < H - 2`` and the
    Hessian's determinant is not 0."""
    log_maps = tf.math.log(tf.maximum(modulate(heatmaps, blur_kernel), 1e-10))
    shape = tf.shape(log_maps)
    h, w = shape[1], shape[2]
    per_joint = tf.transpose(log_maps, [0, 3, 1, 2])  # [N, J, H, W]
    px = tf.cast(coords[..., 0], tf.int32)  # int(coord): the coordinates are whole and >= 0
    py = tf.cast(coords[..., 1], tf.int32)
    inside = (px > 1) & (px < w - 2) & (py > 1) & (py < h - 2)

    def at(dy, dx):
        y = tf.clip_by_value(py + dy, 0, h - 1)
        x = tf.clip_by_value(px + dx, 0, w - 1)
        return tf.gather_nd(per_joint, tf.stack([y, x], axis=-1), batch_dims=2)

    center = at(0, 0)
    dx = 0.5 * (at(0, 1) - at(0, -1))
    dy = 0.5 * (at(1, 0) - at(-1, 0))
    dxx = 0.25 * (at(0, 2) - 2 * center + at(0, -2))
    dxy = 0.25 * (at(1, 1) - at(-1, 1) - at(1, -1) + at(-1, -1))
    dyy = 0.25 * (at(2, 0) - 2 * center + at(-2, 0))
    det = dxx * dyy - dxy**2
    regular = inside & tf.not_equal(det, 0.0)
    safe = tf.where(regular, det, 1.0)
    # offset = -H^-1 grad, H^-1 = [[dyy, -dxy], [-dxy, dxx]] / det
    offset_x = -(dyy * dx - dxy * dy) / safe
    offset_y = -(dxx * dy - dxy * dx) / safe
    offset = tf.stack([offset_x, offset_y], axis=-1)
    return coords + tf.where(regular[..., None], offset, 0.0)


def heatmap_coordinates(heatmaps, post_process=True, decoding="standard",
                        blur_kernel=DARK_BLUR_KERNEL):
    """Official ``get_final_preds`` up to the inverse crop: NHWC heatmaps -> ([N, J, 2] (x, y) in
    heatmap pixels, [N, J] maxima). ``decoding="standard"``: the argmax, plus the quarter-pixel
    shift with ``post_process``; ``"dark"``: DarkPose's refinement (:func:`dark_refine`; DarkPose
    applies it whatever ``TEST.POST_PROCESS`` says, and so does this).

    >>> hm = tf.tensor_scatter_nd_update(tf.zeros([1, 8, 8, 1]), [[0, 3, 4, 0], [0, 3, 5, 0]],
    ...                                  [1.0, 0.5])
    >>> heatmap_coordinates(hm)[0].numpy().tolist()
    [[[4.25, 3.0]]]
    """
    coords, maxima = heatmap_maxima(heatmaps)
    if decoding == "dark":
        coords = dark_refine(heatmaps, coords, blur_kernel)
    elif decoding != "standard":
        raise ValueError(f"decoding must be one of {DECODINGS}, got {decoding!r}")
    elif post_process:
        coords = quarter_offset(heatmaps, coords)
    return coords, maxima


def flip_back(heatmaps, flip_permutation):
    """Official ``flip_back`` on NHWC heatmaps of a mirrored input: mirror the width axis, then swap
    each left/right pair (``flip_permutation`` from :meth:`KeypointSet.flip_permutation`)."""
    mirrored = tf.reverse(tf.convert_to_tensor(heatmaps, tf.float32), axis=[2])
    return tf.gather(mirrored, tf.constant(flip_permutation, tf.int32), axis=3)


def flip_average(heatmaps, heatmaps_of_flipped, flip_permutation, shift_heatmap=True):
    """The official flip test: the average of the output and the flipped-back output of the mirrored
    input. ``shift_heatmap`` moves the flipped-back maps one pixel right (``out[..., 1:] =
    out[..., :-1]``, column 0 kept), which corrects the misalignment that mirroring a stride-4 map
    introduces (hrnet-facts.md: the one-pixel shift, deep-high-resolution-net #22)."""
    back = flip_back(heatmaps_of_flipped, flip_permutation)
    if shift_heatmap:
        back = tf.concat([back[:, :, :1], back[:, :, :-1]], axis=2)
    return (tf.cast(heatmaps, tf.float32) + back) * 0.5


class PoseCodec:
    """Targets and decoding for one network input size.

    Args:
      image_size: (width, height) of the network input, e.g. (192, 256).
      heatmap_size: (width, height) of the heatmaps, e.g. (48, 64); default ``image_size / 4``.
      sigma: Gaussian sigma in heatmap pixels (2 at 256x192, 3 at 384x288).
      keypoints: a :class:`KeypointSet` or its config (flip pairs, joint weights); None for a model
        whose keypoint set is unknown (decoding works, the flip test and targets need the set).
      use_joint_weights: multiply target weights by ``keypoints.joint_weights``
        (official ``LOSS.USE_DIFFERENT_JOINTS_WEIGHT``).
      encoding: "standard" (official targets) or "unbiased" (DARK's).
      decoding: "standard" (argmax + quarter offset) or "dark" (DARK's Newton step on the
        log of the ``blur_kernel``-modulated heatmaps).
    """

    def __init__(self, image_size=(192, 256), heatmap_size=None, sigma=2.0, keypoints="coco",
                 use_joint_weights=False, encoding="standard", decoding="standard",
                 blur_kernel=DARK_BLUR_KERNEL):
        self.image_size = (int(image_size[0]), int(image_size[1]))
        if heatmap_size is None:
            heatmap_size = (self.image_size[0] // 4, self.image_size[1] // 4)
        self.heatmap_size = (int(heatmap_size[0]), int(heatmap_size[1]))
        self.sigma = float(sigma)
        self.keypoints = None if keypoints is None else KeypointSet.from_config(keypoints)
        self.use_joint_weights = bool(use_joint_weights)
        if encoding not in ENCODINGS:
            raise ValueError(f"encoding must be one of {ENCODINGS}, got {encoding!r}")
        if decoding not in DECODINGS:
            raise ValueError(f"decoding must be one of {DECODINGS}, got {decoding!r}")
        self.encoding = encoding
        self.decoding = decoding
        self.blur_kernel = int(blur_kernel)
        gaussian_kernel(self.blur_kernel)  # validates the size

    @property
    def aspect_ratio(self):
        return self.image_size[0] / self.image_size[1]

    @property
    def num_joints(self):
        return None if self.keypoints is None else self.keypoints.num_joints

    @property
    def can_flip(self):
        """Whether the flip test is possible: it needs the left/right pairs of the keypoint set."""
        return self.keypoints is not None

    # -- geometry ------------------------------------------------------------------------------
    def box_to_center_scale(self, boxes, padding=BOX_PADDING):
        """Boxes [..., 4] (x, y, w, h) -> (centers, scales) [..., 2] for this input's aspect."""
        return box_to_center_scale(boxes, self.aspect_ratio, padding)

    def crop(self, image, center, scale, rotation=0.0):
        """One [h, w, 3] float32 crop of a [H, W, 3] image (the evaluation crop: rotation 0)."""
        return affine.warp_affine(image, crop_matrix(center, scale, self.image_size, rotation),
                                  self.image_size)

    def crop_boxes(self, image, centers, scales):
        return crop_boxes(image, centers, scales, self.image_size)

    # -- encoding ------------------------------------------------------------------------------
    def encode(self, joints, visible):
        """Gaussian targets for joints already in input-crop pixels (one sample).

        Args:
          joints: [J, 2] float (x, y) in the network input.
          visible: [J] float, 1 labelled / 0 not.
        Returns:
          heatmaps [H_hm, W_hm, J] float32 and target weights [J] float32.
        """
        joints = tf.cast(joints, tf.float32)
        visible = tf.cast(visible, tf.float32)
        hm_w, hm_h = self.heatmap_size
        stride = tf.constant([self.image_size[0] / hm_w, self.image_size[1] / hm_h], tf.float32)
        radius = self.sigma * 3.0
        if self.encoding == "unbiased":
            return self._encode_unbiased(joints / stride, visible, radius)
        # Python int() truncates toward zero; so does a float -> int cast in TF.
        mu = tf.cast(tf.cast(joints / stride + 0.5, tf.int32), tf.float32)
        upper_left, bottom_right, weights = self._window(mu, visible, radius)
        # The official window is a (2r+1)^2 patch whose peak sits at index floor((2r+1)/2).
        peak = upper_left + math.floor((2.0 * radius + 1.0) / 2.0)
        xs = tf.range(hm_w, dtype=tf.float32)
        ys = tf.range(hm_h, dtype=tf.float32)
        in_x = (xs[None, :] >= upper_left[:, :1]) & (xs[None, :] < bottom_right[:, :1])  # [J, W]
        in_y = (ys[None, :] >= upper_left[:, 1:]) & (ys[None, :] < bottom_right[:, 1:])  # [J, H]
        gx = tf.exp(-tf.square(xs[None, :] - peak[:, :1]) / (2 * self.sigma**2))
        gy = tf.exp(-tf.square(ys[None, :] - peak[:, 1:]) / (2 * self.sigma**2))
        gx = tf.where(in_x, gx, 0.0)
        gy = tf.where(in_y, gy, 0.0) * tf.cast(weights > 0.5, tf.float32)[:, None]
        heatmaps = gy[:, :, None] * gx[:, None, :]  # [J, H, W]
        if self.use_joint_weights:
            weights = weights * tf.constant(self.keypoints.joint_weights, tf.float32)
        return tf.transpose(heatmaps, [1, 2, 0]), weights

    def _window(self, mu, visible, radius):
        """The Gaussian window ``[int(mu - r), int(mu + r + 1))`` per joint and the weights: zero
        where the window lies wholly off the map, else ``visible``."""
        hm_w, hm_h = self.heatmap_size
        upper_left = tf.cast(tf.cast(mu - radius, tf.int32), tf.float32)
        bottom_right = tf.cast(tf.cast(mu + radius + 1.0, tf.int32), tf.float32)
        off_map = (
            (upper_left[:, 0] >= hm_w) | (upper_left[:, 1] >= hm_h)
            | (bottom_right[:, 0] < 0) | (bottom_right[:, 1] < 0)
        )
        return upper_left, bottom_right, tf.where(off_map, 0.0, visible)

    def _encode_unbiased(self, mu, visible, radius):
        """DarkPose ``generate_target`` for joints ``mu`` [J, 2] in heatmap pixels (floats)."""
        hm_w, hm_h = self.heatmap_size
        # adjust_target_weight: the same window rule on the float joint
        _, _, weights = self._window(mu, visible, radius)
        xs = tf.range(hm_w, dtype=tf.float32)
        ys = tf.range(hm_h, dtype=tf.float32)
        gx = tf.exp(-tf.square(xs[None, :] - mu[:, :1]) / (2 * self.sigma**2))  # [J, W]
        gy = tf.exp(-tf.square(ys[None, :] - mu[:, 1:]) / (2 * self.sigma**2))  # [J, H]
        gy = gy * tf.cast(weights > 0.5, tf.float32)[:, None]
        heatmaps = gy[:, :, None] * gx[:, None, :]
        if self.use_joint_weights:
            weights = weights * tf.constant(self.keypoints.joint_weights, tf.float32)
        return tf.transpose(heatmaps, [1, 2, 0]), weights

    # -- decoding ------------------------------------------------------------------------------
    def decode(self, heatmaps, centers, scales, post_process=True):
        """Official ``get_final_preds``: NHWC heatmaps [N, h, w, J] of the crops of boxes
        (centers, scales [N, 2]) -> keypoints [N, J, 3] float32: (x, y) in image pixels and the
        heatmap maximum. The inverse map is the crop matrix of the heatmap size, inverted. The
        codec's ``decoding`` chooses the sub-pixel step (``post_process``: the standard one's
        quarter offset)."""
        heatmaps = tf.convert_to_tensor(heatmaps, tf.float32)
        coords, maxima = heatmap_coordinates(heatmaps, post_process, self.decoding,
                                             self.blur_kernel)
        shape = tf.shape(heatmaps)
        to_image = affine.similarity_matrix(centers, scales, 0.0, (shape[2], shape[1]),
                                            inverse=True)
        xy = affine.transform_points(coords, to_image)
        return tf.concat([xy, maxima[..., None]], axis=-1)

    def flip_average(self, heatmaps, heatmaps_of_flipped, shift_heatmap=True):
        return flip_average(heatmaps, heatmaps_of_flipped, self.keypoints.flip_permutation(),
                            shift_heatmap)

    # -- test-time inference -------------------------------------------------------------------
    def heatmaps(self, forward, crops, flip_test=True, shift_heatmap=True):
        """The test-time heatmaps of normalized crops [N, h, w, 3]: ``forward(crops)``, averaged
        with the flipped-back output of the mirrored crops when ``flip_test`` (official
        ``TEST.FLIP_TEST``; mirrored along the width as ``np.flip(input, 3)`` on NCHW)."""
        heatmaps = tf.cast(forward(crops), tf.float32)
        if not flip_test:
            return heatmaps
        if not self.can_flip:
            raise ValueError("the flip test needs the keypoint set (its left/right pairs)")
        mirrored = tf.cast(forward(tf.reverse(crops, axis=[2])), tf.float32)
        return self.flip_average(heatmaps, mirrored, shift_heatmap)

    def estimate(self, forward, image, boxes, normalization=IMAGENET, flip_test=True,
                 shift_heatmap=True, post_process=True):
        """The whole top-down inference for one image: uint8 [H, W, 3] and boxes [N, 4] (x, y, w, h)
        -> keypoints [N, J, 3] (x, y in image pixels, maxval); ``forward`` maps normalized crops
        to heatmaps."""
        centers, scales = self.box_to_center_scale(tf.reshape(boxes, [-1, 4]))
        crops = normalize(self.crop_boxes(image, centers, scales), normalization)
        heatmaps = self.heatmaps(forward, crops, flip_test, shift_heatmap)
        return self.decode(heatmaps, centers, scales, post_process)


def codec_for_model(model, keypoints=None, decoding=None):
    """The codec that reads ``model``'s heatmaps: input and heatmap size from the model, the
    keypoint set from ``keypoints`` or else ``model.info.labels["keypoints"]`` (which training
    fills in; None when neither says it), the decoding from ``decoding`` or else
    ``model.info.labels["decoding"]`` / ``["blur_kernel"]`` (training records ``eval.decoding``;
    "standard" when absent)."""
    in_h, in_w = model.inputs[0].shape[1:3]
    hm_h, hm_w = model.outputs[0].shape[1:3]
    if None in (in_h, in_w, hm_h, hm_w):
        raise ValueError(f"model {model.name!r} has no fixed input size: top-down pose needs one")
    info = getattr(model, "info", None)
    labels = (info.labels or {}) if info is not None else {}
    if keypoints is None:
        keypoints = labels.get("keypoints")
    return PoseCodec((in_w, in_h), (hm_w, hm_h), keypoints=keypoints,
                     decoding=decoding or labels.get("decoding", "standard"),
                     blur_kernel=labels.get("blur_kernel", DARK_BLUR_KERNEL))


def serve_keypoints(model, image, boxes):
    """The uint8 serving function of the SavedModel ``keypoints`` signature: ``image`` uint8
    [H, W, 3], ``boxes`` [N, 4] (x, y, w, h) -> ``keypoints`` [N, J, 2] in image pixels and
    ``scores`` [N, J] (the heatmap maxima); with the flip test whenever the model knows its
    keypoint set (``model.info.labels``), and the decoding it records (DARK for a model trained
    with ``eval.decoding: dark``), as evaluation and ``predict`` run it."""
    codec = codec_for_model(model)
    info = getattr(model, "info", None)
    normalization = info.normalization if info is not None else IMAGENET
    keypoints = codec.estimate(lambda x: model(x, training=False), image, boxes, normalization,
                               flip_test=codec.can_flip)
    return {"keypoints": keypoints[..., :2], "scores": keypoints[..., 2]}


__all__ = [
    "BOX_PADDING",
    "DARK_BLUR_KERNEL",
    "DECODINGS",
    "ENCODINGS",
    "PoseCodec",
    "box_to_center_scale",
    "codec_for_model",
    "crop_boxes",
    "crop_matrix",
    "dark_refine",
    "flip_average",
    "flip_back",
    "gaussian_kernel",
    "heatmap_coordinates",
    "heatmap_maxima",
    "modulate",
    "quarter_offset",
    "serve_keypoints",
]
