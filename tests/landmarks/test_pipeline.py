"""The tf.data pipeline against the official __getitem__ (re-derived in
hrnet_tf/testing/landmarks_reference.py training_sample: fliplr + fliplr_joints + centre mirror,
the crop of get_transform, the targets of transform_pixel/generate_target), its draws and its
stateless randomness."""

import os

import numpy as np
import pytest
import tensorflow as tf

from hrnet_tf.data.images import denormalize, read_image
from hrnet_tf.landmarks.codec import LandmarkCodec
from hrnet_tf.landmarks.landmark_sets import W300, LandmarkSet
from hrnet_tf.landmarks.pipeline import Augmentation, LandmarkPipeline
from hrnet_tf.landmarks.sources import read_official_csv
from hrnet_tf.landmarks.synthetic import IMAGE_DIR, SYNTHETIC_SET, TRAIN_CSV
from hrnet_tf.testing import landmarks_reference as ref


@pytest.mark.parametrize("rotation,flip", [(0.0, False), (21.0, True), (-28.0, False)])
def test_crops_and_targets_match_official(rotation, flip):
    rng = np.random.default_rng(5)
    image = rng.integers(0, 256, (90, 110, 3), dtype=np.uint8)
    points = rng.uniform(20, 80, (68, 2))
    center = np.float32([55.3, 47.9])
    scale = 0.45 * 1.25 * 1.1
    pipeline = LandmarkPipeline(LandmarkCodec(64, 16, 1.0), W300)
    want_crop, want_targets = ref.training_sample(image, points, center, scale, 64, 16, 1.0,
                                                  rotation, flip, "300W")
    crop, targets = pipeline.crop_sample(tf.constant(image), tf.constant(points),
                                         tf.constant(center), tf.constant(scale, tf.float64),
                                         tf.constant(rotation, tf.float64), tf.constant(flip))
    np.testing.assert_allclose(targets.numpy().transpose(2, 0, 1), want_targets, atol=1e-6)
    pixels = denormalize(crop).numpy()
    # cv2 interpolates in fixed point (1/32 pixel); the uint8 warp rounds: about a grey level
    assert np.abs(pixels - want_crop).max() < 2.0
    assert np.abs(pixels - want_crop).mean() < 0.3


def test_draws_follow_the_official_ranges():
    pipeline = LandmarkPipeline(LandmarkCodec(64), W300, Augmentation())
    draws = [pipeline.draw_augmentation(tf.constant([3, i], tf.int64)) for i in range(400)]
    factor = np.array([d[0].numpy() for d in draws])
    rotation = np.array([d[1].numpy() for d in draws])
    flip = np.array([bool(d[2]) for d in draws])
    assert 0.75 <= factor.min() and factor.max() <= 1.25
    assert np.abs(rotation).max() <= 30.0
    assert 0.5 < np.mean(rotation != 0) < 0.7 and 0.4 < flip.mean() < 0.6


def test_epochs_are_reproducible_and_labelled(synthetic_faces):
    records = read_official_csv(os.path.join(synthetic_faces, TRAIN_CSV),
                                os.path.join(synthetic_faces, IMAGE_DIR), 10)
    pipeline = LandmarkPipeline(LandmarkCodec(64, 16, 1.0), LandmarkSet.from_config(SYNTHETIC_SET))
    first = list(pipeline.train_dataset(records, 3, seed=7))
    second = list(pipeline.train_dataset(records, 3, seed=7))
    other = list(pipeline.train_dataset(records, 3, seed=8))
    assert len(first) == 2 and first[0][0].shape == (3, 64, 64, 3)
    assert first[0][1].shape == (3, 16, 16, 10)
    for (a, ta), (b, tb) in zip(first, second, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
        np.testing.assert_array_equal(ta.numpy(), tb.numpy())
    assert not np.array_equal(first[0][0].numpy(), other[0][0].numpy())
    # every un-augmented face's own peaks are where its points are
    sample = pipeline.eval_sample(tf.constant(0, tf.int64),
                                  {k: tf.constant(v[0]) for k, v in records.as_dict().items()})
    assert bool(sample["ok"]) and sample["image"].shape == (64, 64, 3)
    np.testing.assert_allclose(denormalize(sample["image"]).numpy(),
                               ref.crop_image(read_image(records.image_paths[0]).numpy(),
                                              records.centers[0], records.scales[0] * 1.25, 64),
                               atol=2.0)
