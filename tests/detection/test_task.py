"""DetectionTask and ``train/detect.py`` in-process: experiments, config checks, an end-to-end run on
real COCO images (../shared/testdata), ``python -m hrnet_tf.detection.predict`` and the photo-pose
chain ``python -m hrnet_tf.pose.predict IMAGE --detector DET``."""

import json

import numpy as np
import pytest

from hrnet_tf import cli
from hrnet_tf.detection.metrics import STAT_NAMES
from hrnet_tf.detection.task import DetectionConfig, DetectionTask
from hrnet_tf.errors import ConfigError
from hrnet_tf.training.config import load_config
from tests.helpers import assert_user_error

TASK = DetectionTask()


def config_of(dataset, *overrides):
    return load_config(TASK.config_file(dataset), DetectionConfig, list(overrides))


def test_experiments_load_with_the_mmdet_recipe():
    for dataset in TASK.dataset_configs:
        TASK.validate(config_of(dataset))
    for w in (18, 32, 40):
        c = load_config(f"configs/detection/fcos_hrnetv2p_w{w}_1x.yaml", DetectionConfig)
        TASK.validate(c)
        assert c.model.width == w and c.model.num_classes == 80 and c.model.freeze_bn
        assert (c.train.lr, c.train.batch_size, c.train.epochs, c.train.lr_steps) == (
            0.01, 16, 12, [8.0, 11.0])
        assert (c.train.momentum, c.train.weight_decay, c.train.nesterov) == (0.9, 1e-4, False)
        assert c.data.scale == [1333, 800] and c.data.flip_ratio == 0.5
        assert (c.head.bbox_loss, c.head.center_sampling, c.head.score_threshold) == (
            "iou", False, 0.05)


@pytest.mark.parametrize("override,key", [
    ("data.image_size=[100,160]", "data.image_size"),
    ("model.feat_channels=30", "model.feat_channels"),
    ("head.regress_ranges=[[0,1]]", "head.regress_ranges"),
    ("data.flip_ratio=2.0", "data.flip_ratio"),
])
def test_bad_config_names_the_key(override, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        TASK.validate(config_of("synthetic", override))


def coco_mini_overrides(coco_mini):
    return [f"data.dir={coco_mini}",
            "data.train_annotations=annotations/person_keypoints_val2017.json",
            "data.train_images=images/val2017",
            "data.val_annotations=annotations/person_keypoints_val2017.json",
            "data.val_images=images/val2017",
            "data.image_size=[128,160]", "data.scale=[160,128]", "model.width=tiny",
            "model.num_classes=1", "model.out_channels=16", "model.feat_channels=16",
            "model.stacked_convs=1", "model.gn_groups=4", "model.freeze_bn=false",
            "train.batch_size=2", "train.epochs=1", "train.steps_per_epoch=1",
            "train.optimizer=adam", "train.lr=0.001",
            "train.bias_lr_mult=1", "train.bias_decay_mult=1"]  # the FCOS SGD groups: not Adam's


@pytest.mark.slow
def test_train_predict_and_photo_pose_on_real_coco_images(coco_mini, tmp_path, capsys):
    import keras

    import hrnet_tf
    from hrnet_tf.detection import predict as det_predict
    from hrnet_tf.models import load_model
    from hrnet_tf.pose import predict as pose_predict
    from hrnet_tf.pose.keypoints import COCO

    out = tmp_path / "det"
    assert cli.train("detect", ["--dataset", "coco", "--out", str(out), "--set",
                                *coco_mini_overrides(coco_mini)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(STAT_NAMES) <= set(metrics) and metrics["images"] == 4 and metrics["skipped"] == 0
    results = json.loads((out / "bbox_results.json").read_text())
    # one step from scratch finds nothing yet; what it finds is a "person" (COCO id 1)
    assert all(r["category_id"] == 1 and len(r["bbox"]) == 4 for r in results)

    # the evaluate command on the trained model: the same figures as the end of training
    from hrnet_tf.detection import evaluate as det_evaluate

    assert det_evaluate.main(["--weights", str(out / "model.keras"), "--out",
                              str(tmp_path / "eval")]) == 0
    again = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert {k: again[k] for k in STAT_NAMES} == {k: metrics[k] for k in STAT_NAMES}

    # A detector that finds "people" everywhere (its class bias raised), five per image, so that
    # the chain has boxes to hand on; then the tiny pose model on each of them.
    detector = load_model(str(out / "model.keras"))
    assert detector.info.labels["category_names"] == ["person"]
    bias = detector.get_layer("bbox_head").conv_cls.bias
    bias.assign(np.full(bias.shape, 4.0, np.float32))
    detector.info.labels["head"]["max_per_image"] = 5
    detector_file = tmp_path / "person_detector.keras"
    detector.save(detector_file)
    pose = hrnet_tf.HRNetV1("tiny", num_outputs=17, input_shape=(64, 64, 3))
    pose.info.labels = {"keypoints": COCO.to_config()}
    pose_file = tmp_path / "pose.keras"
    pose.save(pose_file)
    keras.backend.clear_session()

    image = str(coco_mini / "images" / "val2017" / "000000040083.jpg")
    capsys.readouterr()
    assert det_predict.main([image, "--weights", str(detector_file), "--threshold", "0.5",
                             "--out", str(tmp_path / "boxes.png")]) == 0
    found = json.loads(capsys.readouterr().out)
    assert len(found) == 5 and (tmp_path / "boxes.png").is_file()
    assert all(d["label"] == "person" and d["category_id"] == 1 and d["score"] >= 0.5
               for d in found)
    assert pose_predict.main([image, "--weights", str(pose_file), "--detector",
                              str(detector_file), "--out", str(tmp_path / "pose.png")]) == 0
    people = json.loads(capsys.readouterr().out)
    assert [p["box"] for p in people] == [d["box"] for d in found]
    assert all(len(p["keypoints"]) == 17 for p in people) and (tmp_path / "pose.png").is_file()
    # a threshold above every score: no person, an empty list
    assert pose_predict.main([image, "--weights", str(pose_file), "--detector",
                              str(detector_file), "--det-threshold", "1.01", "--out",
                              str(tmp_path / "none.png")]) == 0
    assert json.loads(capsys.readouterr().out) == []
    # a pose model is not a detector: one line
    status = pose_predict.main([image, "--weights", str(pose_file), "--detector", str(pose_file)])
    assert_user_error(status, capsys, "not a detector")
