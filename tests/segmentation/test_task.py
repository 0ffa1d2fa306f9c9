"""SegmentationTask with the shared trainer, and the train/segment.py command line."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from hrnet_tf.segmentation.task import SegmentationConfig, SegmentationTask
from hrnet_tf.training.config import load_config

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIGS = os.path.join(REPO, "configs", "segmentation")


def tiny_overrides(data_dir):
    return [
        f"data.dir={data_dir}", "data.synthetic_train=4", "data.synthetic_val=2",
        "data.synthetic_size=[48,96]", "data.image_size=[32,64]", "data.base_size=96",
        "train.batch_size=2", "train.epochs=1",
    ]


def test_official_configs_load_with_the_official_recipe():
    w48 = load_config(os.path.join(CONFIGS, "cityscapes_w48_512x1024.yaml"), SegmentationConfig)
    assert (w48.model.width, w48.model.num_classes, w48.data.image_size) == (48, 19, [512, 1024])
    assert (w48.train.lr, w48.train.weight_decay, w48.train.momentum) == (0.01, 5e-4, 0.9)
    assert (w48.train.schedule, w48.train.poly_power, w48.train.batch_size) == ("poly", 0.9, 12)
    assert w48.data.base_size == 2048 and w48.data.scale_factor == 16
    ohem = load_config(os.path.join(CONFIGS, "cityscapes_w48_ohem_512x1024.yaml"),
                       SegmentationConfig)
    assert ohem.loss.use_ohem and (ohem.loss.ohem_thresh, ohem.loss.ohem_keep) == (0.9, 131072)
    for name, width in [("cityscapes_w18_small_v1_512x1024.yaml", "18-small-v1"),
                        ("cityscapes_w18_small_v2_512x1024.yaml", "18-small-v2")]:
        assert load_config(os.path.join(CONFIGS, name), SegmentationConfig).model.width == width
    lip = load_config(os.path.join(CONFIGS, "lip_w48_473x473.yaml"), SegmentationConfig)
    assert (lip.model.num_classes, lip.data.image_size, lip.data.scale_factor) == (20, [473, 473],
                                                                                    11)
    for n in (59, 60):
        ctx = load_config(os.path.join(CONFIGS, f"pascal_context_w48_cls{n}_480x480.yaml"),
                          SegmentationConfig)
        assert ctx.model.num_classes == n and ctx.train.lr == 0.004


def test_task_builds_trains_one_batch_and_evaluates(tmp_path):
    config = load_config(os.path.join(CONFIGS, "synthetic_tiny.yaml"), SegmentationConfig,
                         tiny_overrides(tmp_path / "data"))
    task = SegmentationTask()
    model = task.build_model(config)
    assert task.steps_per_epoch(config) == 2
    images, labels = next(iter(task.train_dataset(config, None, epoch=0)))
    assert images.shape == (2, 32, 64, 3) and labels.shape == (2, 32, 64)
    per_example = task.loss(labels, model(images, training=True))
    assert per_example.shape == (2,) and np.isfinite(per_example.numpy()).all()
    # An untrained net on 5 classes: a loss near log(5).
    assert 0.5 < float(np.mean(per_example)) < 5.0
    metrics = task.evaluate(model, config, str(tmp_path / "out"))
    assert "mIoU" in metrics and {"road", "car"} <= set(metrics["per_class"])
    with open(tmp_path / "out" / "eval" / "metrics.json") as f:
        report = json.load(f)
    assert report["mIoU"] == metrics["mIoU"] and len(report["per_class"]) == 5


def _run_cli(*args, timeout=300):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, os.path.join(REPO, "train", "segment.py"), *args],
                          capture_output=True, text=True, timeout=timeout, env=env, cwd=REPO)


def test_cli_missing_data_dir_is_one_line_exit_2():
    result = _run_cli("--dataset", "cityscapes", "--data-dir", "/nonexistent")
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert "/nonexistent" in errors[0] and "leftImg8bit" in errors[0] and "gtFine" in errors[0]


def test_cli_trains_on_synthetic_data_and_writes_outputs(tmp_path):
    out = tmp_path / "run"
    sets = [item for item in tiny_overrides(tmp_path / "data")]
    result = _run_cli("--dataset", "synthetic", "--out", str(out), "--set", *sets)
    assert result.returncode == 0, result.stderr[-2000:]
    for name in ("config.yaml", "model.keras", "metrics.json"):
        assert (out / name).exists(), name
    with open(out / "metrics.json") as f:
        report = json.load(f)
    assert 0.0 <= report["mIoU"] <= 1.0
    assert set(report["per_class"]) == {"road", "building", "vegetation", "sky", "car"}
    assert len(os.listdir(out / "eval" / "predictions")) == 2


def test_cli_reports_a_bad_label_in_one_line(tmp_path):
    # Unknown ids are checked the same way in test_pipeline; one CLI run keeps this file fast.
    import cv2

    from hrnet_tf.data.synthetic_segmentation import write_synthetic_cityscapes

    data = tmp_path / "data"
    write_synthetic_cityscapes(data, num_train=4, num_val=2, size=(48, 96))
    # Marks the data as generated so the run does not overwrite the damaged label.
    with open(data / "synthetic.json", "w") as f:
        json.dump({"train": 4, "val": 2, "size": [48, 96], "seed": 0}, f)
    bad = data / "gtFine" / "train" / "synthcity" / "synthcity_000001_000019_gtFine_labelIds.png"
    cv2.imwrite(str(bad), np.full((24, 96), 7, np.uint8))
    result = _run_cli("--dataset", "synthetic", "--out", str(tmp_path / "run"), "--set",
                      *tiny_overrides(data))
    assert result.returncode == 2, result.stderr[-2000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and str(bad) in errors[0]
    assert "label size 24x96 differs from image size 48x96" in errors[0]


def test_predict_and_evaluate_commands(tmp_path, capsys):
    import cv2

    import hrnet_tf
    from hrnet_tf.data.synthetic_segmentation import write_synthetic_cityscapes
    from hrnet_tf.segmentation import evaluate, predict

    data = tmp_path / "data"
    write_synthetic_cityscapes(data, num_train=0, num_val=2, size=(48, 96))
    model_path = str(tmp_path / "model.keras")
    hrnet_tf.HRNetV2("tiny", num_classes=19).save(model_path)
    image = data / "leftImg8bit" / "val" / "synthcity" / "synthcity_000000_000019_leftImg8bit.png"

    assert predict.main([str(image), "--weights", model_path, "--out", str(tmp_path / "p"),
                         "--mode", "multiscale", "--scales", "0.75", "1.0", "--flip"]) == 0
    stem = "synthcity_000000_000019_leftImg8bit"
    color = cv2.imread(str(tmp_path / "p" / f"{stem}_color.png"))[:, :, ::-1]
    overlay = cv2.imread(str(tmp_path / "p" / f"{stem}_overlay.png"))
    label_ids = cv2.imread(str(tmp_path / "p" / f"{stem}_labelIds.png"), cv2.IMREAD_UNCHANGED)
    assert color.shape == overlay.shape == (48, 96, 3) and label_ids.shape == (48, 96)
    # The color map and the benchmark file describe the same prediction.
    from hrnet_tf.segmentation import labels as L

    train_ids = L.cityscapes_label_lut()[label_ids]
    np.testing.assert_array_equal(color, L.colorize(train_ids, L.CITYSCAPES_PALETTE))
    assert predict.main(["/nonexistent.png", "--weights", model_path]) == 2
    assert "/nonexistent.png: not found" in capsys.readouterr().err

    config = os.path.join(CONFIGS, "cityscapes_w18_small_v1_512x1024.yaml")
    out = tmp_path / "eval"
    assert evaluate.main(["--config", config, "--weights", model_path, "--data-dir", str(data),
                          "--out", str(out), "--save-predictions"]) == 0
    with open(out / "metrics.json") as f:
        report = json.load(f)
    assert report["num_images"] == 2 and len(report["per_class"]) == 19
    assert sorted(os.listdir(out / "labelIds")) == [
        "synthcity_000000_000019_leftImg8bit.png", "synthcity_000001_000019_leftImg8bit.png"]


def test_synthetic_data_never_overwrites_a_foreign_directory(tmp_path):
    from hrnet_tf.segmentation.datasets import DatasetError
    from hrnet_tf.segmentation.task import load_pairs

    foreign = tmp_path / "real_data"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("precious")
    config = load_config(os.path.join(CONFIGS, "synthetic_tiny.yaml"), SegmentationConfig,
                         [f"data.dir={foreign}"])
    with pytest.raises(DatasetError, match="not empty and holds no synthetic.json"):
        load_pairs(config, "train")
    assert os.listdir(foreign) == ["keep.txt"]
    # Our own scenes are regenerated when the settings change, without stale files.
    ours = tmp_path / "synthetic"
    config = load_config(os.path.join(CONFIGS, "synthetic_tiny.yaml"), SegmentationConfig,
                         [f"data.dir={ours}", "data.synthetic_train=5", "data.synthetic_val=1",
                          "data.synthetic_size=[32,64]"])
    assert len(load_pairs(config, "train")[0]) == 5
    config.data.synthetic_train = 2
    assert len(load_pairs(config, "train")[0]) == 2
