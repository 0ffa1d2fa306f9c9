"""The model contract (hrnet_tf/models/model.py): every constructor returns an HRNetModel whose
``info`` survives a .keras file; load_model, preprocess_input, input_tensor and feature_model."""

import keras
import numpy as np
import pytest

import hrnet_tf
from hrnet_tf.data.normalization import IMAGENET
from hrnet_tf.errors import ModelFileError
from tests.helpers import SMALL_SPEC, normal_images, randomize_batch_norm

# (constructor call, expected task, architecture, output stride)
CONSTRUCTORS = {
    "pose": (lambda: hrnet_tf.HRNetV1("tiny", num_outputs=5, input_shape=(64, 64, 3)),
             "pose", "HRNetV1", 4),
    "pose-features": (lambda: hrnet_tf.HRNetV1("tiny", num_outputs=None, input_shape=(64, 64, 3)),
                      "features", "HRNetV1", 4),
    "segmentation": (lambda: hrnet_tf.HRNetV2(SMALL_SPEC, num_classes=3, name="streets",
                                              upsample_method="bilinear_align_corners"),
                     "segmentation", "HRNetV2", 4),
    "detection": (lambda: hrnet_tf.HRNetV2p("tiny", input_shape=(64, 64, 3), out_channels=16),
                  "detection", "HRNetV2p", None),
    "classification": (lambda: hrnet_tf.HRNetClassifier("tiny", num_classes=4,
                                                        input_shape=(64, 64, 3)),
                       "classification", "HRNetClassifier", None),
}


def outputs_of(model, x):
    return [np.asarray(o) for o in keras.tree.flatten(model(x, training=False))]


@pytest.mark.parametrize("kind", list(CONSTRUCTORS))
def test_keras_file_keeps_info_and_outputs(kind, tmp_path):
    build, task, architecture, stride = CONSTRUCTORS[kind]
    model = randomize_batch_norm(build())
    model.info.labels = {"dataset": "demo", "class_names": ["a", "b", "c"]}
    assert isinstance(model, hrnet_tf.HRNetModel)
    assert (model.info.task, model.info.architecture, model.info.output_stride) == (
        task, architecture, stride)
    path = tmp_path / f"{kind}.keras"
    model.save(path)
    loaded = hrnet_tf.load_model(path)
    assert type(loaded) is hrnet_tf.HRNetModel and loaded.name == model.name
    assert loaded.info == model.info
    assert loaded.info.labels["class_names"] == ["a", "b", "c"]
    # HRNetV2 takes any size: an odd one exercises the bilinear fusion the file must bring back
    x = normal_images((2, 70, 50, 3) if task == "segmentation" else (1, 64, 64, 3), 1)
    if task == "segmentation":
        assert loaded.get_layer("concat").method == "bilinear_align_corners"
    for got, want in zip(outputs_of(loaded, x), outputs_of(model, x), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_info_records_a_custom_spec_and_the_fusion_mode():
    model = hrnet_tf.HRNetV2(SMALL_SPEC, num_classes=3, name="streets",
                             upsample_method="bilinear_align_corners")
    assert model.info.spec == SMALL_SPEC and model.info.width == "custom"
    assert model.info.upsample_method == "bilinear_align_corners"
    preset = hrnet_tf.HRNetV1("18-small-v1", input_shape=(64, 64, 3))
    assert preset.info.width == "18-small-v1"
    assert preset.info.spec == hrnet_tf.models.resolve_spec("18-small-v1")
    assert preset.info.normalization == IMAGENET


def test_load_model_refuses_what_is_not_an_hrnet_tf_model(tmp_path):
    plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    plain.save(tmp_path / "plain.keras")
    (tmp_path / "broken.keras").write_bytes(b"not a zip file")
    model = hrnet_tf.HRNetV1("tiny", input_shape=(64, 64, 3))
    model.save_weights(tmp_path / "pose.weights.h5")
    cases = {
        tmp_path / "plain.keras": "plain.keras: not an hrnet_tf model",
        tmp_path / "broken.keras": "broken.keras: cannot load the Keras model",
        tmp_path / "missing.keras": "model file not found: .*missing.keras",
        tmp_path / "pose.weights.h5": r"pose.weights.h5: load_model reads .keras files",
    }
    for path, message in cases.items():
        with pytest.raises(ModelFileError, match=message) as error:
            hrnet_tf.load_model(path)
        assert "\n" not in str(error.value)


@pytest.mark.parametrize("dtype", ["uint8", "float32", "float64"])
@pytest.mark.parametrize("shape", [(3,), (5, 7, 3), (2, 5, 7, 3), (2, 1, 4, 6, 3)])
def test_preprocess_input_is_the_torchvision_formula(shape, dtype):
    # torchvision: ToTensor() (x / 255) then Normalize(mean, std), the official recipes' input.
    pixels = np.random.default_rng(0).integers(0, 256, shape).astype(dtype)
    want = (pixels / 255.0 - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    got = keras.ops.convert_to_numpy(hrnet_tf.preprocess_input(pixels))
    assert got.shape == shape and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_input_tensor_may_be_an_intermediate_tensor(tmp_path):
    """As keras.applications: the model's input is the graph's Input, the layers in between are
    part of the model."""
    image = keras.Input((64, 64, 3))
    scaled = keras.layers.Rescaling(0.5, name="halve")(image)
    model = randomize_batch_norm(hrnet_tf.HRNetV1("tiny", num_outputs=3, input_tensor=scaled))
    assert model.inputs[0] is image and model.get_layer("halve") is not None
    direct = hrnet_tf.HRNetV1("tiny", num_outputs=3, input_shape=(64, 64, 3))
    direct.set_weights(model.get_weights())  # Rescaling has no weights: the same trunk and head
    x = normal_images((2, 64, 64, 3), 3)
    np.testing.assert_allclose(outputs_of(model, x)[0], outputs_of(direct, 0.5 * x)[0], rtol=1e-5,
                               atol=1e-5)
    model.save(tmp_path / "scaled.keras")
    loaded = hrnet_tf.load_model(tmp_path / "scaled.keras")
    assert loaded.info == model.info and loaded.get_layer("halve").scale == 0.5
    np.testing.assert_allclose(outputs_of(loaded, x)[0], outputs_of(model, x)[0], rtol=1e-5,
                               atol=1e-5)
    with pytest.raises(ValueError, match="3 channels"):
        hrnet_tf.HRNetV1("tiny", input_tensor=keras.Input((64, 64, 4)))


def test_feature_model_gives_the_four_stage4_outputs():
    model = randomize_batch_norm(hrnet_tf.HRNetV2("tiny", num_classes=None))
    features = model.feature_model()
    x = normal_images((1, 64, 96, 3), 4)
    maps = features(x, training=False)
    assert [tuple(m.shape) for m in maps] == [
        (1, 16, 24, 8), (1, 8, 12, 16), (1, 4, 6, 32), (1, 2, 3, 64)]
    # HRNetV2's features concatenate the four maps upsampled to stride 4: the first 8 channels are
    # the stride-4 map itself, and the next 16 its neighbour bilinearly upsampled.
    concat = np.asarray(model(x, training=False))
    np.testing.assert_allclose(concat[..., :8], np.asarray(maps[0]), rtol=1e-5, atol=1e-5)
    up = keras.ops.convert_to_numpy(keras.ops.image.resize(maps[1], (16, 24), "bilinear"))
    np.testing.assert_allclose(concat[..., 8:24], up, rtol=1e-4, atol=1e-4)
    assert features.get_layer("stage4") is model.get_layer("stage4")  # shared weights
