"""Lite-HRNet (models/litehrnet.py) against a plain-PyTorch re-implementation of the official
module (scripts/make_litehrnet_fixture.py, HRNet/Lite-HRNet models/backbones/litehrnet.py):
the official keys load strictly (mmpose layout too), the heatmaps agree, the published
parameter counts, the NumPy derivations of its pieces."""

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from hrnet_tf.convert.layouts import to_official
from hrnet_tf.convert.torch_weights import load_torch_state_dict, torch_variable_map
from hrnet_tf.errors import ConfigError
from hrnet_tf.models import litehrnet
from hrnet_tf.models.litehrnet import LiteHRNet
from hrnet_tf.summary import count_parameters
from hrnet_tf.testing.parity import load_fixture, random_state_dict

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "parity"


def _relative(ours, want):
    return float(np.abs(ours - want).max() / np.abs(want).max())


def _parity(variant):
    fixture = load_fixture(FIXTURES / f"litehrnet_{variant}.npz")
    size = fixture["meta"]["size"]
    model = LiteHRNet(variant, input_shape=(*size, 3))
    state = random_state_dict(fixture["keys_and_shapes"], fixture["seed"])
    load_torch_state_dict(model, state)  # strict: every official key, nothing else
    ours = model(fixture["input"], training=False)
    return model, fixture, np.asarray(ours)


def test_tiny_matches_the_official_module_and_loads_mmpose_keys():
    model, fixture, ours = _parity("tiny")
    assert _relative(ours, fixture["heatmaps"]) < 1e-4
    assert count_parameters(model) == fixture["meta"]["parameters"]
    # an mmpose TopDown checkpoint: backbone.* and keypoint_head.final_layer.*
    state = random_state_dict(fixture["keys_and_shapes"], fixture["seed"])
    mmpose = {("keypoint_head." if k.startswith("final_layer") else "backbone.") + k: v
              for k, v in state.items()}
    assert set(to_official(mmpose, "mmpose")) == set(state)
    keys = set(torch_variable_map(model))
    assert keys == set(state)
    assert "stage0.0.layers.0.cross_resolution_weighting.conv1.conv.weight" in keys
    assert "stage1.0.fuse_layers.2.0.1.3.running_var" in keys
    assert "transition1.2.0.2.weight" in keys


@pytest.mark.slow
def test_lite_hrnet_18_matches_the_official_module():
    model, fixture, ours = _parity("18")
    assert _relative(ours, fixture["heatmaps"]) < 1e-4
    # the official Lite-HRNet-18 COCO model: 1.1M parameters (README), here exactly the torch count
    assert count_parameters(model) == fixture["meta"]["parameters"] == 1130769
    assert model.output_shape == (None, 16, 24, 17)
    # published 205.2M FLOPs at 256x192: the official counting (tools/torchstat rules, each module
    # once, no BN) of the reference module the heatmaps above agree with
    assert abs(fixture["meta"]["torchstat_flops_256x192"] / 205.2e6 - 1) < 0.01


def test_channel_shuffle_is_the_torch_view_transpose():
    x = np.random.default_rng(0).normal(size=(2, 3, 4, 12)).astype(np.float32)
    want = torch.from_numpy(x.transpose(0, 3, 1, 2)).view(2, 2, 6, 3, 4).transpose(1, 2)
    want = want.reshape(2, 12, 3, 4).permute(0, 2, 3, 1).numpy()
    np.testing.assert_array_equal(np.asarray(litehrnet.channel_shuffle(x, 2)), want)


@pytest.mark.parametrize("size,target", [((4, 3), (8, 6)), ((8, 6), (16, 12)), ((5, 7), (9, 13))])
def test_the_head_upsampling_is_align_corners_bilinear(size, target):
    x = np.random.default_rng(1).normal(size=(2, *size, 3)).astype(np.float32)
    want = F.interpolate(torch.from_numpy(x.transpose(0, 3, 1, 2)), size=target, mode="bilinear",
                         align_corners=True).permute(0, 2, 3, 1).numpy()
    ours = np.asarray(litehrnet.upsample_align_corners(x, target))
    np.testing.assert_allclose(ours, want, atol=1e-5)


def test_a_size_the_pooling_cannot_take_is_refused():
    with pytest.raises(ConfigError, match="multiple of 32"):
        LiteHRNet("tiny", input_shape=(64, 48, 3))
    with pytest.raises(ConfigError, match="unknown Lite-HRNet"):
        LiteHRNet("40")


@pytest.mark.parametrize("window", [2, 4, 8])
def test_the_fixed_pooling_is_torchs_adaptive_average_pooling(window):
    # CrossResolutionWeighting: F.adaptive_avg_pool2d(s, output_size=mini_size) on branches that
    # halve exactly, here a depthwise conv with constant weights (XNNPACK's int8 path has it)
    x = np.random.default_rng(window).normal(size=(2, 3 * window, 2 * window, 5)).astype(np.float32)
    want = F.adaptive_avg_pool2d(torch.from_numpy(x).permute(0, 3, 1, 2), (3, 2))
    ours = np.asarray(litehrnet.average_pool_fixed(x, window))
    np.testing.assert_allclose(ours, want.permute(0, 2, 3, 1).numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_tflite_fp32_and_int8_run_in_one_xnnpack_partition(tmp_path):
    # One SavedModel, two conversions. fp32: no SPLIT_V, GATHER or resize ops. Full int8
    # (representative images, as `--quantize int8`): XNNPACK takes neither an int8
    # AVERAGE_POOL_2D nor a lone int8 RELU; before the rewrites that graph ran in 7 partitions.
    from hrnet_tf.export import normalize_uint8
    from hrnet_tf.export.tflite import (
        convert_saved_model,
        export_for_tflite,
        make_interpreter,
        operator_codes,
        run_tflite,
        xnnpack_partitions,
    )
    from tests.export.helpers import calibrated

    model, images = calibrated(LiteHRNet("tiny", input_shape=(64, 64, 3)), (64, 64))
    x = normalize_uint8(images).numpy()
    want = np.asarray(model(x, training=False))
    saved = export_for_tflite(model, str(tmp_path / "saved"))

    fp32 = convert_saved_model(saved)
    interpreter = make_interpreter(fp32)
    assert xnnpack_partitions(interpreter) == 1
    assert "SPLIT_V" not in operator_codes(fp32) and "GATHER" not in operator_codes(fp32)
    np.testing.assert_allclose(run_tflite(interpreter, x[:2]), want[:2], rtol=1e-4, atol=1e-5)

    int8 = convert_saved_model(saved, "int8", x)
    interpreter = make_interpreter(int8)
    assert xnnpack_partitions(interpreter) == 1
    ops = set(operator_codes(int8))
    assert {"QUANTIZE", "DEQUANTIZE"} <= ops and not {"AVERAGE_POOL_2D", "RELU"} & ops
    got = run_tflite(interpreter, x[:4])
    # the bound of the other int8 export tests (tests/export/test_tflite.py: relative error of
    # the report, max |int8 - keras| / max |keras|); a broken or uncalibrated conversion is off
    # by the whole output range
    assert np.abs(got - want[:4]).max() < 0.5 * np.abs(want[:4]).max()
