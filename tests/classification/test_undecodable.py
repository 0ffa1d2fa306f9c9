"""An image that passes the file checks but fails in the decoder is counted, not silently lost."""

from pathlib import Path

from hrnet_tf.classification import ClassificationConfig, ClassificationTask
from hrnet_tf.data.imagenet import image_file_problem
from hrnet_tf.data.synthetic_classification import write_image_folder
from hrnet_tf.training.config import load_config


def test_undecodable_validation_image_is_counted_and_reported(tmp_path):
    data = write_image_folder(tmp_path / "data", num_classes=2, train_per_class=4, val_per_class=3)
    val = Path(data) / "val" / "n00000001"
    good = sorted(val.glob("*.JPEG"))[0].read_bytes()
    broken = val / "broken_body.JPEG"
    # Header and end marker intact (the cheap file check passes), entropy-coded body destroyed.
    broken.write_bytes(good[:20] + b"\xff\x00" * ((len(good) - 22) // 2) + good[-2:])
    assert image_file_problem(str(broken)) is None

    config = load_config(None, ClassificationConfig, [
        f"data.dir={data}", "data.format=folder", "data.image_size=32", "model.width=tiny",
        "model.head=pooled", "model.num_classes=2", "train.batch_size=2",
    ])
    task = ClassificationTask()
    metrics = task.evaluate(task.build_model(config), config, str(tmp_path / "out"))
    assert metrics["examples"] == 6 and metrics["undecodable"] == 1
    assert any("1 image(s) could not be decoded" in line for line in task.on_run_end())
