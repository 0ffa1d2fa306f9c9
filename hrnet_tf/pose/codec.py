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

import tensorflow as tf

from hrnet_tf.data import affine
from hrnet_tf.data.images import normalize
from hrnet_tf.data.normalization import IMAGENET
from hrnet_tf.pose.keypoints import KeypointSet

BOX_PADDING = 1.25


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


def heatmap_coordinates(heatmaps, post_process=True):
    """Official ``get_final_preds`` up to the inverse crop: NHWC heatmaps -> ([N, J, 2] (x, y) in
    heatmap pixels, [N, J] maxima); ``post_process`` adds the quarter-pixel shift.

    >>> hm = tf.tensor_scatter_nd_update(tf.zeros([1, 8, 8, 1]), [[0, 3, 4, 0], [0, 3, 5, 0]],
    ...                                  [1.0, 0.5])
    >>> heatmap_coordinates(hm)[0].numpy().tolist()
    [[[4.25, 3.0]]]
    """
    coords, maxima = heatmap_maxima(heatmaps)
    if post_process:
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
    """

    def __init__(self, image_size=(192, 256), heatmap_size=None, sigma=2.0, keypoints="coco",
                 use_joint_weights=False):
        self.image_size = (int(image_size[0]), int(image_size[1]))
        if heatmap_size is None:
            heatmap_size = (self.image_size[0] // 4, self.image_size[1] // 4)
        self.heatmap_size = (int(heatmap_size[0]), int(heatmap_size[1]))
        self.sigma = float(sigma)
        self.keypoints = None if keypoints is None else KeypointSet.from_config(keypoints)
        self.use_joint_weights = bool(use_joint_weights)

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
        # Python int() truncates toward zero; so does a float -> int cast in TF.
        mu = tf.cast(tf.cast(joints / stride + 0.5, tf.int32), tf.float32)
        upper_left = tf.cast(tf.cast(mu - radius, tf.int32), tf.float32)
        bottom_right = tf.cast(tf.cast(mu + radius + 1.0, tf.int32), tf.float32)
        off_map = (
            (upper_left[:, 0] >= hm_w) | (upper_left[:, 1] >= hm_h)
            | (bottom_right[:, 0] < 0) | (bottom_right[:, 1] < 0)
        )
        weights = tf.where(off_map, 0.0, visible)
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

    # -- decoding ------------------------------------------------------------------------------
    def decode(self, heatmaps, centers, scales, post_process=True):
        """Official ``get_final_preds``: NHWC heatmaps [N, h, w, J] of the crops of boxes
        (centers, scales [N, 2]) -> keypoints [N, J, 3] float32: (x, y) in image pixels and the
        heatmap maximum. The inverse map is the crop matrix of the heatmap size, inverted."""
        heatmaps = tf.convert_to_tensor(heatmaps, tf.float32)
        coords, maxima = heatmap_coordinates(heatmaps, post_process)
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


def codec_for_model(model, keypoints=None):
    """The codec that reads ``model``'s heatmaps: input and heatmap size from the model, the
    keypoint set from ``keypoints`` or else ``model.info.labels["keypoints"]`` (which training
    fills in; None when neither says it)."""
    in_h, in_w = model.inputs[0].shape[1:3]
    hm_h, hm_w = model.outputs[0].shape[1:3]
    if None in (in_h, in_w, hm_h, hm_w):
        raise ValueError(f"model {model.name!r} has no fixed input size: top-down pose needs one")
    if keypoints is None:
        info = getattr(model, "info", None)
        keypoints = (info.labels or {}).get("keypoints") if info is not None else None
    return PoseCodec((in_w, in_h), (hm_w, hm_h), keypoints=keypoints)


def serve_keypoints(model, image, boxes):
    """The uint8 serving function of the SavedModel ``keypoints`` signature: ``image`` uint8
    [H, W, 3], ``boxes`` [N, 4] (x, y, w, h) -> ``keypoints`` [N, J, 2] in image pixels and
    ``scores`` [N, J] (the heatmap maxima); with the flip test whenever the model knows its
    keypoint set (``model.info.labels``), as evaluation and ``predict`` run it."""
    codec = codec_for_model(model)
    info = getattr(model, "info", None)
    normalization = info.normalization if info is not None else IMAGENET
    keypoints = codec.estimate(lambda x: model(x, training=False), image, boxes, normalization,
                               flip_test=codec.can_flip)
    return {"keypoints": keypoints[..., :2], "scores": keypoints[..., 2]}


__all__ = [
    "BOX_PADDING",
    "PoseCodec",
    "box_to_center_scale",
    "codec_for_model",
    "crop_boxes",
    "crop_matrix",
    "flip_average",
    "flip_back",
    "heatmap_coordinates",
    "heatmap_maxima",
    "quarter_offset",
    "serve_keypoints",
]
