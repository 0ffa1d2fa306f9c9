"""The official test protocol (``tools/test.py`` -> ``testval`` -> ``multi_scale_inference``)
re-derived line by line in NumPy/cv2 from HRNet-Semantic-Segmentation ``lib/datasets/
cityscapes.py`` (``Cityscapes.multi_scale_inference``) and ``lib/datasets/base_dataset.py``
(``BaseDataset.multi_scale_inference``, ``pad_image``, ``inference``), branch HRNet-OCR (score
resizes with ``MODEL.ALIGN_CORNERS``), on a random small stride-4 network with 3x3 context (so
windows and padding change the scores): label maps, score sums, and the windows run (their count
and positions). HRNetV2 itself through the same loops: test_codec.py."""

import keras
import numpy as np
import pytest

from hrnet_tf.segmentation.codec import (
    default_stride,
    generic_window_starts,
    multi_scale_inference,
    predict_labels,
)

from .official_test import PAD, official_cityscapes, official_generic


@pytest.fixture(scope="module")
def model():
    init = keras.initializers.RandomNormal(stddev=0.5, seed=0)
    inputs = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu",
                            kernel_initializer=init)(inputs)
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu",
                            kernel_initializer=init)(x)
    outputs = keras.layers.Conv2D(4, 3, padding="same", kernel_initializer=init)(x)
    return keras.Model(inputs, outputs)


def check(ours, want):
    assert ours.shape == want.shape
    np.testing.assert_allclose(ours, want, rtol=1e-3, atol=1e-3 * np.abs(want).max())
    return np.mean(ours.argmax(-1) == want.argmax(-1))


def test_cityscapes_windows_are_the_test_size_not_the_training_crop(model):
    # Image 48x96 ("1024x2048"), test size = the image, training crop 24x48 ("512x1024").
    image = np.random.default_rng(0).normal(size=(48, 96, 3)).astype(np.float32)
    scales, test_size, base = (0.5, 1.0, 1.5), (48, 96), 96
    ours_windows, want_windows = [], []
    ours = multi_scale_inference(model, image[None], scales, True, test_size, base,
                                 protocol="cityscapes", windows=ours_windows).numpy()[0]
    want = official_cityscapes(model, image, scales, True, test_size, base, False, want_windows)
    assert check(ours, want) > 0.99
    # scale 1.5 -> 72x144: 4 windows of 48x96 at rows {0, 24}, columns {0, 48} (shifted back).
    assert ours_windows == want_windows == [
        (0, 0, 24, 48), (0, 0, 48, 96), (0, 0, 48, 96), (0, 48, 48, 144), (24, 0, 72, 96),
        (24, 48, 72, 144)]
    crop_windows = []  # the training crop would have run 9 windows at scale 1.5
    multi_scale_inference(model, image[None], (1.5,), False, (24, 48), base, windows=crop_windows)
    assert len(crop_windows) == 9
    ids = predict_labels(model, image[None], "multiscale", scales, True, test_size, base)
    assert np.mean(ids == want.argmax(-1)) > 0.99


@pytest.mark.parametrize("align_corners", [False, True])
def test_generic_rule_pads_small_images_and_edge_windows(model, align_corners):
    # PASCAL-Context-like: a 40x60 image, test size 32x32, base 60; stride int(32 * 2/3) = 21.
    image = np.random.default_rng(1).normal(size=(40, 60, 3)).astype(np.float32)
    scales, test_size, base = (0.5, 1.0), (32, 32), 60
    ours_windows, want_windows = [], []
    ours = multi_scale_inference(model, image[None], scales, True, test_size, base,
                                 protocol="generic", pad_value=PAD, align_corners=align_corners,
                                 windows=ours_windows).numpy()[0]
    want = official_generic(model, image, scales, True, test_size, base, align_corners,
                            want_windows)
    assert check(ours, want) > 0.99
    # 0.5 -> 20x30 fits in 32: one padded 32x32 pass; 1.0 -> 40x60: 2 x 3 windows, not shifted
    # back (the edge ones are padded): rows {0, 21}, columns {0, 21, 42}.
    assert ours_windows == want_windows == [
        (0, 0, 32, 32), (0, 0, 32, 32), (0, 21, 32, 53), (0, 42, 32, 60), (21, 0, 40, 32),
        (21, 21, 40, 53), (21, 42, 40, 60)]
    assert default_stride((480, 480), "generic") == (320, 320)
    assert default_stride((1024, 2048), "cityscapes") == (1024, 2048)
    assert generic_window_starts(40, 32, 21) == [0, 21]


def test_generic_rule_image_smaller_than_the_window_in_one_side(model):
    # 20x45 at base 45: longer than 32 but shorter in height -> padded to 32x45, then windows.
    image = np.random.default_rng(2).normal(size=(20, 45, 3)).astype(np.float32)
    ours_windows, want_windows = [], []
    ours = multi_scale_inference(model, image[None], (1.0,), False, (32, 32), 45,
                                 protocol="generic", pad_value=PAD, windows=ours_windows).numpy()[0]
    want = official_generic(model, image, (1.0,), False, (32, 32), 45, False, want_windows)
    assert check(ours, want) > 0.99
    assert ours_windows == want_windows == [(0, 0, 32, 32), (0, 21, 32, 45)]
    # The padding matters: zeros instead of the normalized black give other scores.
    zeros = multi_scale_inference(model, image[None], (1.0,), False, (32, 32), 45,
                                  protocol="generic", pad_value=np.zeros(3)).numpy()[0]
    assert np.abs(zeros - want).max() > 1e-2 * np.abs(want).max()
