"""tf.data pipelines of the official face-landmark training and evaluation, in TF ops only.

Per training face, as ``lib/datasets/{wflw,face300w,cofw,aflw}.py __getitem__`` does it: the
record's scale times 1.25, times ``U(1 - scale_factor, 1 + scale_factor)``; a rotation
``U(-rot_factor, rot_factor)`` with probability 0.6 (else 0); with probability 0.5 (when
``flip``) the image mirrored (``np.fliplr``), the points by ``fliplr_joints`` (``x -> width - x``,
then the set's mirror pairs swapped) and the centre ``x -> width - x``; then the crop, the
Gaussian targets of the points with ``y > 0`` (:class:`~hrnet_tf.landmarks.codec.LandmarkCodec`)
and the ImageNet normalisation. Official defaults: scale_factor 0.25, rot_factor 30.

The mirror is folded into the crop's warp (the pixels of ``np.fliplr`` are ``x -> width - 1 -
x``: one resampling, same pixels). The official ``crop`` (``lib/utils/transforms.py``: cut, then
``scipy.misc.imrotate`` and ``imresize``, which no longer exist in SciPy) is replaced by one
bilinear ``warpAffine`` with the official ``get_transform`` matrix at the input size: the same
geometry, the targets and decoding exactly official (hrnet_tf/testing/landmarks_reference.py
``training_sample``).

Randomness is stateless, keyed by (seed, sample index); the epoch's order is a permutation drawn
from its seed. A training image that is not a complete file stops the run with one line naming it;
in evaluation it is flagged (``ok``/``problem``) and left out by the evaluation loop.
"""

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from hrnet_tf.data import affine
from hrnet_tf.data.images import BAD_IMAGE, normalize, read_checked_image, read_image_if_complete
from hrnet_tf.data.normalization import IMAGENET
from hrnet_tf.landmarks.codec import LandmarkCodec


@dataclass
class Augmentation:
    """The official face augmentation (experiments/*/face_alignment_*_hrnet_w18.yaml)."""

    scale_factor: float = 0.25
    rotation_factor: float = 30.0
    rotation_prob: float = 0.6
    flip: bool = True
    flip_prob: float = 0.5


class LandmarkPipeline:
    """Training and evaluation datasets from :class:`~hrnet_tf.landmarks.sources.LandmarkRecords`."""

    def __init__(self, codec: LandmarkCodec, landmark_set, augmentation=None,
                 normalization=IMAGENET):
        self.codec = codec
        self.landmark_set = landmark_set
        self.augmentation = augmentation or Augmentation()
        self.normalization = normalization
        self._flip_perm = tf.constant(landmark_set.flip_permutation(), tf.int32)

    def draw_augmentation(self, seed):
        """(scale factor, rotation in degrees, flip) of one training face."""
        aug = self.augmentation
        u = tf.random.stateless_uniform([4], seed, dtype=tf.float64)
        factor = 1.0 - aug.scale_factor + u[0] * 2.0 * aug.scale_factor
        rotation = tf.where(u[1] <= aug.rotation_prob,
                            -aug.rotation_factor + u[2] * 2.0 * aug.rotation_factor,
                            tf.constant(0.0, tf.float64))
        flip = tf.logical_and(tf.constant(bool(aug.flip)), u[3] <= aug.flip_prob)
        return factor, rotation, flip

    def crop_sample(self, image, points, center, scale, rotation, flip):
        """Crop and targets for given draws; ``scale`` already padded and randomised.

        Returns (normalised crop [S, S, 3], heatmaps [h, h, L])."""
        points = tf.cast(points, tf.float64)
        width = tf.cast(tf.shape(image)[1], tf.float64)
        flipped = tf.gather(tf.stack([width - points[:, 0], points[:, 1]], -1), self._flip_perm)
        points = tf.where(flip, flipped, points)
        # center[0] = img.shape[1] - center[0] on the float32 torch.Tensor centre
        center32 = tf.cast(center, tf.float32)
        center32 = tf.where(flip, tf.stack([tf.cast(width, tf.float32) - center32[0],
                                            center32[1]]), center32)
        crop = tf.cast(self.codec.input_matrix(center32, scale, rotation), tf.float32)
        pixels_to_crop = tf.cond(
            flip, lambda: affine.compose_affine(
                crop, affine.horizontal_flip_matrix(tf.cast(width, tf.float32))),
            lambda: crop)
        size = self.codec.image_size
        crop_image = affine.warp_affine(image, pixels_to_crop, (size, size))
        heatmaps = self.codec.encode(points, self.codec.heatmap_matrix(center32, scale, rotation))
        return normalize(crop_image, self.normalization), heatmaps

    def train_sample(self, record, seed):
        factor, rotation, flip = self.draw_augmentation(seed)
        scale = self.codec.padded(record["scale"]) * factor
        image = read_checked_image(record["image_path"])
        return self.crop_sample(image, record["points"], record["center"], scale, rotation, flip)

    def eval_sample(self, index, record):
        """The un-augmented crop of a face: {"index", "image", "center", "scale" (padded), "ok",
        "problem"}."""
        image, ok = read_image_if_complete(record["image_path"])
        scale = self.codec.padded(record["scale"])
        crop = self.codec.crop(image, record["center"], scale)
        return {"index": index, "image": normalize(crop, self.normalization),
                "center": tf.cast(record["center"], tf.float32), "scale": scale, "ok": ok,
                "problem": tf.constant(BAD_IMAGE)}

    def train_dataset(self, records, batch_size, seed=0, shuffle=True, shards=(1, 0),
                      num_parallel_calls=tf.data.AUTOTUNE, drop_remainder=True):
        """One epoch of augmented (image, heatmaps) batches; depends only on ``seed``."""
        index = np.arange(records.size, dtype=np.int64)
        if shuffle:
            index = np.random.default_rng(int(seed)).permutation(index)
        data = {k: v[index] for k, v in records.as_dict().items()}
        ds = tf.data.Dataset.from_tensor_slices((index, data))
        count, shard = shards
        if count > 1:
            ds = ds.shard(count, shard)
        seed_base = tf.constant(int(seed), tf.int64)

        def sample(sample_index, record):
            return self.train_sample(record, tf.stack([seed_base, sample_index]))

        ds = ds.map(sample, num_parallel_calls=num_parallel_calls, deterministic=True)
        return ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)

    def eval_dataset(self, records, batch_size, num_parallel_calls=tf.data.AUTOTUNE):
        data = {k: records.as_dict()[k] for k in ("image_path", "center", "scale")}
        ds = tf.data.Dataset.from_tensor_slices((np.arange(records.size, dtype=np.int64), data))
        ds = ds.map(self.eval_sample, num_parallel_calls=num_parallel_calls, deterministic=True)
        return ds.ignore_errors().batch(batch_size).prefetch(tf.data.AUTOTUNE)


__all__ = ["Augmentation", "LandmarkPipeline"]
