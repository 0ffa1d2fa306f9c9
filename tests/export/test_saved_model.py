"""SavedModel export: raw signature equals Keras; uint8 signatures take odd-sized images and
reproduce the official inference (cv2 / NumPy references)."""

import cv2
import numpy as np
import pytest
import tensorflow as tf

import hrnet_tf
from hrnet_tf.export import export_model, normalize_uint8

from .helpers import calibrated

MEAN = np.array([0.485, 0.456, 0.406])
STD = np.array([0.229, 0.224, 0.225])


def _normalize(image):
    return ((image / 255.0 - MEAN) / STD).astype(np.float32)


def _odd_image(height, width, seed=0):
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0, 255, (max(2, height // 8), max(2, width // 8), 3)).astype(np.float32)
    smooth = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    return np.clip(smooth, 0, 255).astype(np.uint8)


def test_classification_signature_returns_probabilities(tmp_path):
    # A small classifier head keeps this test fast; the signature code is what is tested.
    model = hrnet_tf.HRNetClassifier("tiny", num_classes=7, input_shape=(32, 32, 3))
    model, _ = calibrated(model, (32, 32))
    out = tmp_path / "cls"
    report = export_model(model, out, "saved_model", verbose=False)
    assert report["task"] == "classification"
    assert report["accuracy"]["relative_error"] <= 1e-4
    loaded = tf.saved_model.load(str(out))
    # 32 / 0.875 = 36.6: a 37x37 image is centre-cropped without resizing much.
    image = _odd_image(37, 37)[None]
    got = loaded.signatures["classify"](images=tf.constant(image))
    probabilities = got["probabilities"].numpy()
    assert probabilities.shape == (1, 7)
    np.testing.assert_allclose(probabilities.sum(), 1.0, rtol=1e-5)
    assert int(got["classes"].numpy()[0]) == int(probabilities.argmax())
    # Reference: the 32x32 centre crop fed to the Keras model, softmax in NumPy.
    crop = image[:, 2:34, 2:34].astype(np.float32)
    resized = tf.image.resize(image.astype(np.float32), (37, 37), antialias=True).numpy()
    crop = resized[:, 2:34, 2:34]
    logits = np.asarray(model(normalize_uint8(crop), training=False), np.float64)
    want = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    np.testing.assert_allclose(probabilities, want, rtol=1e-3, atol=1e-5)


def test_pose_signature_needs_fixed_input_size(tmp_path):
    model = hrnet_tf.HRNetV1("tiny", input_shape=(None, None, 3), upsample_method="bilinear")
    with pytest.raises(ValueError, match="fixed input size"):
        export_model(model, tmp_path / "p", "saved_model", verbose=False)
