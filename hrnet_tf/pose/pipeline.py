"""tf.data pipelines of the official top-down pose training and evaluation.

TF ops throughout, except the training warp: ``cv2.warpAffine`` itself, as the official code calls
it (``hrnet_tf.data.affine.warp_affine_cv2``), 3x faster than TensorFlow's kernel. The evaluation
crop is the TF warp the exported signatures share (``PoseCodec.crop``).

Per training sample, in the official order (``JointsDataset.__getitem__``): half-body crop
(probability ``prob_half_body`` when more than ``num_joints_half_body`` joints are labelled; upper
body when ``randn() < 0.5`` -- a normal draw, so P(upper) ~ 0.69, kept for fidelity), scale
``clip(randn * sf + 1, 1 - sf, 1 + sf)``, rotation ``clip(randn * rf, -2rf, 2rf)`` with
probability 0.6, horizontal flip with probability 0.5 (``x -> width - x - 1``, pairs swapped),
then one affine warp to the input size, Gaussian targets from :class:`PoseCodec`, normalisation.
The flip is folded into the warp matrix instead of mirroring pixels: same result, one resampling.

Randomness is stateless: the epoch's order is a permutation drawn from its seed, and each sample's
draws are keyed by (seed, sample index), so an epoch is the same stream in any number of parallel
map calls, and a resumed run sees the batches an uninterrupted one would.

Bad images: in training a truncated or non-image file stops the run with one line naming it
(:func:`hrnet_tf.data.checks.fail_unless`); in evaluation it is flagged (``ok``/``problem``) and
left out by the evaluation loop, which names it in its report.

    >>> pipeline = PosePipeline(PoseCodec((192, 256), sigma=2.0), Augmentation())
    >>> ds = pipeline.train_dataset(records, batch_size=32, seed=0)  # doctest: +SKIP
    >>> images, targets = next(iter(ds))                             # doctest: +SKIP
    >>> images.shape, targets["heatmaps"].shape, targets["target_weight"].shape  # doctest: +SKIP
    (TensorShape([32, 256, 192, 3]), TensorShape([32, 64, 48, 17]), TensorShape([32, 17]))
"""


from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from hrnet_tf.data import affine
from hrnet_tf.data.images import (  # noqa: F401 (BAD_IMAGE and read_checked_image stay importable here)
    BAD_IMAGE,
    decode_image_window,
    normalize,
    read_checked_bytes,
    read_checked_image,
    read_image_if_complete,
)
from hrnet_tf.data.normalization import IMAGENET
from hrnet_tf.pose.codec import PoseCodec


@dataclass
class Augmentation:
    """Official COCO defaults (MPII: scale_factor 0.25, rotation_factor 30, prob_half_body -1)."""

    scale_factor: float = 0.35
    rotation_factor: float = 45.0
    rotation_prob: float = 0.6
    flip: bool = True
    flip_prob: float = 0.5
    prob_half_body: float = 0.3
    num_joints_half_body: int = 8
    half_body_padding: float = 1.5


class PosePipeline:
    """Builds training and evaluation datasets from :class:`~hrnet_tf.pose.sources.PoseRecords`."""

    def __init__(self, codec: PoseCodec, augmentation: Augmentation | None = None,
                 normalization=IMAGENET):
        self.codec = codec
        self.augmentation = augmentation or Augmentation()
        self.normalization = normalization
        self._flip_perm = tf.constant(codec.keypoints.flip_permutation(), tf.int32)
        self._upper = tf.constant(codec.keypoints.upper_body_mask())

    # ------------------------------------------------------------------ augmentation pieces
    def half_body(self, joints, visible, coin, normal):
        """Official ``half_body_transform`` (TF). Returns (ok, center, scale); ``ok`` is False
        when fewer than two joints are selected."""
        aug = self.augmentation
        labelled = visible > 0
        upper = labelled & self._upper
        lower = labelled & ~self._upper
        n_upper = tf.reduce_sum(tf.cast(upper, tf.int32))
        n_lower = tf.reduce_sum(tf.cast(lower, tf.int32))
        # randn() < 0.5 with > 2 upper joints -> upper; else lower if > 2 lower joints, else upper
        use_upper = ((normal < 0.5) & (n_upper > 2)) | ~(n_lower > 2)
        selected = tf.where(use_upper, upper, lower)
        count = tf.reduce_sum(tf.cast(selected, tf.float32))
        center = tf.reduce_sum(tf.where(selected[:, None], joints, 0.0), 0) / tf.maximum(count, 1)
        top_left = tf.reduce_min(tf.where(selected[:, None], joints, np.inf), 0)
        bottom_right = tf.reduce_max(tf.where(selected[:, None], joints, -np.inf), 0)
        w, h = bottom_right[0] - top_left[0], bottom_right[1] - top_left[1]
        ratio = self.codec.aspect_ratio
        w, h = (
            tf.where(w < ratio * h, h * ratio, w),
            tf.where(w > ratio * h, w / ratio, h),
        )
        scale = tf.stack([w, h]) / affine.PIXEL_STD * aug.half_body_padding
        eligible = tf.reduce_sum(visible) > aug.num_joints_half_body
        ok = eligible & (coin < aug.prob_half_body) & (count >= 2)
        return ok, center, scale

    def draw_augmentation(self, record, seed):
        """The random crop of one training sample: (center, scale, rotation, flip)."""
        aug = self.augmentation
        joints = tf.cast(record["joints"], tf.float32)
        visible = tf.cast(record["visible"], tf.float32)
        center = tf.cast(record["center"], tf.float32)
        scale = tf.cast(record["scale"], tf.float32)
        uniform = tf.random.stateless_uniform([4], seed)
        normal = tf.random.stateless_normal([4], seed + 1)

        ok, hb_center, hb_scale = self.half_body(joints, visible, uniform[0], normal[0])
        center = tf.where(ok, hb_center, center)
        scale = tf.where(ok, hb_scale, scale)
        sf, rf = aug.scale_factor, aug.rotation_factor
        scale = scale * tf.clip_by_value(normal[1] * sf + 1, 1 - sf, 1 + sf)
        rotation = tf.where(uniform[1] <= aug.rotation_prob,
                            tf.clip_by_value(normal[2] * rf, -2 * rf, 2 * rf), 0.0)
        flip = tf.logical_and(aug.flip, uniform[2] <= aug.flip_prob)
        return center, scale, rotation, flip

    def crop_sample(self, image, joints, visible, center, scale, rotation, flip):
        """Crop + targets for given augmentation parameters (center/scale before the flip).

        Returns (normalised image [H, W, 3], {"heatmaps": [h, w, J], "target_weight": [J]}).
        """
        return self._crop(image, tf.zeros([2], tf.int32), tf.shape(image)[:2], joints, visible,
                          center, scale, rotation, flip)

    def _pixels_to_crop(self, image_width, center, scale, rotation, flip):
        """(image pixels -> crop matrix, crop matrix of the mirrored frame the joints are in)."""
        center = tf.cast(center, tf.float32)
        center = tf.where(flip, tf.stack([image_width - center[0] - 1, center[1]]), center)
        crop = affine.similarity_matrix(center, scale, rotation, self.codec.image_size)
        # the pixels are warped from the unflipped image: crop o mirror == crop of the mirror
        pixels_to_crop = tf.cond(
            flip, lambda: affine.compose_affine(crop, affine.horizontal_flip_matrix(image_width)),
            lambda: crop)
        return pixels_to_crop, crop

    def _crop(self, window, top_left, image_hw, joints, visible, center, scale, rotation, flip):
        """``crop_sample`` from a window of the image whose top-left pixel is ``top_left`` (y, x)
        in an image of size ``image_hw``."""
        joints = tf.cast(joints, tf.float32)
        visible = tf.cast(visible, tf.float32)
        width = tf.cast(image_hw[1], tf.float32)
        flipped_joints = tf.gather(tf.stack([width - joints[:, 0] - 1, joints[:, 1]], -1),
                                   self._flip_perm)
        flipped_visible = tf.gather(visible, self._flip_perm)
        joints = tf.where(flip, flipped_joints * flipped_visible[:, None], joints)
        visible = tf.where(flip, flipped_visible, visible)

        pixels_to_crop, crop = self._pixels_to_crop(width, center, scale, rotation, flip)
        offset = tf.cast(top_left[::-1], tf.float32)  # window (u, v) = image (x, y) - offset
        window_to_image = tf.concat([tf.eye(2), offset[:, None]], axis=1)
        # the official call itself (cv2.warpAffine on the uint8 image), 3x faster than TF's kernel
        crop_image = affine.warp_affine_cv2(
            window, affine.compose_affine(pixels_to_crop, window_to_image), self.codec.image_size)
        joints = tf.where(visible[:, None] > 0, affine.transform_points(joints, crop), joints)
        heatmaps, target_weight = self.codec.encode(joints, visible)
        return (normalize(crop_image, self.normalization),
                {"heatmaps": heatmaps, "target_weight": target_weight})

    def _source_window(self, image_shape, center, scale, rotation, flip):
        """(top, left, height, width) of the image pixels the crop's bilinear warp reads.

        The crop's output pixels (0 .. size - 1) map into the bounding box of its four corners'
        sources; bilinear sampling reads floor(p) and floor(p) + 1; one more pixel of margin
        absorbs float rounding. A crop entirely outside the image reads nothing (a 1-pixel window
        at the nearest edge: its samples stay outside it, so the warp gives zeros as before)."""
        height, width = image_shape[0], image_shape[1]
        pixels_to_crop, _ = self._pixels_to_crop(tf.cast(width, tf.float32), center, scale,
                                                 rotation, flip)
        out_w, out_h = (float(v) for v in self.codec.image_size)
        corners = tf.constant([[0.0, 0.0], [out_w - 1, 0.0], [0.0, out_h - 1],
                               [out_w - 1, out_h - 1]])
        sources = affine.transform_points(corners, affine.invert_affine(pixels_to_crop))
        low = tf.cast(tf.floor(tf.reduce_min(sources, 0)), tf.int32) - 1
        high = tf.cast(tf.floor(tf.reduce_max(sources, 0)), tf.int32) + 2  # exclusive
        left = tf.clip_by_value(low[0], 0, width - 1)
        top = tf.clip_by_value(low[1], 0, height - 1)
        right = tf.clip_by_value(high[0], left + 1, width)
        bottom = tf.clip_by_value(high[1], top + 1, height)
        return top, left, bottom - top, right - left

    def train_sample(self, record, seed):
        """One augmented sample: (image [H, W, 3], {"heatmaps", "target_weight"}).

        Only the window of the image that the crop reads is decoded (JPEG): a person usually
        covers a fraction of the photo, and decoding is most of a sample's cost. The pixels equal
        a whole decode's (tests/pose/test_pipeline.py)."""
        center, scale, rotation, flip = self.draw_augmentation(record, seed)
        window, top_left, image_hw = decode_image_window(
            read_checked_bytes(record["image_path"]),
            lambda shape: self._source_window(shape, center, scale, rotation, flip))
        return self._crop(window, top_left, image_hw, record["joints"], record["visible"],
                          center, scale, rotation, flip)

    def eval_sample(self, index, record):
        """The un-augmented crop of a record's box, as the evaluation loop takes it: {"index",
        "image" (normalised), "center", "scale", "ok", "problem"}."""
        image, ok = read_image_if_complete(record["image_path"])
        crop = self.codec.crop(image, record["center"], record["scale"])
        return {"index": index, "image": normalize(crop, self.normalization),
                "center": record["center"], "scale": record["scale"], "ok": ok,
                "problem": tf.constant(BAD_IMAGE)}

    # ------------------------------------------------------------------ datasets
    def train_dataset(self, records, batch_size, seed=0, shuffle=True, shards=(1, 0),
                      num_parallel_calls=tf.data.AUTOTUNE, drop_remainder=True):
        """One epoch of augmented batches; order and augmentation depend only on ``seed``.

        ``shards`` = (number of input pipelines, this one's index), from
        :func:`hrnet_tf.training.task.shard_of`.
        """
        index = np.arange(records.size, dtype=np.int64)
        if shuffle:
            index = np.random.default_rng(int(seed)).permutation(index)
        data = {k: v[index] for k, v in records.as_dict().items()
                if k in ("image_path", "center", "scale", "joints", "visible")}
        ds = tf.data.Dataset.from_tensor_slices((index, data))
        count, shard = shards
        if count > 1:
            ds = ds.shard(count, shard)
        seed_base = tf.constant(int(seed), tf.int64)

        def sample(sample_index, record):
            return self.train_sample(record, tf.stack([seed_base, sample_index * 2]))

        ds = ds.map(sample, num_parallel_calls=num_parallel_calls, deterministic=True)
        return ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)

    def eval_dataset(self, records, batch_size, num_parallel_calls=tf.data.AUTOTUNE):
        """Crops in record order, batches of :meth:`eval_sample` dicts. A sample whose image
        the decoder still rejects is dropped here and reported missing by the evaluation loop."""
        data = {k: records.as_dict()[k] for k in ("image_path", "center", "scale")}
        ds = tf.data.Dataset.from_tensor_slices((np.arange(records.size, dtype=np.int64), data))
        ds = ds.map(self.eval_sample, num_parallel_calls=num_parallel_calls, deterministic=True)
        return ds.ignore_errors().batch(batch_size).prefetch(tf.data.AUTOTUNE)


__all__ = ["Augmentation", "BAD_IMAGE", "PosePipeline", "read_checked_image"]
