"""The pose Task: the packaged recipes, the whole-config check, the synthetic demo data, and
train/pose.py (hrnet_tf.cli.train, in-process) on bad input and end to end."""

import glob
import json
import os

import pytest

from hrnet_tf.cli import train
from hrnet_tf.data.synthetic import MARKER
from hrnet_tf.errors import ConfigError
from hrnet_tf.pose.coco import detection_path
from hrnet_tf.pose.pipeline import BAD_IMAGE
from hrnet_tf.pose.task import PoseConfig, PoseTask, codec_of
from hrnet_tf.training.config import CONFIG_ROOT, load_config

from .helpers import truncate

POSE_CONFIGS = os.path.join(CONFIG_ROOT, "pose")
TINY = ["model.width=tiny", "data.image_size=[64,64]"]


def _config(dataset="synthetic", overrides=()):
    return load_config(PoseTask().config_file(dataset), PoseConfig, list(overrides))


@pytest.mark.parametrize("name,width,size,sigma,batch", [
    ("coco_w32_256x192", 32, (192, 256), 2.0, 128),
    ("coco_w32_384x288", 32, (288, 384), 3.0, 128),
    ("coco_w48_256x192", 48, (192, 256), 2.0, 128),
    ("coco_w48_384x288", 48, (288, 384), 3.0, 96),
    ("mpii_w32_256x256", 32, (256, 256), 2.0, 128),
])
def test_official_recipes(name, width, size, sigma, batch):
    config = load_config(os.path.join(POSE_CONFIGS, f"{name}.yaml"), PoseConfig)
    codec = codec_of(config)
    assert config.model.width == width
    assert codec.image_size == size and codec.sigma == sigma
    assert codec.heatmap_size == (size[0] // 4, size[1] // 4)  # official HEATMAP_SIZE
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


def test_every_pose_config_loads_and_validates():
    task = PoseTask()
    found = sorted(os.path.basename(p) for p in glob.glob(os.path.join(POSE_CONFIGS, "*.yaml")))
    assert set(task.dataset_configs.values()) <= set(found)
    assert found == ["coco_litehrnet_18_256x192.yaml", "coco_litehrnet_30_256x192.yaml",
                     "coco_w32_256x192.yaml", "coco_w32_384x288.yaml", "coco_w48_256x192.yaml",
                     "coco_w48_384x288.yaml", "mpii_w32_256x256.yaml", "synthetic_tiny.yaml"]
    for name in found:
        config = load_config(os.path.join(POSE_CONFIGS, name), PoseConfig, ["data.dir=DIR"])
        task.validate(config)
    assert task.default_dataset == "coco" and task.config_dir == "pose"


def test_heatmap_size_is_derived_when_empty_and_kept_when_it_fits():
    config = _config("coco", ["data.image_size=[128,96]"])
    assert codec_of(config).heatmap_size == (24, 32)  # (width, height)
    config = _config("coco", ["data.image_size=[128,96]", "data.heatmap_size=[32,24]"])
    assert codec_of(config).heatmap_size == (24, 32)


@pytest.mark.parametrize("overrides,line", [
    (["data.image_size=[64,48]"],
     "data.image_size=[64, 48]: the width 48 is not a positive multiple of 32 "
     "(HRNetV1 fuses its branches by upsampling with fixed factors)"),
    (["data.image_size=[64,64]", "data.heatmap_size=[64,48]"],
     "data.heatmap_size=[64, 48] does not fit data.image_size=[64, 64]: HRNetV1's heatmaps are "
     "the input / 4, [16, 16] (or leave heatmap_size empty, [], to derive it)"),
    (["data.sigma=0"], "data.sigma=0.0: must be > 0 (heatmap pixels)"),
    (["data.keypoints={name: x, num_joints: 3}"], "data.keypoints: missing key 'sigmas'"),
    (["model.final_conv_kernel=2"],
     "model.final_conv_kernel=2: must be 1 or 3 (the official FINAL_CONV_KERNEL options)"),
    (["data.keypoints=mpii"], "data.keypoints='mpii': the synthetic demo draws the 17 COCO joints"),
    (["model.pretrained=/nowhere/w.pth"], "model.pretrained='/nowhere/w.pth': file not found"),
    (["eval.oks_threshold=0"], "eval.oks_threshold=0.0: must be in (0, 1]"),
])
def test_a_config_the_network_cannot_take_is_one_line_naming_the_key(overrides, line, capsys):
    assert train("pose", ["--set", *overrides]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [f"error: {line}"]


def test_a_recipe_without_data_dir_or_with_a_missing_one_is_one_line(tmp_path, capsys):
    assert train("pose", ["--dataset", "coco"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: data.dir is empty: pass --data-dir DIR (the coco root)"]
    missing = tmp_path / "nowhere"
    assert train("pose", ["--data-dir", str(missing), "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"error: file not found: {missing}/annotations/person_keypoints_train2017.json"]


def test_the_task_keeps_no_state_and_the_model_knows_its_keypoints(tmp_path):
    task = PoseTask()
    hand = {"name": "hand", "joint_names": ["a", "b"], "flip_pairs": [[0, 1]],
            "sigmas": [0.05, 0.05]}
    config = _config("coco", [*TINY, f"data.keypoints={json.dumps(hand)}", "data.dir=DIR"])
    task.validate(config)
    model = task.build_model(config)
    assert model.info.labels["keypoints"]["joint_names"] == ["a", "b"]
    assert model.output_shape == (None, 16, 16, 2)
    assert task.build_model(_config("synthetic", TINY)).info.labels == {"keypoints": "coco"}
    assert vars(task) == {}


def test_max_samples_limits_the_evaluation(synthetic_coco):
    config = _config("coco", [*TINY, f"data.dir={synthetic_coco}", "eval.max_samples=2",
                              "eval.use_gt_bbox=true"])
    data = PoseTask().load_data(config)
    assert data.val.size == 2 and list(data.val.image_ids) == [1, 2]
    assert PoseTask().build_evaluator(config, data).num_samples == 2


def _train_dirs(root):
    return sorted(os.listdir(root / "images" / "train2017"))


def test_synthetic_data_is_regenerated_when_its_settings_change(tmp_path, capsys):
    task = PoseTask()
    root = tmp_path / "data"
    settings = [f"data.dir={root}", "data.synthetic_val=2", "data.synthetic_size=[64,64]"]
    assert task.load_data(_config("synthetic", [*settings, "data.synthetic_train=3"])).num_train == 3
    assert "generating the synthetic dataset" in capsys.readouterr().out
    assert len(_train_dirs(root)) == 3
    marker = (root / MARKER).read_text()
    task.load_data(_config("synthetic", [*settings, "data.synthetic_train=3"]))
    assert "generating" not in capsys.readouterr().out and (root / MARKER).read_text() == marker
    data = task.load_data(_config("synthetic", [*settings, "data.synthetic_train=5"]))
    assert data.num_train == 5 and len(_train_dirs(root)) == 5
    assert "generating" in capsys.readouterr().out
    import cv2

    bigger = [f"data.dir={root}", "data.synthetic_val=2", "data.synthetic_size=[80,96]",
              "data.synthetic_train=5"]
    task.load_data(_config("synthetic", bigger))
    assert cv2.imread(str(root / "images" / "train2017" / _train_dirs(root)[0])).shape == (80, 96, 3)


def test_a_foreign_folder_is_refused_for_the_synthetic_data(tmp_path, capsys):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("not generated")
    assert train("pose", ["--set", f"data.dir={folder}", "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"error: {folder}: not empty and not written by the synthetic generator; the synthetic "
        "dataset is only generated into a new or empty folder (choose another data.dir)"]
    assert os.listdir(folder) == ["notes.txt"]


@pytest.mark.parametrize("split", ["train2017", "val2017"])
def test_a_bad_keypoint_list_stops_train_with_one_line(coco_copy, tmp_path, split, capsys):
    path = coco_copy / "annotations" / f"person_keypoints_{split}.json"
    data = json.loads(path.read_text())
    data["annotations"][1]["keypoints"].append(0)
    path.write_text(json.dumps(data))
    status = train("pose", ["--dataset", "coco", "--data-dir", str(coco_copy),
                            "--out", str(tmp_path / "o"), "--set", *TINY])
    assert status == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"error: {path}: annotation id 2 has keypoints 52 values, expected 51 numbers "
        "(x, y, v for 17 joints)"]


def test_a_bad_detection_file_stops_train_with_one_line(coco_copy, tmp_path, capsys):
    path = tmp_path / "dets.json"
    path.write_text(json.dumps([{"image_id": 1, "category_id": 1, "bbox": [1, 2], "score": 1}]))
    status = train("pose", ["--dataset", "coco", "--data-dir", str(coco_copy),
                            "--out", str(tmp_path / "o"), "--set", *TINY,
                            f"eval.detection_file={path}"])
    assert status == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"error: {path}: detection #0 is not {{category_id, image_id, bbox: [x, y, w, h], score}}"]


RUN = ["--dataset", "coco", "--set", *TINY, "train.batch_size=3", "train.epochs=1",
       "eval.batch_size=4", "train.checkpoint_every_steps=0"]


@pytest.mark.slow
def test_train_end_to_end_reports_an_incomplete_val_image_and_writes_the_metrics(
        coco_copy, tmp_path, capsys):
    bad = coco_copy / "images" / "val2017" / "000000000005.jpg"
    truncate(bad)
    bad_train = coco_copy / "images" / "train2017" / "000000000002.jpg"
    bad_train.write_bytes(b"not an image at all")
    out = tmp_path / "run"
    assert train("pose", ["--data-dir", str(coco_copy), "--out", str(out), *RUN]) == 0
    stdout = capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) == {"AP", "AP50", "AP75", "APM", "APL", "AR", "AR50", "AR75", "ARM", "ARL",
                            "skipped"}
    crops = sum(d["image_id"] == 5 and d["score"] >= 0
                for d in json.loads(open(detection_path(coco_copy)).read()))
    assert metrics["skipped"] == crops
    assert (f"COCO keypoints evaluation: skipped {crops} sample(s): {bad} ({BAD_IMAGE})"
            in stdout)
    assert (f"train2017: skipped 1 image(s), 1 person crop(s): {bad_train} "
            "(not a JPEG/PNG/GIF/BMP (unknown content))" in stdout)
    results = json.loads((out / "keypoints_results.json").read_text())
    assert results and 5 not in {r["image_id"] for r in results}
    import hrnet_tf

    assert hrnet_tf.load_model(out / "model.keras").info.labels == {"keypoints": "coco"}


def test_an_incomplete_training_image_is_skipped_while_listing_and_named(coco_copy):
    bad = coco_copy / "images" / "train2017" / "000000000004.jpg"
    truncate(bad)
    config = _config("coco", [*TINY, f"data.dir={coco_copy}"])
    data = PoseTask().load_data(config)
    assert data.num_train == data.train.size == 5 and str(bad) not in set(data.train.image_paths)
    assert data.notes == [f"train2017: skipped 1 image(s), 1 person crop(s): {bad} "
                          "(truncated JPEG (no end marker))"]
    unchecked = PoseTask().load_data(_config("coco", [*TINY, f"data.dir={coco_copy}",
                                                      "data.check_files=false"]))
    assert unchecked.num_train == 6  # the pipeline then stops at it (test_pipeline.py)


def test_validate_is_the_config_check_of_the_library_too():
    with pytest.raises(ConfigError, match=r"^data\.image_size=\[64, 40\]"):
        PoseTask().validate(_config("synthetic", ["data.image_size=[64,40]"]))
