"""HRNet-OCR: parity with the official module re-implemented in PyTorch (the fixture of
scripts/make_parity_fixtures.py, ``OcrNet``, written from the HRNet-OCR branch's
``lib/models/seg_hrnet_ocr.py``), loaded through hrnet_tf.convert as an official checkpoint is:
``model.`` prefix of ``FullModel`` and the criterion's ``loss.criterion.weight`` buffer included."""

from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

import hrnet_tf
from hrnet_tf.convert import __main__ as convert_cli
from hrnet_tf.testing.parity import load_fixture, random_state_dict

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "parity" / "ocr_w18_small.npz"


def assert_close_to_reference(ours, reference, rel=1e-4):
    scale = float(np.abs(reference).max())
    err = float(np.abs(np.asarray(ours) - reference).max())
    assert np.shape(ours) == reference.shape
    assert err <= rel * scale, f"max abs error {err:.3g} > {rel:g} x {scale:.3g}"


@pytest.fixture(scope="module")
def ocr_checkpoint(tmp_path_factory):
    """The fixture's random weights saved as the official OCR training saves them."""
    fx = load_fixture(FIXTURE)
    state = random_state_dict(fx["keys_and_shapes"], fx["seed"])
    meta = fx["meta"]
    official = {f"model.{k}": v for k, v in state.items()}
    official["loss.criterion.weight"] = np.ones(meta["num_classes"], np.float32)
    path = tmp_path_factory.mktemp("ocr") / "hrnet_ocr_random.safetensors"
    save_file(official, str(path))
    return fx, path


def test_ocr_matches_the_official_module_through_convert(ocr_checkpoint, tmp_path):
    fx, path = ocr_checkpoint
    meta, x = fx["meta"], fx["input"]
    assert x.shape[1] % 32 and x.shape[2] % 32  # align-corners resizing to odd target sizes
    # weights= reads the checkpoint: prefixes stripped, loss buffers dropped, then a strict load.
    model = hrnet_tf.HRNetOCR(meta["width"], num_classes=meta["num_classes"],
                              ocr_mid_channels=meta["ocr_mid_channels"],
                              ocr_key_channels=meta["ocr_key_channels"], weights=str(path))
    assert model.info.task == "segmentation" and model.info.architecture == "HRNetOCR"
    assert model.info.upsample_method == meta["upsample_method"]
    outputs = model(x, training=False)
    assert sorted(outputs) == ["aux", "out"]
    assert_close_to_reference(outputs["aux"], fx["aux"])
    assert_close_to_reference(outputs["out"], fx["out"])

    # The command line, --model ocr: the same model in a .keras file.
    dst = tmp_path / "ocr.keras"
    status = convert_cli.main([str(path), str(dst), "--model", "ocr", "--width",
                               meta["width"], "--num-classes", str(meta["num_classes"]),
                               "--ocr-mid-channels", str(meta["ocr_mid_channels"]),
                               "--ocr-key-channels", str(meta["ocr_key_channels"])])
    assert status in (0, None)
    loaded = hrnet_tf.load_model(str(dst))
    assert_close_to_reference(loaded(x, training=False)["out"], fx["out"])


def test_ocr_default_channels_and_dropout_are_the_official_ones():
    model = hrnet_tf.HRNetOCR("tiny", num_classes=3)
    distri = model.get_layer("ocr_distri_head")
    assert model.get_layer("conv3x3_ocr").filters == 512  # MODEL.OCR.MID_CHANNELS
    assert distri.key_channels == 256  # MODEL.OCR.KEY_CHANNELS
    assert distri.conv_bn_dropout.drop.rate == 0.05  # MODEL.OCR.DROPOUT
    assert model.info.upsample_method == "bilinear_align_corners"  # MODEL.ALIGN_CORNERS True


def test_a_saved_ocr_model_loads_in_a_fresh_process(tmp_path):
    # The OCR layers are registered by importing hrnet_tf, not only by building a model.
    import subprocess
    import sys

    model = hrnet_tf.HRNetOCR("tiny", num_classes=3, ocr_mid_channels=8, ocr_key_channels=4)
    path = tmp_path / "ocr.keras"
    model.save(path)
    x = np.random.default_rng(0).normal(size=(1, 32, 32, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    code = ("import sys, numpy as np, hrnet_tf; m = hrnet_tf.load_model(sys.argv[1]); "
            "np.save(sys.argv[3], np.asarray(m(np.load(sys.argv[2]), training=False)['out']))")
    subprocess.run([sys.executable, "-c", code, str(path), str(tmp_path / "x.npy"),
                    str(tmp_path / "y.npy")], check=True, capture_output=True)
    want = np.asarray(model(x, training=False)["out"])
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), want, rtol=1e-5, atol=1e-6)
