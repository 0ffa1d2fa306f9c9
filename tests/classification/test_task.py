"""ClassificationTask: which experiment runs, the whole-config check, listing the data, the models
it builds; user errors are one line with exit status 2 (in-process)."""

import os
from pathlib import Path

import pytest

from hrnet_tf import cli
from hrnet_tf.classification.synthetic import class_name, ensure_synthetic
from hrnet_tf.classification.task import ClassificationConfig, ClassificationTask
from hrnet_tf.errors import ConfigError, DataError
from hrnet_tf.training.config import CONFIG_ROOT, load_config

from .helpers import add_bad_files, image_folder

TINY = ["model.width=tiny", "data.image_size=32", "train.batch_size=2"]


def _resolve(*argv):
    task = ClassificationTask()
    return cli.resolve_config(task, cli.build_train_parser(task).parse_args(list(argv)))


def test_which_experiment_runs(tmp_path):
    config, path = _resolve()
    assert os.path.basename(path) == "tiny_synthetic.yaml" and config.data.dataset == "synthetic"
    # --data-dir alone: the official W18-C recipe, not the demo
    config, path = _resolve("--data-dir", str(tmp_path))
    assert path == os.path.join(CONFIG_ROOT, "classification", "w18.yaml")
    assert (config.data.dataset, config.data.dir, config.model.width) == ("imagenet", str(tmp_path), 18)
    config, path = _resolve("--dataset", "synthetic")
    assert os.path.basename(path) == "tiny_synthetic.yaml"


def _train(capsys, *argv):
    status = cli.train("classify", list(argv))
    return status, capsys.readouterr().err.strip().splitlines()


def test_missing_data_dir_is_one_line(tmp_path, capsys):
    missing = tmp_path / "absent"
    status, err = _train(capsys, "--data-dir", str(missing), "--out", str(tmp_path / "run"))
    assert status == 2 and err == [f"error: data directory not found: {missing}"]
    assert not (tmp_path / "run" / "model.keras").exists()


@pytest.mark.parametrize("override, key", [
    ("data.image_size=48", "data.image_size=48: height and width must be multiples of 32"),
    ("data.image_size=[64,48]", "data.image_size=[64, 48]"),
    ("model.num_classes=2", "model.num_classes=2 is smaller than data.synthetic_classes=4"),
    ("data.crop_scale=[0.5,0.2]", "data.crop_scale=[0.5, 0.2]"),
    ("data.eval_crop_fraction=1.5", "data.eval_crop_fraction=1.5"),
    ("model.width=17", "model.width: unknown HRNet width 17"),
])
def test_config_is_checked_as_a_whole_before_anything_is_built(tmp_path, capsys, override, key):
    status, err = _train(capsys, "--out", str(tmp_path / "run"), "--set", override)
    assert status == 2 and len(err) == 1 and err[0].startswith(f"error: {key}"), err
    assert not (tmp_path / "run").exists()


def test_class_folders_are_checked_against_the_model(tmp_path, capsys):
    data = image_folder(tmp_path / "data", num_classes=3, train_per_class=2)
    recipe = ["--data-dir", data, "--out", str(tmp_path / "run"), "--set", *TINY]
    status, err = _train(capsys, *recipe, "model.num_classes=2")
    assert status == 2 and err == [
        f"error: {Path(data) / 'train'}: 3 class folders but model.num_classes=2"]
    os.rename(Path(data) / "val" / "n00000002", Path(data) / "val" / "n00000099")
    status, err = _train(capsys, *recipe, "model.num_classes=3")
    assert status == 2 and err == [
        f"error: {Path(data) / 'val' / 'n00000099'}: class folder not present in the training split"]


def test_load_data_reports_skips_and_keeps_no_state(tmp_path):
    data = image_folder(tmp_path / "data", num_classes=2, train_per_class=3)
    bad = add_bad_files(Path(data) / "train" / "n00000001")
    task = ClassificationTask()
    config = load_config(task.config_file("imagenet"), ClassificationConfig,
                         [f"data.dir={data}", "model.num_classes=2", *TINY])
    task.validate(config)
    loaded = task.load_data(config)
    assert loaded.num_train == 7 and len(loaded.val) == 2  # 6 images + the PNG named .JPEG
    assert len(loaded.notes) == 1 and all(path in loaded.notes[0] for path in bad)
    task.train_dataset(config, loaded, epoch=1)
    task.build_evaluator(config, loaded)
    assert vars(task) == {}  # nothing stashed on the task between calls
    assert task.steps_per_epoch(config, loaded) == 7 // 2


def test_models_know_they_are_classifiers(tmp_path):
    import hrnet_tf

    data = image_folder(tmp_path / "data", num_classes=3, train_per_class=1)
    task = ClassificationTask()
    for head in ("official", "pooled"):
        config = load_config(task.config_file("imagenet"), ClassificationConfig,
                             [f"data.dir={data}", "model.num_classes=5", f"model.head={head}",
                              *TINY])
        model = task.build_model(config)
        assert model.output_shape == (None, 5)
        labels = model.info.labels
        assert labels["class_names"] == [class_name(i) for i in range(3)]
        assert labels["eval_crop_fraction"] == 0.875
        path = tmp_path / f"{head}.keras"
        model.save(path)
        loaded = hrnet_tf.load_model(path)
        assert loaded.info.task == "classification" and loaded.info.labels == labels
    assert loaded.info.architecture == "HRNetV2-pooled" and loaded.info.upsample_method == "nearest"


def test_synthetic_data_is_regenerated_when_its_settings_change(tmp_path):
    def generated(classes):
        d = load_config(None, ClassificationConfig, [
            "data.dataset=synthetic", f"data.dir={tmp_path / 'synth'}", f"data.synthetic_classes={classes}",
            "data.synthetic_train_per_class=2", "data.synthetic_val_per_class=1"]).data
        root = Path(ensure_synthetic(d))
        return sorted(p.name for p in (root / "train").iterdir())

    assert generated(3) == [class_name(i) for i in range(3)]
    assert generated(2) == [class_name(i) for i in range(2)]  # no stale third class left behind
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "mine.txt").write_text("x")
    d = load_config(None, ClassificationConfig, ["data.dataset=synthetic",
                                                 f"data.dir={tmp_path / 'other'}"]).data
    with pytest.raises(DataError, match="not written by the synthetic generator"):
        ensure_synthetic(d)


@pytest.mark.parametrize("width", ["18-small-v1", "18-small-v2", 18, 30, 32, 40, 44, 48, 64])
def test_every_width_has_an_official_recipe_config(width):
    name = f"w{width}".replace("-", "_")
    config = load_config(f"configs/classification/{name}.yaml", ClassificationConfig)
    ClassificationTask().validate(config)
    assert str(config.model.width) == str(width)
    t = config.train
    # HRNet-Image-Classification experiments/cls_hrnet_*_sgd_lr5e-2_wd1e-4_bs32_x100.yaml, 4 GPUs
    assert (t.optimizer, t.lr, t.momentum, t.nesterov, t.weight_decay) == ("sgd", 0.05, 0.9,
                                                                            True, 1e-4)
    assert (t.batch_size, t.epochs, t.lr_steps, t.lr_factor) == (128, 100, [30, 60, 90], 0.1)
    assert config.data.image_size == 224 and config.model.num_classes == 1000
    with pytest.raises(ConfigError):
        ClassificationTask().config_file("coco")
