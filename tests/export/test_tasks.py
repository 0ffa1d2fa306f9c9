"""The export task comes from ``model.info``; ``--task`` only for plain Keras models."""

import keras
import numpy as np
import pytest

import hrnet_tf
from hrnet_tf.errors import ConfigError
from hrnet_tf.export import detect_task, normalize_uint8
from hrnet_tf.export.tasks import check_task, with_static_input
from tests.helpers import SMALL_SPEC


def test_detect_task_from_info_not_from_names():
    custom = {"name": "my_net"}
    assert detect_task(hrnet_tf.HRNetV1("tiny", input_shape=(64, 64, 3), **custom)) == "pose"
    assert detect_task(hrnet_tf.HRNetV2("tiny", num_classes=3, **custom)) == "segmentation"
    assert detect_task(hrnet_tf.HRNetV2p("tiny", input_shape=(64, 64, 3), **custom)) == "raw"
    assert detect_task(hrnet_tf.HRNetV2("tiny", num_classes=None, **custom)) == "raw"
    classifier = hrnet_tf.HRNetClassifier(SMALL_SPEC, num_classes=4, input_shape=(32, 32, 3), **custom)
    assert detect_task(classifier) == "classification"
    # a plain Keras model whose layer names look like an hrnet_tf model's is still plain
    inputs = keras.Input((64, 64, 3), name="image")
    lookalike = keras.Model(inputs, keras.layers.Conv2D(3, 1, name="last_layer")(inputs),
                            name="hrnet_v2_tiny")
    assert detect_task(lookalike) == "raw"


def test_task_option_only_repeats_or_narrows_what_a_model_knows():
    model = hrnet_tf.HRNetV2("tiny", num_classes=3, name="streets")
    assert check_task("auto", model) == check_task(None, model) == "segmentation"
    assert check_task("segmentation", model) == "segmentation"
    assert check_task("raw", model) == "raw"
    with pytest.raises(ConfigError, match="'streets' is an hrnet_tf segmentation model"):
        check_task("classification", model)
    with pytest.raises(ConfigError, match=r"--task must be one of \('auto', 'pose'"):
        check_task("keypoints", model)  # not an export task ("detection" is one: FCOS)


def test_task_option_for_plain_keras_models_must_fit_the_output():
    inputs = keras.Input((32, 32, 3))
    plain = keras.Model(inputs, keras.layers.Conv2D(4, 1)(inputs), name="plain")
    assert check_task("auto", plain) == "raw"
    assert check_task("segmentation", plain) == "segmentation"
    with pytest.raises(ConfigError, match="classification needs a single rank-2 output"):
        check_task("classification", plain)


def test_static_input_wrapper_keeps_the_info():
    model = hrnet_tf.HRNetV2("tiny", num_classes=3, name="streets")
    static = with_static_input(model, (64, 96))
    assert static.inputs[0].shape == (None, 64, 96, 3)
    assert static.info == model.info and static.name == "streets"


def test_normalize_uint8_is_imagenet_normalization():
    image = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    expected = (image / 255.0 - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]
    np.testing.assert_allclose(normalize_uint8(image).numpy(), expected, atol=1e-5)
