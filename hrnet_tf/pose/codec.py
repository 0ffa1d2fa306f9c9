"""The pose codec: box -> (center, scale), Gaussian heatmap targets, and heatmaps -> keypoints.

Training (the tf.data pipeline), evaluation and inference all go through this one module, so the
target a network learns and the way its output is read back can never drift apart. Formulas are the
official ones (deep-high-resolution-net.pytorch, ``JointsDataset.generate_target``,
``core/inference.get_final_preds``, ``utils/transforms``), quirks included:

* heatmap centres are rounded with ``int(x / stride + 0.5)`` (truncation toward zero);
* a joint's weight becomes 0 only when its whole 6-sigma window is off the heatmap
  (``ul >= size`` or ``br < 0``);
* decoding adds a quarter pixel toward the higher neighbour, only strictly inside the border
  (``1 < x < W - 1``), then maps heatmap pixels to the image with the inverse crop transform.

    >>> codec = PoseCodec(image_size=(192, 256), heatmap_size=(48, 64), sigma=2.0)
    >>> center, scale = box_to_center_scale([10, 20, 60, 100], codec.aspect_ratio)
    >>> heatmaps, weights = codec.encode(tf.constant([[24.0, 32.0]]), tf.constant([1.0]))
    >>> heatmaps.shape  # (heatmap height, heatmap width, joints)
    TensorShape([64, 48, 1])
"""

import math

import numpy as np
import tensorflow as tf

from hrnet_tf.data.affine import PIXEL_STD
from hrnet_tf.pose.keypoints import COCO, KeypointSet

BOX_PADDING = 1.25


def box_to_center_scale(box, aspect_ratio, padding=BOX_PADDING, pixel_std=PIXEL_STD):
    """Official ``_xywh2cs``: box (x, y, w, h) -> center (x, y) and scale (w, h) / 200.

    The box is widened or heightened to ``aspect_ratio`` (= crop width / height), then enlarged by
    ``padding`` (1.25).

    >>> box_to_center_scale([0, 0, 30, 100], 0.75)
    (array([15., 50.], dtype=float32), array([0.46875, 0.625  ], dtype=float32))
    """
    x, y, w, h = (float(v) for v in box[:4])
    center = np.array([x + w * 0.5, y + h * 0.5], np.float32)
    if w > aspect_ratio * h:
        h = w / aspect_ratio
    elif w < aspect_ratio * h:
        w = h * aspect_ratio
    scale = np.array([w / pixel_std, h / pixel_std], np.float32) * padding
    return center, scale.astype(np.float32)


def affine_matrix(center, scale, rotation, output_size, inverse=False, pixel_std=PIXEL_STD):
    """NumPy twin of :func:`hrnet_tf.data.affine.similarity_matrix` (the official
    ``get_affine_transform`` in closed form), float64 [2, 3].

    >>> (affine_matrix([50, 50], [1.0, 1.0], 0, (200, 200)) + 0.0).tolist()  # + 0.0: no -0.0
    [[1.0, 0.0, 50.0], [0.0, 1.0, 50.0]]
    """
    center = np.asarray(center, np.float64)
    theta = math.radians(float(rotation))
    zoom = float(output_size[0]) / (float(scale[0]) * pixel_std)
    cos, sin = math.cos(theta), math.sin(theta)
    out_center = np.array([output_size[0] * 0.5, output_size[1] * 0.5])
    if inverse:
        linear = np.array([[cos, -sin], [sin, cos]]) / zoom
        offset = center - linear @ out_center
    else:
        linear = np.array([[cos, sin], [-sin, cos]]) * zoom
        offset = out_center - linear @ center
    return np.concatenate([linear, offset[:, None]], axis=1)


def max_locations(heatmaps):
    """Official ``get_max_preds`` on NHWC heatmaps [N, H, W, J]: integer (x, y) of each argmax,
    zeroed where the maximum is <= 0, and the maxima. Returns ([N, J, 2], [N, J])."""
    heatmaps = np.asarray(heatmaps, np.float32)
    n, h, w, j = heatmaps.shape
    flat = heatmaps.transpose(0, 3, 1, 2).reshape(n, j, h * w)
    index = flat.argmax(axis=2)
    maxvals = np.take_along_axis(flat, index[..., None], axis=2)[..., 0]
    coords = np.stack([index % w, index // w], axis=-1).astype(np.float32)
    coords *= (maxvals > 0)[..., None]
    return coords, maxvals


def heatmap_coordinates(heatmaps, post_process=True):
    """Official ``get_final_preds`` up to the inverse affine: NHWC heatmaps -> ([N, J, 2] (x, y) in
    heatmap pixels, [N, J] maxima). ``post_process`` adds the quarter-pixel shift toward the higher
    neighbour, for maxima strictly inside the border.

    Example:
        >>> hm = np.zeros((1, 8, 8, 1), np.float32); hm[0, 3, 4, 0] = 1; hm[0, 3, 5, 0] = 0.5
        >>> heatmap_coordinates(hm)[0].tolist()
        [[[4.25, 3.0]]]
    """
    heatmaps = np.asarray(heatmaps, np.float32)
    coords, maxvals = max_locations(heatmaps)
    if post_process:
        n, h, w, _ = heatmaps.shape
        px = np.floor(coords[..., 0] + 0.5).astype(int)
        py = np.floor(coords[..., 1] + 0.5).astype(int)
        inside = (px > 1) & (px < w - 1) & (py > 1) & (py < h - 1)
        hm = heatmaps.transpose(0, 3, 1, 2)  # [N, J, H, W]
        b, j = np.meshgrid(np.arange(n), np.arange(hm.shape[1]), indexing="ij")
        x1, x0 = np.clip(px + 1, 0, w - 1), np.clip(px - 1, 0, w - 1)
        y1, y0 = np.clip(py + 1, 0, h - 1), np.clip(py - 1, 0, h - 1)
        dx = hm[b, j, py.clip(0, h - 1), x1] - hm[b, j, py.clip(0, h - 1), x0]
        dy = hm[b, j, y1, px.clip(0, w - 1)] - hm[b, j, y0, px.clip(0, w - 1)]
        coords = coords + 0.25 * np.stack([np.sign(dx), np.sign(dy)], -1) * inside[..., None]
    return coords, maxvals


class PoseCodec:
    """Heatmap encoding/decoding for one input size.

    Args:
      image_size: (width, height) of the network input, e.g. (192, 256).
      heatmap_size: (width, height) of the output heatmaps, e.g. (48, 64).
      sigma: Gaussian sigma in heatmap pixels (2 at 256x192, 3 at 384x288).
      keypoints: a :class:`KeypointSet` (flip pairs and optional joint weights).
      use_joint_weights: multiply target weights by ``keypoints.joint_weights``
        (official ``LOSS.USE_DIFFERENT_JOINTS_WEIGHT``).
    """

    def __init__(self, image_size=(192, 256), heatmap_size=None, sigma=2.0, keypoints=COCO,
                 use_joint_weights=False):
        self.image_size = (int(image_size[0]), int(image_size[1]))
        if heatmap_size is None:
            heatmap_size = (self.image_size[0] // 4, self.image_size[1] // 4)
        self.heatmap_size = (int(heatmap_size[0]), int(heatmap_size[1]))
        self.sigma = float(sigma)
        self.keypoints = keypoints if isinstance(keypoints, KeypointSet) else (
            KeypointSet.from_config(keypoints))
        self.use_joint_weights = bool(use_joint_weights)

    @property
    def aspect_ratio(self):
        return self.image_size[0] / self.image_size[1]

    @property
    def num_joints(self):
        return self.keypoints.num_joints

    def box_to_center_scale(self, box, padding=BOX_PADDING):
        return box_to_center_scale(box, self.aspect_ratio, padding)

    # ------------------------------------------------------------------ encoding (TF ops)
    def encode(self, joints, visible):
        """Gaussian targets for joints already in input-crop pixels (TF ops, one sample).

        Args:
          joints: [J, 2] float (x, y) in the network input.
          visible: [J] float, 1 labelled / 0 not.
        Returns:
          heatmaps [H_hm, W_hm, J] float32 and target weights [J] float32.
        """
        joints = tf.cast(joints, tf.float32)
        visible = tf.cast(visible, tf.float32)
        hm_w, hm_h = self.heatmap_size
        stride = tf.constant(
            [self.image_size[0] / hm_w, self.image_size[1] / hm_h], tf.float32)
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

    # ------------------------------------------------------------------ decoding (NumPy)
    def decode(self, heatmaps, centers, scales, post_process=True):
        """Official ``get_final_preds``: NHWC heatmaps -> image keypoints.

        Args:
          heatmaps: [N, H_hm, W_hm, J] network output (after flip averaging if used).
          centers, scales: [N, 2] the crop boxes the heatmaps came from.
          post_process: the quarter-pixel shift toward the higher neighbour.
        Returns:
          [N, J, 3] float32 array of (x, y, maxval) in image pixels.
        """
        coords, maxvals = heatmap_coordinates(heatmaps, post_process)
        n, h, w, _ = np.shape(heatmaps)
        out = np.zeros((n, coords.shape[1], 3), np.float32)
        for i in range(n):
            back = affine_matrix(centers[i], scales[i], 0, (w, h), inverse=True)
            out[i, :, :2] = coords[i] @ back[:, :2].T + back[:, 2]
        out[..., 2] = maxvals
        return out

    def flip_back(self, heatmaps):
        """Official ``flip_back``: mirror NHWC heatmaps of a flipped input and swap left/right."""
        return np.asarray(heatmaps)[:, :, ::-1, self.keypoints.flip_permutation()]

    def flip_average(self, heatmaps, heatmaps_of_flipped, shift_heatmap=True):
        """Flip test: average the output with the flipped-back output of the mirrored input.

        ``shift_heatmap`` moves the flipped-back maps one pixel right (official
        ``TEST.SHIFT_HEATMAP``: ``out[..., 1:] = out[..., :-1]``, column 0 kept), which corrects the
        half-pixel misalignment that mirroring a stride-4 map introduces.
        """
        back = self.flip_back(heatmaps_of_flipped).copy()
        if shift_heatmap:
            back[:, :, 1:] = back[:, :, :-1].copy()
        return (np.asarray(heatmaps) + back) * 0.5
