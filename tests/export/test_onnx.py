"""ONNX export through tf2onnx, checked with ONNX Runtime."""

import numpy as np
import pytest

import hrnet_tf
from hrnet_tf.export import export_model, normalize_uint8

from .helpers import calibrated

pytest.importorskip("tf2onnx")
ort = pytest.importorskip("onnxruntime")


def test_onnx_segmentation_matches_keras(tmp_path):
    # HRNetV2 is built with a dynamic input size; the export fixes one.
    model, images = calibrated(hrnet_tf.HRNetV2("tiny", num_classes=4), (64, 96))
    report = export_model(model, tmp_path / "seg", "onnx", input_size=(64, 96), verbose=False)
    assert report["accuracy"]["relative_error"] <= 1e-4
    assert report["accuracy"]["label_agreement"] == 1.0

    session = ort.InferenceSession(str(tmp_path / "seg.onnx"), providers=["CPUExecutionProvider"])
    x = normalize_uint8(images[:3]).numpy()
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    want = np.asarray(model(x, training=False))
    assert got.shape == want.shape == (3, 16, 24, 4)
    assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max()


def test_dynamic_model_needs_input_size_for_onnx(tmp_path):
    model = hrnet_tf.HRNetV2("tiny", num_classes=4)
    with pytest.raises(ValueError, match="accepts any image size; pass --input-size HxW"):
        export_model(model, tmp_path / "seg", "onnx", verbose=False)
