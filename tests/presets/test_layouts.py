"""Key layouts whose models are not served in test_download: the mmpose face heads (0.x and 1.x),
the mmdet HRFPN neck, BGR checkpoints, and OpenMMLab 1.x .pth files with numpy arrays in ``meta``.

Foreign names are written out from the zoos' code: mmpose 0.x face ``TopdownHeatmapSimpleHead`` with
``extra=dict(num_conv_layers=1)`` builds ``final_layer = Sequential(conv, BN, ReLU, conv)``; mmpose
1.x ``HeatmapHead`` puts conv-BN in ``conv_layers`` (Sequential(conv, BN, ReLU)) and the last conv in
``final_layer``; mmdet 2.x/3.x ``HRFPN`` wraps its convs in ConvModules (``reduction_conv.conv``,
``fpn_convs.{i}.conv``).
"""

import io

import numpy as np
import pytest

import hrnet_tf
from hrnet_tf.convert import keras_to_torch_state_dict, load_torch_state_dict, read_state_dict
from hrnet_tf.convert.layouts import LAYOUTS, reverse_input_channels, to_official
from hrnet_tf.errors import ModelFileError
from hrnet_tf.testing.parity import random_state_dict


def random_official(model, seed=0):
    return random_state_dict([(k, v.shape) for k, v in keras_to_torch_state_dict(model).items()], seed)


def assert_loads_exactly(model, foreign, layout, official):
    load_torch_state_dict(model, to_official(foreign, layout))  # strict: every key accounted for
    loaded = keras_to_torch_state_dict(model)
    assert sorted(loaded) == sorted(official)
    for key, value in official.items():
        np.testing.assert_array_equal(loaded[key], value, err_msg=key)


@pytest.fixture(scope="module")
def face_official():
    model = hrnet_tf.HRNetV2("tiny", num_classes=29, input_shape=(64, 64, 3))
    return random_official(model)


def test_mmpose_0x_face_head_is_last_layer(face_official):
    foreign = {}
    for key, value in face_official.items():
        if key.startswith("last_layer."):
            foreign["keypoint_head.final_layer." + key.removeprefix("last_layer.")] = value
        else:
            foreign["backbone." + key] = value
    model = hrnet_tf.HRNetV2("tiny", num_classes=29, input_shape=(64, 64, 3))
    assert_loads_exactly(model, foreign, "mmpose", face_official)


def test_mmpose_1x_face_head_is_last_layer(face_official):
    renames = {"last_layer.0.": "head.conv_layers.0.", "last_layer.1.": "head.conv_layers.1.",
               "last_layer.3.": "head.final_layer."}
    foreign = {}
    for key, value in face_official.items():
        prefix = next((p for p in renames if key.startswith(p)), None)
        foreign[renames[prefix] + key[len(prefix):] if prefix else "backbone." + key] = value
    model = hrnet_tf.HRNetV2("tiny", num_classes=29, input_shape=(64, 64, 3))
    assert_loads_exactly(model, foreign, "mmpose1", face_official)


def test_mmdet_hrfpn_neck_keys():
    model = hrnet_tf.HRNetV2p("tiny", input_shape=(64, 64, 3))
    official = random_official(model)
    foreign = {}
    for key, value in official.items():
        if key.startswith("neck.reduction_conv.0."):
            foreign["neck.reduction_conv.conv." + key.removeprefix("neck.reduction_conv.0.")] = value
        elif key.startswith("neck.fpn_conv."):
            level, param = key.removeprefix("neck.fpn_conv.").split(".")
            foreign[f"neck.fpn_convs.{level}.conv.{param}"] = value
        else:
            foreign["backbone." + key] = value
    assert LAYOUTS["mmdet"].complete  # the FCOS head (bbox_head.*) maps onto HRNetFCOS
    assert_loads_exactly(model, foreign, "mmdet", official)


def test_mmseg_fcn_head_gets_a_zero_bias():
    weight = np.ones((7, 7, 1, 1), np.float32)
    state = to_official({"decode_head.convs.0.conv.weight": weight,
                         "decode_head.conv_seg.bias": np.ones(3, np.float32)}, "mmseg_fcn")
    assert sorted(state) == ["last_layer.0.bias", "last_layer.0.weight", "last_layer.3.bias"]
    np.testing.assert_array_equal(state["last_layer.0.bias"], np.zeros(7, np.float32))


def test_bgr_checkpoint_becomes_an_rgb_model():
    """mmdet normalizes BGR pixels with the ImageNet statistics reversed, so its normalized input is
    ours with the channels reversed; conv1 with reversed input channels gives the same outputs."""
    bgr_model = hrnet_tf.HRNetV1("tiny", num_outputs=3, input_shape=(64, 64, 3))
    official = random_official(bgr_model, seed=5)
    load_torch_state_dict(bgr_model, official)
    x_rgb = np.random.default_rng(1).normal(size=(1, 64, 64, 3)).astype(np.float32)
    expected = np.asarray(bgr_model(x_rgb[..., ::-1], training=False))
    rgb_model = hrnet_tf.HRNetV1("tiny", num_outputs=3, input_shape=(64, 64, 3))
    load_torch_state_dict(rgb_model, reverse_input_channels(official))
    np.testing.assert_allclose(np.asarray(rgb_model(x_rgb, training=False)), expected, atol=1e-5)


def test_unknown_layout_is_one_line():
    with pytest.raises(ModelFileError, match="unknown key layout 'mmcls'"):
        to_official({}, "mmcls")


@pytest.mark.parametrize("zip_format", [False, True])
def test_openmmlab_meta_with_numpy_arrays_reads_without_unpickling_code(tmp_path, zip_format):
    torch = pytest.importorskip("torch")
    meta = {"dataset_meta": {"sigmas": np.array([0.026, 0.025], np.float32),
                             "colors": np.array([[255, 0, 0]], np.uint8), "scale": np.float64(1.5)}}
    path = tmp_path / "ckpt.pth"
    torch.save({"meta": meta, "state_dict": {"w": torch.arange(3.0)}}, path,
               _use_new_zipfile_serialization=zip_format)
    assert list(read_state_dict(path)) == ["w"]
    np.testing.assert_array_equal(read_state_dict(path)["w"], [0.0, 1.0, 2.0])


def test_pickled_code_is_still_refused(tmp_path):
    """Allowing numpy arrays does not open weights_only loading to arbitrary objects."""
    torch = pytest.importorskip("torch")
    buffer = io.BytesIO()
    torch.save({"meta": {"hook": io.BytesIO}, "state_dict": {"w": torch.zeros(1)}}, buffer)
    path = tmp_path / "evil.pth"
    path.write_bytes(buffer.getvalue())
    with pytest.raises(Exception, match="(?i)weights.only|unsupported global"):
        read_state_dict(path)
