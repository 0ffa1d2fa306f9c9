"""HRFPN and mmdetection's FCOS head against the PyTorch re-implementations of
scripts/make_parity_fixtures.py (official HRNet-Object-Detection ``necks/hrfpn.py``; mmdetection
``necks/hrfpn.py`` and ``dense_heads/fcos_head.py``), weights converted by ``load_torch_state_dict``
from the official key names of each family."""

from pathlib import Path

import keras
import numpy as np
import pytest

from hrnet_tf.convert import load_torch_state_dict
from hrnet_tf.models.fcos import FCOSHead
from hrnet_tf.models.heads import HRFPN
from hrnet_tf.testing.parity import load_fixture, random_state_dict

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "parity"


def fixture(name):
    fx = load_fixture(FIXTURES / f"{name}.npz")
    fx["state_dict"] = random_state_dict(fx["keys_and_shapes"], fx["seed"])
    if "scale_offset" in fx["meta"]:  # the script draws mmcv Scale values around 1.0
        for key in fx["state_dict"]:
            if key.endswith(".scale"):
                fx["state_dict"][key] = np.asarray(1.0 + fx["state_dict"][key], np.float32)
    return fx


def close(ours, reference, rel=1e-4):
    ours = np.asarray(ours)
    assert ours.shape == reference.shape
    scale = float(np.abs(reference).max())
    assert float(np.abs(ours - reference).max()) <= rel * scale


def branch_inputs(fx):
    return [fx[f"branch{i}"] for i in range(4)]


@pytest.mark.parametrize("name", ["hrfpn_official", "hrfpn_mmdet_stride1"])
def test_hrfpn_matches_both_key_families(name):
    fx = fixture(name)
    branches = branch_inputs(fx)
    inputs = [keras.Input(b.shape[1:]) for b in branches]
    neck = HRFPN(fx["meta"]["out_channels"], stride=fx["meta"]["stride"], name="neck")
    outputs = neck(inputs)
    model = keras.Model(inputs, [outputs[level] for level in neck.level_names()])
    report = load_torch_state_dict(model, fx["state_dict"])  # strict: every key used
    assert report.ok
    for i, level in enumerate(model(branches)):
        close(level, fx[f"level{i}"])


@pytest.mark.parametrize("name", ["fcos_mmdet", "fcos_mmdet_norm_on_bbox"])
def test_fcos_head_on_stride2_neck_matches_mmdet(name):
    fx = fixture(name)
    meta = fx["meta"]
    branches = branch_inputs(fx)
    inputs = [keras.Input(b.shape[1:]) for b in branches]
    neck = HRFPN(meta["channels"], stride=2, name="neck")
    pyramid = neck(inputs)
    strides = [8, 16, 32, 64, 128]
    head = FCOSHead(meta["num_classes"], strides, feat_channels=meta["channels"],
                    stacked_convs=meta["stacked_convs"],
                    norm_on_bbox=meta.get("norm_on_bbox", False),
                    centerness_on_reg=meta.get("centerness_on_reg", False), name="bbox_head")
    levels = [pyramid[level] for level in neck.level_names()]
    model = keras.Model(inputs, [head(levels), *levels])
    report = load_torch_state_dict(model, fx["state_dict"])
    assert report.ok
    flat, *ours_levels = [np.asarray(t) for t in model(branches)]
    for i, level in enumerate(ours_levels):
        close(level, fx[f"level{i}"])
    c = meta["num_classes"]
    start = 0
    for i in range(5):
        cls = fx[f"cls_score{i}"]
        n = cls.shape[1] * cls.shape[2]
        part = flat[0, start:start + n]
        start += n
        close(part[:, :c], cls[0].reshape(n, c))
        # mmdet's norm_on_bbox multiplies by the stride at test time: fixtures are in eval mode
        close(part[:, c:c + 4], fx[f"bbox_pred{i}"][0].reshape(n, 4))
        close(part[:, c + 4], fx[f"centerness{i}"][0].reshape(n))
    assert start == flat.shape[1]
