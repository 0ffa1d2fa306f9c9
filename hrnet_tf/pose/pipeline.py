"""tf.data pipeline of the official top-down pose training and evaluation, in TF ops only.

Per training sample, in the official order (``JointsDataset.__getitem__``): half-body crop
(probability ``prob_half_body`` when more than ``num_joints_half_body`` joints are labelled; upper
body when ``randn() < 0.5`` -- a normal draw, so P(upper) ~ 0.69, kept for fidelity), scale
``clip(randn * sf + 1, 1 - sf, 1 + sf)``, rotation ``clip(randn * rf, -2rf, 2rf)`` with
probability 0.6, horizontal flip with probability 0.5 (``x -> width - x - 1``, pairs swapped),
then one affine warp to the input size, Gaussian targets from :class:`PoseCodec`, ImageNet
normalisation. The flip is folded into the warp matrix instead of mirroring pixels: same result,
one resampling.

Random draws are stateless, keyed by (seed, sample index): an epoch is reproducible from its
seed alone, in any number of parallel map calls.

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
from hrnet_tf.pose.codec import PoseCodec

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


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


def read_image(path):
    """RGB uint8 [H, W, 3] from a JPEG/PNG/BMP file (EXIF orientation ignored, as the official
    ``cv2.IMREAD_IGNORE_ORIENTATION``). JPEGs use the accurate integer DCT, which gives exactly
    the pixels of cv2/libjpeg-turbo (TF's default fast DCT is off by ~1 grey level)."""
    data = tf.io.read_file(path)
    return tf.cond(
        tf.io.is_jpeg(data),
        lambda: tf.io.decode_jpeg(data, channels=3, dct_method="INTEGER_ACCURATE"),
        lambda: tf.io.decode_image(data, channels=3, expand_animations=False),
    )


def normalize(image):
    """uint8/float RGB in [0, 255] -> ImageNet-normalised float32."""
    image = tf.cast(image, tf.float32) / 255.0
    return (image - tf.constant(IMAGENET_MEAN)) / tf.constant(IMAGENET_STD)


class PosePipeline:
    """Builds training and evaluation datasets from :class:`~hrnet_tf.pose.coco.PoseRecords`."""

    def __init__(self, codec: PoseCodec, augmentation: Augmentation | None = None):
        self.codec = codec
        self.augmentation = augmentation or Augmentation()
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
        joints = tf.cast(joints, tf.float32)
        visible = tf.cast(visible, tf.float32)
        center = tf.cast(center, tf.float32)
        width = tf.cast(tf.shape(image)[1], tf.float32)
        flipped_joints = tf.gather(tf.stack([width - joints[:, 0] - 1, joints[:, 1]], -1),
                                   self._flip_perm)
        flipped_visible = tf.gather(visible, self._flip_perm)
        joints = tf.where(flip, flipped_joints * flipped_visible[:, None], joints)
        visible = tf.where(flip, flipped_visible, visible)
        center = tf.where(flip, tf.stack([width - center[0] - 1, center[1]]), center)

        crop = affine.similarity_matrix(center, scale, rotation, self.codec.image_size)
        # the pixels are warped from the unflipped image: crop o mirror == crop of the mirror
        pixels_to_crop = tf.cond(
            flip, lambda: affine.compose_affine(crop, affine.horizontal_flip_matrix(width)),
            lambda: crop)
        crop_image = affine.warp_affine(image, pixels_to_crop, self.codec.image_size)
        joints = tf.where(visible[:, None] > 0, affine.transform_points(joints, crop), joints)
        heatmaps, target_weight = self.codec.encode(joints, visible)
        return normalize(crop_image), {"heatmaps": heatmaps, "target_weight": target_weight}

    def train_sample(self, record, seed):
        """One augmented sample: (image [H, W, 3], {"heatmaps", "target_weight"})."""
        center, scale, rotation, flip = self.draw_augmentation(record, seed)
        return self.crop_sample(read_image(record["image_path"]), record["joints"],
                                record["visible"], center, scale, rotation, flip)

    def eval_sample(self, record):
        """Un-augmented crop of the record's box: ImageNet-normalised [H, W, 3]."""
        image = read_image(record["image_path"])
        crop = affine.similarity_matrix(record["center"], record["scale"], 0.0,
                                        self.codec.image_size)
        return normalize(affine.warp_affine(image, crop, self.codec.image_size))

    # ------------------------------------------------------------------ datasets
    def train_dataset(self, records, batch_size, seed=0, shuffle=True, input_context=None,
                      num_parallel_calls=tf.data.AUTOTUNE, drop_remainder=True):
        """One epoch of augmented batches; order and augmentation depend only on ``seed``."""
        data = {k: v for k, v in records.as_dict().items()
                if k in ("image_path", "center", "scale", "joints", "visible")}
        ds = tf.data.Dataset.from_tensor_slices(data).enumerate()
        if input_context is not None and input_context.num_input_pipelines > 1:
            ds = ds.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
        if shuffle:
            ds = ds.shuffle(records.size, seed=seed, reshuffle_each_iteration=False)
        seed_base = tf.constant(seed, tf.int64)

        def sample(index, record):
            return self.train_sample(record, tf.stack([seed_base, index * 2]))

        ds = ds.map(sample, num_parallel_calls=num_parallel_calls, deterministic=True)
        return ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)

    def eval_dataset(self, records, batch_size, num_parallel_calls=tf.data.AUTOTUNE):
        """Crops in record order (ImageNet-normalised batches, no targets)."""
        data = {k: records.as_dict()[k] for k in ("image_path", "center", "scale")}
        ds = tf.data.Dataset.from_tensor_slices(data)
        ds = ds.map(self.eval_sample, num_parallel_calls=num_parallel_calls, deterministic=True)
        return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
