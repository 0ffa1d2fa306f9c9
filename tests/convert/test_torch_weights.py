"""hrnet_tf.convert: official key names, strict and non-strict loading, checkpoint wrappers."""

import numpy as np
import pytest

import hrnet_tf
from hrnet_tf.convert import (
    WeightConversionError,
    keras_to_torch_state_dict,
    load_torch_state_dict,
    normalize_keys,
)


@pytest.fixture(scope="module")
def pose_model():
    return hrnet_tf.HRNetV1("tiny", num_outputs=5, input_shape=(64, 64, 3))


def official_like_state(model, seed=0):
    """A state dict with the model's official keys and PyTorch layouts, random values."""
    rng = np.random.default_rng(seed)
    return {
        k: rng.normal(0, 0.1, v.shape).astype("float32") for k, v in keras_to_torch_state_dict(model).items()
    }


def test_official_key_names(pose_model):
    keys = set(keras_to_torch_state_dict(pose_model))
    for key in [
        "conv1.weight",
        "bn1.running_mean",
        "layer1.0.conv3.weight",
        "layer1.0.downsample.0.weight",
        "transition1.0.0.weight",  # 32 -> 8 channels on the existing branch
        "transition1.1.0.0.weight",  # new branch: one stride-2 unit
        "stage2.0.branches.1.0.bn2.running_var",
        "stage3.0.fuse_layers.0.2.0.weight",
        "stage3.0.fuse_layers.2.0.1.0.weight",
        "stage4.0.fuse_layers.0.3.1.weight",
        "final_layer.weight",
        "final_layer.bias",
    ]:
        assert key in keys, key
    # HRNetV1 builds only the high-resolution fusion in its last module, like the official pose code.
    assert not any(k.startswith("stage4.0.fuse_layers.1.") for k in keys)


def test_round_trip_through_torch_layout(pose_model):
    state = official_like_state(pose_model)
    state["layer1.0.bn1.num_batches_tracked"] = np.array(7)
    report = load_torch_state_dict(pose_model, state)
    assert report.ok
    back = keras_to_torch_state_dict(pose_model)
    for key, value in back.items():
        np.testing.assert_array_equal(value, state[key])
    kernel = pose_model.get_layer("conv1").kernel.numpy()
    np.testing.assert_array_equal(kernel, state["conv1.weight"].transpose(2, 3, 1, 0))


def test_strict_failure_names_every_problem_and_changes_nothing(pose_model):
    state = official_like_state(pose_model, seed=1)
    before = pose_model.get_layer("conv1").kernel.numpy().copy()
    del state["stage2.0.branches.0.0.conv1.weight"]
    state["incre_modules.0.0.conv1.weight"] = np.zeros((32, 8, 1, 1), "float32")
    state["final_layer.weight"] = np.zeros((17, 8, 1, 1), "float32")
    with pytest.raises(WeightConversionError) as err:
        load_torch_state_dict(pose_model, state)
    message = str(err.value)
    assert "stage2.0.branches.0.0.conv1.weight" in message
    assert "incre_modules.0.0.conv1.weight" in message
    assert "final_layer.weight: checkpoint (17, 8, 1, 1), model expects (5, 8, 1, 1)" in message
    np.testing.assert_array_equal(pose_model.get_layer("conv1").kernel.numpy(), before)


def test_non_strict_loads_the_backbone_of_an_imagenet_checkpoint():
    classifier = hrnet_tf.HRNetClassifier("tiny", num_classes=10, input_shape=(64, 64, 3))
    pose = hrnet_tf.HRNetV1("tiny", num_outputs=5, input_shape=(64, 64, 3))
    state = official_like_state(classifier)
    report = load_torch_state_dict(pose, state, strict=False)
    assert report.missing == ["final_layer.bias", "final_layer.weight"]
    assert any(k.startswith("incre_modules.") for k in report.unexpected)
    assert any(k.startswith("stage4.0.fuse_layers.3.") for k in report.unexpected)
    np.testing.assert_array_equal(
        pose.get_layer("conv1").kernel.numpy(), state["conv1.weight"].transpose(2, 3, 1, 0)
    )


def test_normalize_keys_strips_training_wrappers():
    w = np.zeros(1)
    assert normalize_keys({"module.conv1.weight": w}) == {"conv1.weight": w}
    seg = normalize_keys({"model.conv1.weight": w, "loss.criterion.weight": w})
    assert seg == {"conv1.weight": w}
    det = normalize_keys({"backbone.conv1.weight": w, "neck.reduction_conv.0.weight": w})
    assert set(det) == {"conv1.weight", "neck.reduction_conv.0.weight"}


def test_detection_neck_uses_official_hrfpn_names():
    # HRNet/HRNet-Object-Detection mmdet/models/necks/hrfpn.py: reduction_conv = nn.Sequential(conv),
    # fpn_conv = nn.ModuleList of five 3x3 convs with bias.
    keys = set(keras_to_torch_state_dict(hrnet_tf.HRNetV2p("tiny", input_shape=(64, 64, 3))))
    neck = {k for k in keys if k.startswith("neck.")}
    expected = {"neck.reduction_conv.0.weight", "neck.reduction_conv.0.bias"}
    expected |= {f"neck.fpn_conv.{i}.{p}" for i in range(5) for p in ("weight", "bias")}
    assert neck == expected

