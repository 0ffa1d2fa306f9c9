"""TFLite export: fp32 equals Keras, builtin ops only, fp16/int8 reports written."""

import json

import numpy as np
import pytest

import hrnet_tf
from hrnet_tf.export import export_model, normalize_uint8, report_path

from .helpers import calibrated

pytest.importorskip("ai_edge_litert")


@pytest.fixture(scope="module")
def pose_model():
    import keras

    keras.utils.set_random_seed(0)
    return calibrated(hrnet_tf.HRNetV1("tiny", input_shape=(64, 64, 3)), (64, 64))


def _run_file(path, x):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path), num_threads=2)
    interpreter.allocate_tensors()
    inp = interpreter.get_input_details()[0]
    out = interpreter.get_output_details()[0]
    assert list(inp["shape"]) == [1, 64, 64, 3]
    results = []
    for image in x:
        interpreter.set_tensor(inp["index"], image[None])
        interpreter.invoke()
        results.append(interpreter.get_tensor(out["index"])[0].copy())
    return np.stack(results)


def test_fp32_tflite_matches_keras_and_uses_builtin_ops_only(tmp_path, pose_model):
    model, images = pose_model
    report = export_model(model, tmp_path / "pose", "tflite", verbose=False)
    path = tmp_path / "pose.tflite"
    assert path.is_file() and report["path"] == str(path)
    assert report["non_builtin_ops"] == []
    assert "CONV_2D" in report["operators"]
    assert not any(op.startswith("Flex") for op in report["operators"])
    # XNNPACK takes the whole graph, nearest fusion upsampling (by 2, 4 and 8) included.
    assert report["xnnpack_partitions"] == 1
    assert {"RESIZE_NEAREST_NEIGHBOR", "BROADCAST_TO"}.isdisjoint(report["operators"])
    # Independent check of the written file, not of the report.
    x = normalize_uint8(images[4:]).numpy()
    want = np.asarray(model(x, training=False))
    got = _run_file(path, x)
    assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max()
    saved = json.loads((tmp_path / "pose.report.json").read_text())
    assert saved["accuracy"]["relative_error"] <= 1e-4
    assert saved["accuracy"]["keypoint_error_px"]["max"] < 0.5


@pytest.mark.slow
@pytest.mark.parametrize("quantize", ["fp16", "int8"])
def test_quantized_exports_write_reports(tmp_path, pose_model, quantize):
    model, images = pose_model
    out = tmp_path / f"pose_{quantize}"
    report = export_model(
        model, out, "tflite", quantize=quantize, representative_images=images, verbose=False
    )
    saved = json.loads(open(report_path(str(out) + ".tflite")).read())
    assert saved["quantize"] == quantize
    for key in ("max_abs_error", "mean_abs_error", "relative_error", "keypoint_error_px"):
        assert key in saved["accuracy"]
    assert report["non_builtin_ops"] == []
    fp32_bytes = sum(int(np.prod(w.shape)) * 4 for w in model.weights)
    if quantize == "fp16":
        assert saved["accuracy"]["relative_error"] < 1e-2
        assert report["size_bytes"] < 0.75 * fp32_bytes
    else:
        # Activations quantized to 8 bits over calibrated ranges: errors of a few percent of the
        # output range; an uncalibrated or broken conversion is off by the whole range.
        assert saved["accuracy"]["relative_error"] < 0.5
        assert {"QUANTIZE", "DEQUANTIZE"} <= set(report["operators"])
        assert report["calibration_images"] == len(images)
        assert report["size_bytes"] < 0.5 * fp32_bytes


def test_quantize_is_tflite_only(tmp_path, pose_model):
    with pytest.raises(ValueError, match="applies to --format tflite only"):
        export_model(pose_model[0], tmp_path / "x", "onnx", quantize="fp16", verbose=False)
