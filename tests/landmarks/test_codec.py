"""The codec against the NumPy re-derivation of the official transforms, targets and decoding
(hrnet_tf/testing/landmarks_reference.py: lib/utils/transforms.py get_transform, transform_pixel,
generate_target; lib/core/evaluation.py get_preds, decode_preds), on random inputs."""

import numpy as np
import pytest
import tensorflow as tf

from hrnet_tf.landmarks.codec import (
    LandmarkCodec,
    decode_heatmaps,
    face_box_to_center_scale,
    transform_matrix,
    transform_pixel,
)
from hrnet_tf.testing import landmarks_reference as ref


@pytest.mark.parametrize("rotation", [0.0, 17.5, -30.0])
def test_transform_and_transform_pixel_match_official(rotation):
    rng = np.random.default_rng(0)
    for _ in range(20):
        center = rng.uniform(20, 300, 2).astype(np.float32).astype(np.float64)
        scale = rng.uniform(0.2, 2.0)
        size = int(rng.choice([16, 64, 256]))
        want = ref.get_transform(center, scale, [size, size], rotation)[:2]
        got = transform_matrix(tf.constant(center), tf.constant(scale, tf.float64),
                               size, rotation if rotation else 0.0).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-9)
        points = rng.uniform(0, 400, (7, 2))
        for invert in (0, 1):
            want_px = np.array([ref.transform_pixel(p, center, scale, [size, size], invert,
                                                    rotation) for p in points])
            got_px = transform_pixel(tf.constant(points), tf.constant(want), invert=bool(invert))
            np.testing.assert_array_equal(got_px.numpy(), want_px)


@pytest.mark.parametrize("rotation,sigma", [(0.0, 1.5), (23.0, 1.0), (-12.0, 2.0)])
def test_targets_match_generate_target(rotation, sigma):
    rng = np.random.default_rng(1)
    codec = LandmarkCodec(64, 16, sigma)
    for _ in range(5):
        center = np.float32(rng.uniform(60, 140, 2))
        scale = rng.uniform(0.3, 0.8) * 1.25
        points = rng.uniform(-40, 240, (12, 2))  # some off the map, some with y <= 0
        points[0, 1] = -3.0
        want = ref.targets(points, center, scale, 16, sigma, rot=rotation)
        matrix = codec.heatmap_matrix(tf.constant(center), tf.constant(scale, tf.float64),
                                      tf.constant(rotation, tf.float64))
        got = codec.encode(tf.constant(points), matrix).numpy().transpose(2, 0, 1)
        np.testing.assert_allclose(got, want, atol=1e-6)
        assert not got[0].any()  # y <= 0: no target


def _heatmaps(rng, n, c, size):
    """Peaky random heatmaps (some maxima on the border, one all-negative map)."""
    hm = rng.normal(0, 0.05, (n, c, size, size)).astype(np.float32)
    for i in range(n):
        for j in range(c):
            y, x = rng.integers(0, size, 2)
            hm[i, j, y, x] += 1.0
    hm[0, 0] = -np.abs(hm[0, 0]) - 0.1
    return hm


def test_decodings_match_official_and_references():
    rng = np.random.default_rng(2)
    hm = _heatmaps(rng, 4, 9, 16)
    centers = rng.uniform(50, 200, (4, 2)).astype(np.float32)
    scales = rng.uniform(0.3, 1.5, 4) * 1.25
    nhwc = tf.constant(hm.transpose(0, 2, 3, 1))
    official, maxima = decode_heatmaps(nhwc, centers, scales)
    np.testing.assert_array_equal(official.numpy(), ref.decode_preds(hm.copy(), centers, scales,
                                                                     [16, 16]))
    np.testing.assert_allclose(maxima.numpy(), hm.reshape(4, 9, -1).max(-1))
    floats, _ = decode_heatmaps(nhwc, centers, scales, "float")
    np.testing.assert_allclose(floats.numpy(), ref.decode_float(hm.copy(), centers, scales,
                                                                [16, 16]), atol=1e-9)
    # the official points are the float ones truncated: astype(int) + 1 of (t^-1 (c - 1)) + 1
    np.testing.assert_array_equal(official.numpy(), np.trunc(floats.numpy()) + 1)
    dark, _ = decode_heatmaps(nhwc, centers, scales, "dark", sigma=2.0)
    np.testing.assert_allclose(dark.numpy(), ref.dark_decode(hm.copy(), centers, scales,
                                                             [16, 16], 11), atol=1e-3)


def test_estimate_finds_gaussian_peaks_and_face_boxes():
    center, scale = face_box_to_center_scale(tf.constant([[10.0, 20.0, 40.0, 30.0]]))
    np.testing.assert_allclose(center.numpy(), [[30.0, 35.0]])
    np.testing.assert_allclose(scale.numpy(), [0.2])
    codec = LandmarkCodec(64, 16, 1.0, decoding="float")
    image = tf.zeros([120, 100, 3], tf.uint8)
    boxes = np.array([[20.0, 30.0, 50.0, 50.0]], np.float32)
    truth = np.array([[30.0, 40.0], [55.0, 60.0], [44.0, 71.0]])
    c, s = face_box_to_center_scale(boxes)
    s = codec.padded(s)

    def forward(crops):  # a perfect network: the targets of the true points
        assert crops.shape == (1, 64, 64, 3)
        return codec.encode(tf.constant(truth), codec.heatmap_matrix(c[0], s[0]))[None]

    points, scores = codec.estimate(forward, image, boxes)
    # one heatmap pixel is 200 * 0.625 / 16 = 7.8 image pixels: the quarter step and truncation
    assert np.abs(points.numpy()[0] - truth).max() < 7.8
    np.testing.assert_allclose(scores.numpy(), 1.0)
