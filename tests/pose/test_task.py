"""Pose configs carry the official recipes; train/pose.py runs end to end on a tiny synthetic set
and reports bad data in one line."""

import glob
import importlib.util
import json
import os

import pytest

from hrnet_tf.pose.task import CONFIG_DIR, PoseConfig, codec_of
from hrnet_tf.training.config import load_config

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _train_script():
    spec = importlib.util.spec_from_file_location("train_pose", os.path.join(REPO, "train",
                                                                             "pose.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name,width,size,sigma,batch", [
    ("coco_w32_256x192", 32, (192, 256), 2.0, 128),
    ("coco_w32_384x288", 32, (288, 384), 3.0, 128),
    ("coco_w48_256x192", 48, (192, 256), 2.0, 128),
    ("coco_w48_384x288", 48, (288, 384), 3.0, 96),
    ("mpii_w32_256x256", 32, (256, 256), 2.0, 128),
])
def test_official_recipes(name, width, size, sigma, batch):
    config = load_config(os.path.join(CONFIG_DIR, f"{name}.yaml"), PoseConfig)
    codec = codec_of(config)
    assert config.model.width == width
    assert codec.image_size == size and codec.sigma == sigma
    assert codec.heatmap_size == (size[0] // 4, size[1] // 4)
    t = config.train
    assert (t.optimizer, t.lr, t.weight_decay, t.epochs, t.batch_size) == (
        "adam", 1e-3, 0.0, 210, batch)
    assert t.lr_steps == [170.0, 200.0] and t.lr_factor == 0.1
    assert config.eval.flip_test and config.eval.shift_heatmap and config.eval.post_process
    if name.startswith("mpii"):
        assert codec.keypoints.name == "mpii" and config.data.prob_half_body < 0
        assert (config.data.scale_factor, config.data.rotation_factor) == (0.25, 30.0)
    else:
        assert codec.keypoints.name == "coco" and config.data.prob_half_body == 0.3
        assert (config.data.scale_factor, config.data.rotation_factor) == (0.35, 45.0)
        assert not config.eval.use_gt_bbox  # the published numbers use detector boxes


def test_every_pose_config_loads():
    for path in glob.glob(os.path.join(CONFIG_DIR, "*.yaml")):
        load_config(path, PoseConfig)


def test_train_script_runs_end_to_end_on_tiny_synthetic_data(tmp_path):
    out = tmp_path / "run"
    status = _train_script().run([
        "--out", str(out), "--set", f"data.dir={tmp_path / 'data'}", "data.synthetic_train=8",
        "data.synthetic_val=4", "data.synthetic_size=[96,96]", "data.image_size=[64,64]",
        "train.batch_size=4", "train.epochs=1", "eval.batch_size=4",
    ])
    assert status == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"AP", "AP50", "AP75", "APM", "APL", "AR", "AR50", "AR75", "ARM", "ARL"} <= set(metrics)
    assert (out / "model.keras").exists() and (out / "keypoints_results.json").exists()


def test_train_script_bad_data_dir_is_one_line(tmp_path, capsys):
    status = _train_script().run(["--data-dir", str(tmp_path / "nowhere"),
                                  "--out", str(tmp_path / "o")])
    assert status == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nowhere" in err[0] and err[0].startswith("error:")
