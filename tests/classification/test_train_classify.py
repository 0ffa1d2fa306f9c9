"""train/classify.py end to end on a generated ImageNet-layout folder with bad files in it."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hrnet_tf.data.synthetic_classification import write_image_folder

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "train" / "classify.py"


def _run(*args, timeout=400):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("TF_CONFIG", None)
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=REPO)


def test_tiny_width_learns_and_bad_files_are_counted(tmp_path):
    data = write_image_folder(tmp_path / "data", num_classes=4, train_per_class=24,
                              val_per_class=8)
    train_dir = Path(data) / "train" / "n00000002"
    (train_dir / "README.txt").write_text("not an image")
    good = sorted(train_dir.glob("*.JPEG"))[0].read_bytes()
    (train_dir / "cut.JPEG").write_bytes(good[: len(good) // 3])
    shutil.copy(train_dir / "README.txt", Path(data) / "val" / "n00000001" / "notes.txt")

    out = tmp_path / "run"
    result = _run("--config", str(REPO / "configs/classification/tiny_synthetic.yaml"),
                  "--data-dir", str(data), "--out", str(out),
                  "--set", "data.format=folder", "train.epochs=5", "train.lr_steps=[4]",
                  "model.head=pooled", "eval.every_epochs=2")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["examples"] == 32
    assert metrics["top1"] >= 0.6, metrics  # chance is 0.25
    assert "skipped 2 of 98 files" in result.stdout and "cut.JPEG" in result.stdout
    assert "skipped 1 of 33 files" in result.stdout and "notes.txt" in result.stdout
    assert "epoch 5/5" in result.stdout and "img/s" in result.stdout
    assert result.stdout.count("eval  top1") == 3  # after epochs 2 and 4, and the final one
    assert (out / "model.keras").exists() and (out / "config.yaml").exists()
    tags = _event_tags(out / "logs")
    for tag in ("train/loss", "train/lr", "train/images_per_second", "train/top1", "eval/top1"):
        assert tag in tags, sorted(tags)


def _event_tags(log_dir):
    import tensorflow as tf

    tags = set()
    for path in log_dir.glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            tags.update(value.tag for value in event.summary.value)
    return tags


def test_missing_data_dir_stops_with_one_line(tmp_path):
    result = _run("--data-dir", str(tmp_path / "absent"), "--out", str(tmp_path / "run"),
                  "--set", "data.format=folder", timeout=120)
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last == f"error: data directory not found: {tmp_path / 'absent'}"


def test_official_head_builds_from_config():
    from hrnet_tf.classification import ClassificationConfig, ClassificationTask
    from hrnet_tf.training.config import load_config

    config = load_config(REPO / "configs/classification/w18.yaml", ClassificationConfig,
                         ["model.width=tiny", "model.num_classes=7", "data.image_size=64"])
    model = ClassificationTask().build_model(config)
    assert model.output_shape == (None, 7)
    assert any(layer.name.startswith("downsamp_modules") for layer in model.layers)


@pytest.mark.parametrize("width", ["18-small-v1", "18-small-v2", 18, 30, 32, 40, 44, 48, 64])
def test_every_width_has_an_official_recipe_config(width):
    from hrnet_tf.classification import ClassificationConfig
    from hrnet_tf.training.config import load_config

    name = f"w{width}".replace("-", "_")
    config = load_config(REPO / f"configs/classification/{name}.yaml", ClassificationConfig)
    assert str(config.model.width) == str(width)
    t = config.train
    # HRNet-Image-Classification cls_hrnet_*_sgd_lr5e-2_wd1e-4_bs32_x100.yaml, 4 GPUs
    assert (t.optimizer, t.lr, t.momentum, t.nesterov, t.weight_decay) == ("sgd", 0.05, 0.9,
                                                                            True, 1e-4)
    assert (t.batch_size, t.epochs, t.lr_steps, t.lr_factor) == (128, 100, [30, 60, 90], 0.1)
    assert config.data.image_size == 224 and config.model.num_classes == 1000
