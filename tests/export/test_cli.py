"""The command line: python -m hrnet_tf.export ..."""

import json

import cv2
import numpy as np
import pytest

import hrnet_tf
from hrnet_tf.export.__main__ import main

pytest.importorskip("ai_edge_litert")


@pytest.fixture()
def pose_keras(tmp_path):
    model = hrnet_tf.HRNetV1("tiny", input_shape=(64, 64, 3))
    path = tmp_path / "model.keras"
    model.save(path)
    return path


def test_cli_int8_export_with_representative_data(tmp_path, pose_keras, capsys):
    data = tmp_path / "calib"
    data.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        cv2.imwrite(str(data / f"img{i}.png"), rng.integers(0, 256, (80, 70, 3), dtype=np.uint8))
    (data / "broken.jpg").write_bytes(b"not an image")
    out = tmp_path / "saved_models" / "pose_int8"
    main([
        "--model-path", str(pose_keras), "--format", "tflite", "--quantize", "int8",
        "--representative-data", str(data), "--calibrate-bn", "--out", str(out),
    ])
    printed = capsys.readouterr().out
    assert "skipped 1 unreadable image(s)" in printed and "broken.jpg" in printed
    assert (tmp_path / "saved_models" / "pose_int8.tflite").is_file()
    report = json.loads((tmp_path / "saved_models" / "pose_int8.report.json").read_text())
    assert report["task"] == "pose" and report["quantize"] == "int8"
    assert report["calibration_images"] == 3
    assert report["non_builtin_ops"] == []


def test_cli_errors_are_one_clear_line(tmp_path, pose_keras):
    with pytest.raises(SystemExit, match="no such file: .*missing.keras"):
        main(["--model-path", str(tmp_path / "missing.keras"), "--format", "onnx",
              "--out", str(tmp_path / "x")])
    with pytest.raises(SystemExit, match="applies to --format tflite only"):
        main(["--model-path", str(pose_keras), "--format", "saved_model", "--quantize", "fp16",
              "--out", str(tmp_path / "x")])
    with pytest.raises(SystemExit, match="not a directory: .*nowhere"):
        main(["--model-path", str(pose_keras), "--format", "tflite",
              "--representative-data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x")])
