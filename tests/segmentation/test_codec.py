"""Whole / sliding-window / multi-scale+flip inference: full-size, consistent outputs, and the
official combination rule re-derived with cv2."""

import cv2
import keras
import numpy as np
import pytest

import hrnet_tf
from hrnet_tf.segmentation.inference import (
    inference,
    multi_scale_inference,
    predict_train_ids,
    resized_shape,
    sliding_window,
    window_starts,
)


def pointwise_model(classes=4, seed=0):
    """A 1x1-conv "segmenter" with stride-1 output: no spatial context, so sliding windows and
    whole-image passes must agree exactly, and flips change nothing."""
    inputs = keras.Input((None, None, 3))
    outputs = keras.layers.Conv2D(classes, 1, kernel_initializer=keras.initializers.RandomNormal(
        seed=seed), bias_initializer="zeros")(inputs)
    return keras.Model(inputs, outputs)


def test_window_starts_follow_the_official_cityscapes_rule():
    assert window_starts(1024, 512, 512) == [0, 512]
    assert window_starts(2048, 1024, 1024) == [0, 1024]
    assert window_starts(1300, 512, 512) == [0, 512, 788]  # last window shifted back
    assert window_starts(300, 512, 512) == [0]
    assert window_starts(1024, 512, 341) == [0, 341, 512]  # 2/3 stride


def test_sliding_window_equals_whole_image_for_a_pointwise_model():
    model = pointwise_model()
    image = np.random.default_rng(0).normal(size=(1, 50, 70, 3)).astype(np.float32)
    whole = inference(model, image).numpy()
    windows = sliding_window(model, image, crop_size=(32, 32)).numpy()
    np.testing.assert_allclose(windows, whole, rtol=1e-5)
    overlapping = sliding_window(model, image, crop_size=(32, 32), stride=(20, 20)).numpy()
    np.testing.assert_allclose(overlapping, whole, rtol=1e-5)
    np.testing.assert_allclose(inference(model, image, flip=True).numpy(), whole, rtol=1e-5)


def test_multi_scale_sum_matches_cv2_rederivation():
    model = pointwise_model(classes=3, seed=1)
    kernel, bias = (w.numpy() if hasattr(w, "numpy") else w for w in model.layers[1].weights)
    image = np.random.default_rng(1).normal(size=(1, 40, 60, 3)).astype(np.float32)
    scales = (0.5, 1.0, 1.5)
    ours = multi_scale_inference(model, image, scales, flip=True, crop_size=(32, 48)).numpy()

    expected = np.zeros((40, 60, 3))
    for s in scales:
        h, w = resized_shape(40, 60, int(60 * s + 0.5))
        scaled = cv2.resize(image[0], (w, h), interpolation=cv2.INTER_LINEAR)
        exp_logits = np.exp(scaled @ kernel[0, 0] + bias)  # official: exp of logits, no softmax
        expected += cv2.resize(exp_logits, (60, 40), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_allclose(ours[0], expected, rtol=2e-4)


def test_multi_scale_of_hrnet_is_full_size_and_consistent():
    model = hrnet_tf.HRNetV2("tiny", num_classes=5)
    image = np.random.default_rng(2).normal(size=(1, 45, 75, 3)).astype(np.float32)
    whole = inference(model, image).numpy()
    assert whole.shape == (1, 45, 75, 5)
    single = multi_scale_inference(model, image, scales=(1.0,)).numpy()
    np.testing.assert_allclose(single, whole, rtol=1e-5)
    double = multi_scale_inference(model, image, scales=(1.0, 1.0)).numpy()
    np.testing.assert_allclose(double, 2 * whole, rtol=1e-5)
    # The window covers the image at scale 1: sliding equals whole.
    big = sliding_window(model, image, crop_size=(64, 96)).numpy()
    np.testing.assert_allclose(big, whole, rtol=1e-5)
    ms = multi_scale_inference(model, image, (0.75, 1.0, 1.25), flip=True,
                               crop_size=(32, 64)).numpy()
    assert ms.shape == (1, 45, 75, 5) and np.isfinite(ms).all() and (ms > 0).all()
    ids = predict_train_ids(model, image, "multiscale", (0.75, 1.25), True, (32, 64))
    assert ids.shape == (45, 75) and ids.min() >= 0 and ids.max() < 5
    with pytest.raises(ValueError, match="whole, sliding or multiscale"):
        predict_train_ids(model, image, "pyramid")


def test_flip_pairs_swap_left_right_channels_of_the_mirrored_pass():
    # A pointwise model is mirror-equivariant, so with flip_pairs=((0, 1),) the mirrored pass
    # contributes channel 1 where channel 0 was: logits of 0 and 1 become their average (LIP).
    model = pointwise_model(classes=3, seed=3)
    image = np.random.default_rng(3).normal(size=(1, 8, 10, 3)).astype(np.float32)
    logits = np.log(inference(model, image).numpy())
    expected = logits.copy()
    expected[..., 0] = expected[..., 1] = (logits[..., 0] + logits[..., 1]) / 2
    flipped = inference(model, image, flip=True, flip_pairs=((0, 1),)).numpy()
    np.testing.assert_allclose(np.log(flipped), expected, atol=1e-5)
