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


@pytest.mark.slow
def test_tflite_runs_the_whole_network_in_one_xnnpack_partition():
    from hrnet_tf.export.tflite import (
        convert_to_tflite,
        make_interpreter,
        operator_codes,
        run_tflite,
        xnnpack_partitions,
    )

    model = LiteHRNet("tiny", input_shape=(64, 64, 3))
    data = convert_to_tflite(model)
    interpreter = make_interpreter(data)
    assert xnnpack_partitions(interpreter) == 1
    assert "SPLIT_V" not in operator_codes(data) and "GATHER" not in operator_codes(data)
    x = np.random.default_rng(2).normal(size=(2, 64, 64, 3)).astype(np.float32)
    np.testing.assert_allclose(run_tflite(interpreter, x), np.asarray(model(x)), rtol=1e-4,
                               atol=1e-5)
