"""Whole / sliding-window / multi-scale+flip inference against the official test loop re-derived
in NumPy/cv2 (HRNet-Semantic-Segmentation ``BaseDataset.inference``, Cityscapes
``multi_scale_inference``), and the LIP channel swap."""

import cv2
import keras
import numpy as np
import pytest

import hrnet_tf
from hrnet_tf.segmentation.codec import (
    inference,
    multi_scale_inference,
    predict_labels,
    resized_shape,
    sliding_window,
    whole_image_labels,
    window_starts,
)

from .official_test import official_cityscapes


def pointwise_model(classes=4, seed=0):
    """A 1x1-conv "segmenter" with stride-1 output: no spatial context, so sliding windows and
    whole-image passes must agree exactly, and flips change nothing."""
    inputs = keras.Input((None, None, 3))
    outputs = keras.layers.Conv2D(classes, 1, kernel_initializer=keras.initializers.RandomNormal(
        seed=seed), bias_initializer="zeros")(inputs)
    return keras.Model(inputs, outputs)


def _resize(array, height, width):
    return cv2.resize(array, (width, height), interpolation=cv2.INTER_LINEAR)


def official_inference(model, image, flip=False, flip_pairs=()):
    """``BaseDataset.inference``: logits resized to the input, flip-averaged, exp. [h, w, C]."""
    h, w = image.shape[:2]
    pred = _resize(np.asarray(model(image[None]))[0], h, w)
    if flip:
        mirrored = _resize(np.asarray(model(image[None, :, ::-1].copy()))[0], h, w)
        for left, right in flip_pairs:
            mirrored[..., [left, right]] = mirrored[..., [right, left]]
        pred = (pred + mirrored[:, ::-1]) / 2
    return np.exp(pred)


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


def test_multi_scale_sum_of_a_pointwise_model_matches_cv2():
    model = pointwise_model(classes=3, seed=1)
    kernel, bias = (np.asarray(w) for w in model.layers[1].weights)
    image = np.random.default_rng(1).normal(size=(1, 40, 60, 3)).astype(np.float32)
    scales = (0.5, 1.0, 1.5)
    ours = multi_scale_inference(model, image, scales, flip=True, crop_size=(32, 48)).numpy()
    expected = np.zeros((40, 60, 3))
    for s in scales:
        h, w = resized_shape(40, 60, int(60 * s + 0.5))
        exp_logits = np.exp(_resize(image[0], h, w) @ kernel[0, 0] + bias)  # exp, no softmax
        expected += _resize(exp_logits, 40, 60)
    np.testing.assert_allclose(ours[0], expected, rtol=2e-4)


def test_multi_scale_flip_of_hrnet_matches_the_official_loop():
    model = hrnet_tf.HRNetV2("tiny", num_classes=5)
    image = np.random.default_rng(2).normal(size=(1, 45, 75, 3)).astype(np.float32)
    scales, crop = (0.75, 1.0, 1.25), (32, 64)
    ours = multi_scale_inference(model, image, scales, flip=True, crop_size=crop).numpy()[0]
    want = official_cityscapes(model, image[0], scales, True, crop, 75, False, [])
    assert ours.shape == want.shape == (45, 75, 5)
    np.testing.assert_allclose(ours, want, rtol=1e-3, atol=1e-3 * np.abs(want).max())
    ids = predict_labels(model, image, "multiscale", scales, True, crop)
    assert np.mean(ids == want.argmax(-1)) > 0.99
    # The window covers the image at scale 1: sliding equals whole.
    whole = inference(model, image).numpy()
    np.testing.assert_allclose(sliding_window(model, image, crop_size=(64, 96)).numpy(), whole,
                               rtol=1e-5)
    with pytest.raises(ValueError, match="whole, sliding or multiscale"):
        predict_labels(model, image, "pyramid")


def test_whole_image_labels_at_a_fixed_input_and_the_label_size():
    # The LIP test: the network runs at the crop size, scores are compared at the label's size.
    model = hrnet_tf.HRNetV2("tiny", num_classes=4)
    image = np.random.default_rng(4).normal(size=(1, 37, 29, 3)).astype(np.float32)
    ids = whole_image_labels(model, image, input_size=(32, 32), output_size=(37, 29)).numpy()[0]
    scores = official_inference(model, _resize(image[0], 32, 32))
    want = _resize(scores, 37, 29).argmax(-1)
    assert ids.shape == (37, 29) and np.mean(ids == want) > 0.99


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
    np.testing.assert_allclose(flipped[0], official_inference(model, image[0], True, ((0, 1),)),
                               rtol=1e-5)
