"""Task detection and in-graph preprocessing."""

import numpy as np
import pytest

import hrnet_tf
from hrnet_tf.export import detect_task, normalize_uint8
from hrnet_tf.export.tasks import check_task


def test_detect_task_from_constructors():
    assert detect_task(hrnet_tf.HRNetV1("tiny", input_shape=(64, 64, 3))) == "pose"
    assert detect_task(hrnet_tf.HRNetV2("tiny", num_classes=3)) == "segmentation"
    assert detect_task(hrnet_tf.HRNetV2p("tiny", input_shape=(64, 64, 3))) == "raw"
    assert detect_task(hrnet_tf.HRNetV2("tiny", num_classes=None)) == "raw"


def test_explicit_task_must_fit_the_output():
    model = hrnet_tf.HRNetV2("tiny", num_classes=3)
    assert check_task("raw", model) == "raw"
    with pytest.raises(ValueError, match="classification needs a single rank-2 output"):
        check_task("classification", model)
    with pytest.raises(ValueError, match="--task must be one of"):
        check_task("detection", model)


def test_normalize_uint8_is_imagenet_normalization():
    image = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    expected = (image / 255.0 - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]
    np.testing.assert_allclose(normalize_uint8(image).numpy(), expected, atol=1e-5)
