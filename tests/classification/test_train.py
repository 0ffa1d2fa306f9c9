"""train/classify.py end to end (in-process) on a generated ImageNet-layout folder with the bad
files of a real download: it learns, and every bad file is counted and named at the end."""

import json
from pathlib import Path

import pytest

from hrnet_tf import cli

from .helpers import add_undecodable, image_folder


def _event_tags(log_dir):
    import tensorflow as tf

    tags = set()
    for path in log_dir.glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            tags.update(value.tag for value in event.summary.value)
    return tags


@pytest.mark.slow
def test_tiny_run_learns_and_bad_files_are_counted_and_named(tmp_path, capsys):
    data = Path(image_folder(tmp_path / "data", num_classes=4, train_per_class=12,
                             val_per_class=4))
    train_dir = data / "train" / "n00000002"
    (train_dir / "README.txt").write_text("not an image")
    good = sorted(train_dir.glob("*.JPEG"))[0].read_bytes()
    (train_dir / "cut.JPEG").write_bytes(good[: len(good) // 3])  # a truncated download
    (data / "val" / "n00000001" / "notes.txt").write_text("not an image")
    broken = add_undecodable(data / "val" / "n00000003")  # passes the listing check

    out = tmp_path / "run"
    status = cli.train("classify", [
        "--data-dir", str(data), "--out", str(out), "--set", "model.width=tiny",
        "model.num_classes=4", "model.head=pooled", "data.image_size=32", "train.batch_size=8",
        "train.epochs=4", "train.lr_steps=[3]", "eval.every_epochs=2"])
    stdout = capsys.readouterr().out
    assert status == 0, stdout[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["examples"] == 16 and metrics["skipped"] == 1
    assert metrics["top1"] >= 0.5, metrics  # chance is 0.25
    lines = stdout.splitlines()
    assert any(f"{data / 'train'}: skipped 2 of 50 files" in line and "cut.JPEG (truncated JPEG"
               in line and "README.txt" in line for line in lines), stdout[-2000:]
    assert any(f"{data / 'val'}: skipped 1 of 18 files" in line and "notes.txt" in line
               for line in lines)
    assert any(f"{broken} (could not be decoded)" in line and "skipped 1 sample(s)" in line
               for line in lines)
    assert "epoch 4/4" in stdout and "img/s" in stdout
    assert stdout.count("eval  top1") == 2  # after epoch 2, and the final one
    assert (out / "model.keras").exists() and (out / "config.yaml").exists()
    tags = _event_tags(out / "logs")
    for tag in ("train/loss", "train/lr", "train/images_per_second", "train/top1", "eval/top1"):
        assert tag in tags, sorted(tags)
