"""DARK (ilovepose/DarkPose): the unbiased targets and the Taylor-step decoding of pose/codec.py
against the NumPy/cv2 re-derivation of DarkPose's ``generate_target``/``adjust_target_weight`` and
``lib/core/inference.py`` (``gaussian_blur``, ``taylor``, ``get_final_preds``) in
hrnet_tf.testing.pose_reference, on random inputs."""

import cv2
import numpy as np
import pytest
import tensorflow as tf

from hrnet_tf.pose import codec as pose_codec
from hrnet_tf.pose.codec import PoseCodec, codec_for_model
from hrnet_tf.pose.keypoints import COCO
from hrnet_tf.testing import pose_reference as ref

from .helpers import tiny_pose_model

RNG = np.random.default_rng(7)


def noisy_gaussians(n, joints, height, width, sigma=2.0):
    """NCHW maps: one scaled Gaussian per map at a float centre (some off the map) plus noise."""
    ys, xs = np.mgrid[0:height, 0:width]
    out = np.zeros((n, joints, height, width), np.float32)
    for i in range(n):
        for j in range(joints):
            cx, cy = RNG.uniform(-1.5, width + 0.5), RNG.uniform(-1.5, height + 0.5)
            peak = np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * sigma**2))
            out[i, j] = RNG.uniform(0.2, 1.0) * peak + RNG.uniform(0, 0.05, (height, width))
    out[0, 0] = 0.0  # an all-zero map: argmax 0, no step (DarkPose's maxval > 0 mask)
    return out


@pytest.mark.parametrize("size", [1, 3, 5, 7, 9, 11, 17])
def test_blur_kernel_is_cv2s(size):
    np.testing.assert_allclose(pose_codec.gaussian_kernel(size),
                               cv2.getGaussianKernel(size, 0, cv2.CV_64F)[:, 0], rtol=1e-12)


def test_modulation_is_darkposes_gaussian_blur():
    hm = RNG.uniform(0, 1, (2, 3, 32, 24)).astype(np.float32)
    want = ref.gaussian_blur(hm.copy(), 11)
    ours = pose_codec.modulate(hm.transpose(0, 2, 3, 1), 11).numpy().transpose(0, 3, 1, 2)
    np.testing.assert_allclose(ours, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kernel,size", [(11, (32, 24)), (17, (48, 36)), (5, (16, 12))])
def test_dark_decoding_is_darkposes_get_final_preds(kernel, size):
    height, width = size
    hm = noisy_gaussians(3, 17, height, width)
    codec = PoseCodec((width * 4, height * 4), keypoints=COCO, decoding="dark", blur_kernel=kernel)
    centers = RNG.uniform(50, 300, (3, 2)).astype(np.float32)
    scales = RNG.uniform(0.5, 2.0, (3, 2)).astype(np.float32)
    ours = codec.decode(hm.transpose(0, 2, 3, 1), centers, scales).numpy()
    coords, maxvals = ref.dark_coordinates(hm.copy(), kernel)
    want = ref.to_image(coords, centers, scales, (width, height))
    np.testing.assert_allclose(ours[..., :2], want, rtol=1e-5, atol=2e-3)
    np.testing.assert_allclose(ours[..., 2], maxvals[..., 0], rtol=1e-6)
    # the step moved most joints off the integer grid (it is not a no-op)
    assert np.mean(np.abs(coords - np.round(coords)) > 1e-3) > 0.3


def test_unbiased_targets_are_darkposes_generate_target():
    codec = PoseCodec((96, 128), sigma=2.0, keypoints=COCO, encoding="unbiased")
    for _ in range(10):
        joints = RNG.uniform(-30, 130, (17, 2)).astype(np.float32)
        visible = (RNG.random(17) < 0.8).astype(np.float32)
        heatmaps, weight = codec.encode(tf.constant(joints), tf.constant(visible))
        want, want_weight = ref.generate_unbiased_target(joints / 4.0, visible, (24, 32), 2.0)
        np.testing.assert_array_equal(weight.numpy(), want_weight)
        np.testing.assert_allclose(heatmaps.numpy().transpose(2, 0, 1), want, atol=1e-6)
    assert 0 < want_weight.sum() < 17


def test_unbiased_encoding_and_dark_decoding_round_trip_to_the_float_joint():
    """DARK's point: the Gaussian of an unbiased target peaks at the float joint and the Taylor
    step finds it; the standard coding is off by up to a quarter pixel. (Joints 8 heatmap pixels
    from the border: nearer, the zero padding of the blur pulls them inwards, as in DarkPose.)"""
    joints = np.stack([RNG.uniform(32, 64, 17), RNG.uniform(32, 96, 17)], 1).astype(np.float32)
    visible = np.ones(17, np.float32)
    errors = {}
    for encoding, decoding in (("standard", "standard"), ("unbiased", "dark")):
        codec = PoseCodec((96, 128), keypoints=COCO, encoding=encoding, decoding=decoding)
        heatmaps, _ = codec.encode(tf.constant(joints), tf.constant(visible))
        coords, _ = pose_codec.heatmap_coordinates(heatmaps[None], decoding=decoding)
        errors[decoding] = np.abs(coords.numpy()[0] * 4.0 - joints).max()
    assert errors["dark"] < 0.05 < errors["standard"]


def test_a_bad_coding_option_is_refused():
    for kwargs in ({"encoding": "udp"}, {"decoding": "udp"}, {"blur_kernel": 4}):
        with pytest.raises(ValueError):
            PoseCodec((96, 128), keypoints=COCO, **kwargs)


def test_a_model_trained_with_dark_decoding_serves_with_it():
    """Training records eval.decoding in model.info.labels; predict and the SavedModel signature
    build their codec with codec_for_model, which reads it."""
    model = tiny_pose_model((64, 64))
    assert codec_for_model(model).decoding == "standard"
    model.info.labels.update(decoding="dark", blur_kernel=5)
    codec = codec_for_model(model)
    assert (codec.decoding, codec.blur_kernel) == ("dark", 5)
    assert codec_for_model(model, decoding="standard").decoding == "standard"


def test_the_serving_function_decodes_as_the_model_records():
    """The SavedModel ``keypoints`` signature's function (serve_keypoints) reads the decoding
    from the model: DARK's refined keypoints for a model trained with eval.decoding: dark."""
    from hrnet_tf.data.images import normalize

    model = tiny_pose_model((64, 64))
    image = tf.constant(RNG.integers(0, 255, (90, 70, 3)), tf.uint8)
    boxes = tf.constant([[5.0, 8.0, 50.0, 70.0], [20.0, 10.0, 40.0, 60.0]])
    standard = pose_codec.serve_keypoints(model, image, boxes)
    model.info.labels.update(decoding="dark", blur_kernel=11)
    dark = pose_codec.serve_keypoints(model, image, boxes)
    codec = PoseCodec((64, 64), keypoints=COCO, decoding="dark")
    centers, scales = codec.box_to_center_scale(boxes)
    crops = normalize(codec.crop_boxes(image, centers, scales))
    heatmaps = codec.heatmaps(lambda x: model(x, training=False), crops)
    want = codec.decode(heatmaps, centers, scales).numpy()
    np.testing.assert_allclose(dark["keypoints"].numpy(), want[..., :2], rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(dark["scores"].numpy(), standard["scores"].numpy(), rtol=1e-6)
    assert not np.allclose(dark["keypoints"].numpy(), standard["keypoints"].numpy())
