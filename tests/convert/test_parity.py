"""Parity with timm's PyTorch HRNet (official structure and key names), through hrnet_tf.convert.

Reference outputs come from scripts/make_parity_fixtures.py; weights are regenerated here from the
fixture's seed and key list, converted by `load_torch_state_dict`, and the outputs compared.
"""

from pathlib import Path

import numpy as np
import pytest

import hrnet_tf
from hrnet_tf.convert import load_torch_state_dict
from hrnet_tf.models import feature_extractor
from hrnet_tf.testing.parity import load_fixture, random_state_dict

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "parity"


def fixture(name):
    fx = load_fixture(FIXTURES / f"{name}.npz")
    fx["state_dict"] = random_state_dict(fx["keys_and_shapes"], fx["seed"])
    return fx


def assert_close_to_reference(ours, reference, rel=1e-4):
    scale = float(np.abs(reference).max())
    err = float(np.abs(ours - reference).max())
    assert ours.shape == reference.shape
    assert err <= rel * scale, f"max abs error {err:.3g} > {rel:g} x {scale:.3g}"


@pytest.mark.parametrize(
    "name,width",
    [("hrnet_w18_small", "18-small-v1"), pytest.param("hrnet_w32", 32, marks=pytest.mark.slow)],
)
def test_classifier_matches_timm(name, width):
    fx = fixture(name)
    x = fx["input"]
    model = hrnet_tf.HRNetClassifier(width, input_shape=x.shape[1:])
    report = load_torch_state_dict(model, fx["state_dict"])
    assert report.ok and len(report.loaded) == len(
        [k for k, _ in fx["keys_and_shapes"] if not k.endswith("num_batches_tracked")]
    )
    assert_close_to_reference(model.predict(x, verbose=0), fx["logits"])
    features = feature_extractor(model).predict(x, verbose=0)
    for i, feature in enumerate(features):
        assert_close_to_reference(feature, fx[f"feature{i}"])


def test_pose_matches_reference():
    fx = fixture("pose_w18_small")
    x = fx["input"]
    model = hrnet_tf.HRNetV1("18-small-v1", num_outputs=fx["meta"]["num_joints"], input_shape=x.shape[1:])
    load_torch_state_dict(model, fx["state_dict"])  # strict: same key set as the official pose model
    assert_close_to_reference(model.predict(x, verbose=0), fx["heatmaps"])


@pytest.mark.parametrize("tag", ["bilinear", "align_corners"])
def test_segmentation_matches_reference_at_odd_size(tag):
    fx = fixture(f"seg_w18_small_{tag}")
    x = fx["input"]
    assert x.shape[1] % 32 and x.shape[2] % 32  # bilinear fusion must handle any size
    model = hrnet_tf.HRNetV2(
        "18-small-v1",
        num_classes=fx["meta"]["num_classes"],
        upsample_method=fx["meta"]["upsample_method"],
    )
    load_torch_state_dict(model, fx["state_dict"])
    assert_close_to_reference(model.predict(x, verbose=0), fx["logits"])
    for i, feature in enumerate(feature_extractor(model).predict(x, verbose=0)):
        assert_close_to_reference(feature, fx[f"feature{i}"])

