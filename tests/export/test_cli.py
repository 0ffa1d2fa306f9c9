"""The command line, in-process: python -m hrnet_tf.export ... (exit 0; 2 with one line for a user
error); the task comes from the model, whatever its name or stage specification."""

import json

import cv2
import numpy as np
import pytest
import tensorflow as tf

import hrnet_tf
from hrnet_tf.export.__main__ import main
from tests.helpers import SMALL_SPEC, assert_user_error

pytest.importorskip("ai_edge_litert")

@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """.keras files of models with custom names and specs, nothing in them saying "pose" or "seg"."""
    folder = tmp_path_factory.mktemp("models")
    models = {
        "pose": hrnet_tf.HRNetV1(SMALL_SPEC, num_outputs=5, input_shape=(64, 64, 3), name="body"),
        "seg": hrnet_tf.HRNetV2(SMALL_SPEC, num_classes=3, name="streets"),
    }
    paths = {}
    for key, model in models.items():
        paths[key] = folder / f"{key}.keras"
        model.save(paths[key])
    (folder / "broken.keras").write_bytes(b"PK not really a zip")
    paths["broken"] = folder / "broken.keras"
    return paths


def test_int8_export_with_representative_data_reads_the_task_from_the_model(
        tmp_path, saved, capsys):
    data = tmp_path / "calib"
    data.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        cv2.imwrite(str(data / f"img{i}.png"), rng.integers(0, 256, (80, 70, 3), dtype=np.uint8))
    (data / "broken.jpg").write_bytes(b"not an image")
    out = tmp_path / "saved_models" / "pose_int8"
    assert main([
        "--model-path", str(saved["pose"]), "--format", "tflite", "--quantize", "int8",
        "--representative-data", str(data), "--calibrate-bn", "--out", str(out),
    ]) == 0
    printed = capsys.readouterr().out
    assert "skipped 1 unreadable image(s)" in printed and "broken.jpg: " in printed
    assert (tmp_path / "saved_models" / "pose_int8.tflite").is_file()
    report = json.loads((tmp_path / "saved_models" / "pose_int8.report.json").read_text())
    assert report["task"] == "pose" and report["model"] == "body" and report["quantize"] == "int8"
    assert report["calibration_images"] == 3
    assert report["non_builtin_ops"] == []
    assert "keypoint_error_px" in report["accuracy"]


def test_saved_model_of_a_custom_segmenter_gets_its_task_signature(tmp_path, saved):
    out = tmp_path / "streets"
    assert main(["--model-path", str(saved["seg"]), "--format", "saved_model", "--out", str(out)]) == 0
    report = json.loads((tmp_path / "streets.report.json").read_text())
    assert report["task"] == "segmentation" and report["model"] == "streets"
    assert "segment" in report["signatures"]
    assert report["accuracy"]["relative_error"] <= 1e-4
    image = np.random.default_rng(1).integers(0, 256, (1, 45, 67, 3), dtype=np.uint8)
    labels = tf.saved_model.load(str(out)).signatures["segment"](images=tf.constant(image))
    assert labels["labels"].shape == (1, 45, 67) and labels["labels"].dtype == tf.int32


@pytest.mark.parametrize(
    "model,args,pattern",
    [
        ("missing", [], r"model file not found: .*missing\.keras$"),
        ("broken", [], r"broken\.keras: cannot load the Keras model \("),
        ("pose", ["--format", "saved_model", "--quantize", "fp16"],
         r"--quantize fp16 applies to --format tflite only \(got saved_model\)"),
        ("pose", ["--representative-data", "NOWHERE"], r"not a directory: .*nowhere$"),
        ("pose", ["--input-size", "64by64"],
         r"argument --input-size: size must be N or HxW .* got '64by64'"),
        ("pose", ["--input-size", "96x96"], r"--input-size 96x96 does not match the model input 64x64"),
        ("pose", ["--task", "classification"], r"model 'body' is an hrnet_tf pose model"),
        ("seg", [], r"model 'streets' accepts any image size; pass --input-size HxW"),
        ("pose", ["--format", "onnx", "--format", "keras"], r"argument --format: invalid choice: 'keras'"),
    ],
    ids=["missing", "unreadable", "quantize", "no-data-dir", "bad-size", "size-mismatch",
         "task-conflict", "dynamic-size", "bad-format"],
)
def test_user_errors_are_one_line_and_status_2(tmp_path, saved, capsys, model, args, pattern):
    path = saved.get(model, tmp_path / f"{model}.keras")
    args = [a.replace("NOWHERE", str(tmp_path / "nowhere")) for a in args]
    if "--format" not in args:
        args = ["--format", "tflite", *args]
    status = main(["--model-path", str(path), *args, "--out", str(tmp_path / "x")])
    assert_user_error(status, capsys, pattern)
    assert not list(tmp_path.glob("x*"))  # stopped before writing anything


def test_representative_data_without_one_decodable_image(tmp_path, saved, capsys):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "cut.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(40))
    status = main(["--model-path", str(saved["pose"]), "--format", "tflite", "--out",
                   str(tmp_path / "x"), "--representative-data", str(tmp_path / "data")])
    assert_user_error(status, capsys, r"none of the 1 images .* e\.g\. .*cut\.png: truncated PNG")


def test_internal_failures_are_not_reported_as_user_errors(tmp_path, saved, monkeypatch):
    """Status 1 with the traceback: run() lets anything but a user error through."""
    from hrnet_tf.export import api

    def broken_export(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(api, "export_model", broken_export)
    with pytest.raises(RuntimeError, match="a bug"):
        main(["--model-path", str(saved["pose"]), "--format", "tflite", "--out", str(tmp_path / "x")])
