"""Lite-HRNet in the pose task: the official COCO recipes (HRNet/Lite-HRNet
configs/top_down/lite_hrnet/coco/litehrnet_{18,30}_coco_256x192.py) and a tiny training run
through train/pose.py that writes a model which loads back and predicts."""

import json
import os

import numpy as np
import pytest

from hrnet_tf.cli import train
from hrnet_tf.errors import ConfigError
from hrnet_tf.pose.task import PoseConfig, PoseTask, codec_of
from hrnet_tf.training.config import CONFIG_ROOT, load_config

POSE_CONFIGS = os.path.join(CONFIG_ROOT, "pose")


@pytest.mark.parametrize("variant", ["18", "30"])
def test_official_lite_hrnet_recipes(variant):
    config = load_config(os.path.join(POSE_CONFIGS, f"coco_litehrnet_{variant}_256x192.yaml"),
                         PoseConfig, ["data.dir=DIR"])
    PoseTask().validate(config)
    m, t, d = config.model, config.train, config.data
    assert (m.architecture, str(m.width)) == ("litehrnet", variant)
    assert (t.optimizer, t.lr, t.epochs, t.batch_size, t.lr_steps) == (
        "adam", 2e-3, 210, 512, [170.0, 200.0])
    # warmup_iters=500 at 512 crops a step of COCO's 149,813: 500 / ceil(149813 / 512) epochs
    assert abs(t.warmup_epochs - 500 / 293) < 0.01 and t.warmup_factor == 0.001
    assert (d.scale_factor, d.rotation_factor, d.sigma) == (0.25, 30.0, 2.0)
    assert codec_of(config).image_size == (192, 256)


def test_a_lite_hrnet_width_that_does_not_exist_is_one_line():
    config = load_config(PoseTask().config_file("synthetic"), PoseConfig,
                         ["model.architecture=litehrnet", "model.width=32",
                          "model.final_conv_kernel=1"])
    with pytest.raises(ConfigError, match="model.width=32: Lite-HRNet comes in"):
        PoseTask().validate(config)


@pytest.mark.slow
def test_lite_hrnet_trains_evaluates_and_loads_back(synthetic_coco, tmp_path):
    import hrnet_tf

    out = tmp_path / "run"
    args = ["--dataset", "coco", "--data-dir", str(synthetic_coco), "--out", str(out), "--set",
            "model.architecture=litehrnet", "model.width=tiny", "data.image_size=[64,64]",
            "train.batch_size=3", "train.epochs=1", "eval.batch_size=4", "eval.use_gt_bbox=true",
            "train.checkpoint_every_steps=0", "eval.decoding=dark"]
    assert train("pose", args) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0.0 <= metrics["AP"] <= 1.0
    model = hrnet_tf.load_model(out / "model.keras")
    assert model.info.architecture == "LiteHRNet"
    assert model.info.labels["decoding"] == "dark"
    x = np.random.default_rng(0).uniform(-1, 1, (1, 64, 64, 3)).astype(np.float32)
    fresh = PoseTask().build_model(load_config(str(out / "config.yaml"), PoseConfig))
    fresh.set_weights(model.get_weights())
    np.testing.assert_allclose(np.asarray(model(x)), np.asarray(fresh(x)), rtol=1e-5, atol=1e-6)
