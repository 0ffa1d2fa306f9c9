"""The face model: parity with the official key layout (``head.{0,1,3}``, ``module.`` prefix, a
``{"state_dict": ...}`` file) through the converter, against the PyTorch reference of the HRNetV2
trunk + conv-BN-ReLU-conv head (scripts/make_parity_fixtures.py, seg_w18_small_bilinear: the
official face head is that head under another name); and what ``info`` records."""

from pathlib import Path

import numpy as np
import pytest

import hrnet_tf
from hrnet_tf.convert.layouts import to_official
from hrnet_tf.testing.parity import load_fixture, random_state_dict

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "parity" / "seg_w18_small_bilinear.npz"


def _official_face_state(fx):
    """The fixture's weights as an official face checkpoint names them."""
    state = random_state_dict(fx["keys_and_shapes"], fx["seed"])
    return {"module." + ("head." + k[len("last_layer."):] if k.startswith("last_layer.") else k): v
            for k, v in state.items()}


def test_face_model_matches_reference_through_the_official_layout(tmp_path):
    torch = pytest.importorskip("torch")
    fx = load_fixture(FIXTURE)
    x = fx["input"]
    state = _official_face_state(fx)
    assert any(k.startswith("module.head.3.") for k in state)
    # head.* -> last_layer.*, module. stripped: the reference's own keys
    assert sorted(to_official(state)) == sorted(random_state_dict(fx["keys_and_shapes"], 0))
    path = tmp_path / "HR18-TEST.pth"
    torch.save({"state_dict": {k: torch.from_numpy(np.asarray(v)) for k, v in state.items()}},
               str(path))
    model = hrnet_tf.HRNetV2Landmarks("18-small-v1", num_landmarks=fx["meta"]["num_classes"],
                                      input_shape=x.shape[1:], weights=str(path))
    got = model.predict(x, verbose=0)
    reference = fx["logits"]
    assert got.shape == reference.shape
    assert np.abs(got - reference).max() <= 1e-4 * np.abs(reference).max()
    assert model.info.task == "landmarks" and model.info.upsample_method == "bilinear"
    assert model.info.labels["landmarks"] == {"num_points": 5}


def test_official_counts_name_their_sets():
    model = hrnet_tf.HRNetV2Landmarks("tiny", num_landmarks=29, input_shape=(64, 64, 3))
    assert model.info.labels["landmarks"] == "cofw" and model.output.shape == (None, 16, 16, 29)
    with pytest.raises(hrnet_tf.errors.ConfigError, match="num_landmarks"):
        hrnet_tf.HRNetV2Landmarks("tiny", num_landmarks=0)


def test_convert_builds_the_face_model():
    from hrnet_tf.cli import ArgumentParser
    from hrnet_tf.models.cli_args import add_model_arguments, model_from_args

    parser = ArgumentParser()
    add_model_arguments(parser)
    args = parser.parse_args(["--model", "landmarks", "--width", "tiny", "--num-classes", "19",
                              "--input-size", "64x64"])
    model = model_from_args(args)
    assert model.info.task == "landmarks" and model.info.labels["landmarks"] == "aflw"
    assert model.output.shape == (None, 16, 16, 19)
