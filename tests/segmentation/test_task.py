"""SegmentationTask on the Task contract and ``train/segment.py`` (in-process): experiments,
whole-config validation, data listing with named skips, model labels, and end-to-end runs."""

import json
import os

import cv2
import numpy as np
import pytest

from hrnet_tf import cli
from hrnet_tf.errors import ConfigError, DataError
from hrnet_tf.segmentation import labels as L
from hrnet_tf.segmentation.task import SegmentationConfig, SegmentationTask, dataset_of
from hrnet_tf.training.config import load_config

from .helpers import image_path, label_path, normalize_np, reference_ious, truncate, write

TASK = SegmentationTask()


def config_of(dataset, *overrides):
    return load_config(TASK.config_file(dataset), SegmentationConfig, list(overrides))


def tiny(data_dir):
    """Overrides that make the synthetic demo a few seconds long."""
    return [
        f"data.dir={data_dir}", "data.synthetic_train=4", "data.synthetic_val=2",
        "data.synthetic_size=[48,96]", "data.image_size=[32,64]", "data.base_size=96",
        "train.batch_size=2", "train.epochs=1",
    ]


def _error_lines(text):
    return [line for line in text.splitlines() if line.startswith("error:")]


def test_official_experiments_load_with_the_official_recipe():
    assert TASK.default_dataset == "cityscapes" and "synthetic" in TASK.dataset_configs
    for dataset in TASK.dataset_configs:
        TASK.validate(config_of(dataset))
    w48 = config_of("cityscapes")
    assert (w48.model.width, w48.model.num_classes, w48.data.image_size) == (48, 19, [512, 1024])
    assert (w48.train.lr, w48.train.weight_decay, w48.train.momentum) == (0.01, 5e-4, 0.9)
    assert (w48.train.schedule, w48.train.poly_power, w48.train.batch_size) == ("poly", 0.9, 12)
    assert w48.data.base_size == 2048 and w48.data.scale_factor == 16
    ohem = load_config("configs/segmentation/cityscapes_w48_ohem_512x1024.yaml",
                       SegmentationConfig)
    assert ohem.loss.use_ohem and (ohem.loss.ohem_thresh, ohem.loss.ohem_keep) == (0.9, 131072)
    lip = config_of("lip")
    assert (lip.model.num_classes, lip.data.image_size, lip.data.scale_factor) == (
        20, [473, 473], 11)
    for dataset, n in (("pascal_context", 59), ("pascal_context_60", 60)):
        assert config_of(dataset).model.num_classes == n and config_of(dataset).train.lr == 0.004


@pytest.mark.parametrize("argv,experiment", [
    ([], "synthetic_tiny.yaml"),
    (["--data-dir", "/data/cityscapes"], "cityscapes_w48_512x1024.yaml"),
    (["--dataset", "lip", "--data-dir", "/data/lip"], "lip_w48_473x473.yaml"),
])
def test_train_command_picks_the_demo_or_the_official_experiment(argv, experiment):
    args = cli.build_train_parser(TASK).parse_args(argv)
    config, path = cli.resolve_config(TASK, args)
    assert os.path.basename(path) == experiment
    assert config.data.dir == (argv[-1] if "--data-dir" in argv else "")


@pytest.mark.parametrize("dataset,override,message", [
    ("cityscapes", "model.num_classes=21", "model.num_classes=21: dataset 'cityscapes' has 19"),
    ("cityscapes", "loss.class_weights=[1.0,2.0]", "loss.class_weights=[1.0, 2.0]: has 2 entries"),
    ("cityscapes", "data.image_size=[0,64]", "data.image_size=[0, 64]: the crop height"),
    ("cityscapes", "model.width=17", "model.width=17: unknown HRNet width"),
    ("cityscapes", "eval.scales=[]", "eval.scales=[]: needs at least one scale"),
    ("cityscapes", "loss.ohem_thresh=1.5", "loss.ohem_thresh=1.5: is a probability"),
    ("cityscapes", "model.pretrained=/nonexistent.pth", "model.pretrained='/nonexistent.pth'"),
    ("synthetic", "data.ignore_label=3", "data.ignore_label=3: is a class index"),
    ("synthetic", "data.synthetic_train=2", "data.synthetic_train=2: fewer scenes than"),
    ("synthetic", "data.class_names=[a,b]", "data.class_names has 2 names"),
    ("synthetic", "data.id_mapping={7: 9}", "data.id_mapping maps to [9]"),
])
def test_a_bad_config_is_one_line_naming_the_key(dataset, override, message, capsys):
    assert cli.train("segment", ["--dataset", dataset, "--set", override]) == 2
    (line,) = _error_lines(capsys.readouterr().err)
    assert line.startswith("error: ") and message in line, line


def test_a_missing_data_dir_is_one_line_naming_path_and_layout(tmp_path, capsys):
    missing = str(tmp_path / "nonexistent")
    assert cli.train("segment", ["--data-dir", missing, "--out", str(tmp_path / "run")]) == 2
    (line,) = _error_lines(capsys.readouterr().err)
    assert missing in line and "leftImg8bit/train" in line and "gtFine/train" in line
    with pytest.raises(DataError, match="data.dir is empty; pass --data-dir DIR"):
        TASK.load_data(config_of("cityscapes"))


def test_criterion_and_model_come_from_the_config(tmp_path):
    config = config_of("cityscapes")
    assert TASK.build_criterion(config).class_weights == list(L.CITYSCAPES_CLASS_WEIGHTS)
    config.loss.use_class_weights = False
    assert TASK.build_criterion(config).class_weights is None
    config = config_of("synthetic", *tiny(tmp_path / "data"))
    criterion = TASK.build_criterion(config)
    assert (criterion.num_classes, criterion.use_ohem) == (5, False)
    model = TASK.build_model(config)
    labels = {"dataset": "synthetic",
              "class_names": ["road", "building", "vegetation", "sky", "car"]}
    assert model.info.labels == labels and model.output_shape[-1] == 5
    model.save(tmp_path / "m.keras")
    import hrnet_tf

    assert hrnet_tf.load_model(tmp_path / "m.keras").info.labels == labels
    assert vars(TASK) == {}  # nothing stashed between calls


def test_load_data_lists_the_splits_and_names_what_it_skips(tmp_path):
    data = tmp_path / "data"
    config = config_of("synthetic", *tiny(data))
    listed = TASK.load_data(config)
    assert (len(listed.train), len(listed.val), listed.num_train, listed.notes) == (4, 2, 4, [])
    # Skip mode: an unpaired image and a bad label are left out and named in the notes.
    os.remove(label_path(data, "train", 0))
    bad = label_path(data, "train", 2)
    write(bad, np.full((48, 96), 77, np.uint8))
    with pytest.raises(DataError, match="no label"):
        TASK.load_data(config)
    config.data.on_bad = "skip"
    listed = TASK.load_data(config)
    assert listed.num_train == 2
    (note,) = listed.notes
    assert note.startswith("train split: skipped 2 sample(s): ")
    assert "synthcity_000000_000019_leftImg8bit.png (no label)" in note
    assert f"{bad} (label id 77 is not in the label mapping (4608 pixels))" in note


def test_the_demo_data_goes_through_ensure_generated(tmp_path):
    data = tmp_path / "data"
    assert TASK.load_data(config_of("synthetic", *tiny(data))).num_train == 4
    changed = config_of("synthetic", *tiny(data), "data.synthetic_train=3")
    assert TASK.load_data(changed).num_train == 3  # regenerated, no stale scenes
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("precious")
    with pytest.raises(DataError, match="not written by the synthetic generator"):
        TASK.load_data(config_of("synthetic", *tiny(foreign)))
    assert os.listdir(foreign) == ["keep.txt"]


def test_one_training_batch(tmp_path):
    config = config_of("synthetic", *tiny(tmp_path / "data"))
    data = TASK.load_data(config)
    images, labels = next(iter(TASK.train_dataset(config, data, None, epoch=0)))
    assert images.shape == (2, 32, 64, 3) and labels.shape == (2, 32, 64)
    assert TASK.steps_per_epoch(config, data) == 2
    model = TASK.build_model(config)
    per_example = TASK.build_criterion(config)(labels, model(images, training=True))
    assert per_example.shape == (2,)
    # An untrained net is about uniform over the 5 classes: the official loss is near log(5).
    assert abs(float(np.mean(per_example)) - np.log(5)) < 1.0
    with pytest.raises(ConfigError):
        TASK.validate(config_of("synthetic", *tiny(tmp_path / "data"), "model.num_classes=0"))


@pytest.mark.slow
def test_a_bad_label_in_training_is_one_line_exit_2(tmp_path, capsys):
    data = tmp_path / "data"
    TASK.load_data(config_of("synthetic", *tiny(data)))  # generates the scenes
    bad = label_path(data, "train", 1)
    write(bad, np.full((24, 96), 7, np.uint8))
    status = cli.train("segment", ["--out", str(tmp_path / "run"), "--set", *tiny(data),
                                   "train.batch_size=4"])
    assert status == 2
    (line,) = _error_lines(capsys.readouterr().err)
    image = image_path(data, "train", 1)
    assert line == f"error: {bad}: label size 24x96 differs from image size 48x96 ({image})"


@pytest.mark.slow
def test_demo_run_end_to_end_with_a_truncated_val_image(tmp_path, capsys):
    import hrnet_tf

    data, out = tmp_path / "data", tmp_path / "run"
    sets = [*tiny(data), "data.synthetic_val=3"]
    val, _ = TASK.list_split(config_of("synthetic", *sets), "val")
    truncate(val[0][0])
    assert cli.train("segment", ["--out", str(out), "--set", *sets]) == 0
    stdout = capsys.readouterr().out
    assert f"segmentation eval: skipped 1 sample(s): {val[0][0]} (truncated or not an image)" in stdout
    for name in ("config.yaml", "model.keras", "metrics.json"):
        assert (out / name).exists(), name
    report = json.loads((out / "metrics.json").read_text())
    assert report["skipped"] == 1 and report["num_images"] == 2
    assert sorted(os.listdir(out / "predictions")) == [
        f"synthcity_00000{i}_000019_leftImg8bit_color.png" for i in (1, 2)]
    # The reported mIoU against an independent evaluation of the saved model on the two good
    # scenes: NumPy normalization, cv2 bilinear resize of the logits, set-arithmetic IoU.
    model = hrnet_tf.load_model(out / "model.keras")
    info = dataset_of(config_of("synthetic", *sets))
    labels, preds = [], []
    for image_file, label_file in val[1:]:
        x = normalize_np(cv2.imread(image_file)[:, :, ::-1])
        logits = np.asarray(model(x[None], training=False))[0]
        up = cv2.resize(logits, (x.shape[1], x.shape[0]), interpolation=cv2.INTER_LINEAR)
        preds.append(up.argmax(-1))
        labels.append(info.label_lut[cv2.imread(label_file, cv2.IMREAD_UNCHANGED)])
    want = reference_ious(np.stack(labels), np.stack(preds), 5)
    assert report["mIoU"] == pytest.approx(want.mean(), abs=2e-3)
    got = [report["per_class"][name] for name in info.class_names]
    np.testing.assert_allclose(got, want, atol=5e-3)


OCR_EXPERIMENTS = {  # file: (dataset, classes, crop, lr, weight decay, epochs, test size)
    "cityscapes_ocr_w48_512x1024.yaml": ("cityscapes", 19, [512, 1024], 0.01, 5e-4, 484,
                                         (1024, 2048)),
    "pascal_context_ocr_w48_cls59_520x520.yaml": ("pascal_context", 59, [520, 520], 0.001, 1e-4,
                                                  200, (520, 520)),
    "pascal_context_ocr_w48_cls60_520x520.yaml": ("pascal_context", 60, [520, 520], 0.001, 1e-4,
                                                  200, (520, 520)),
    "lip_ocr_w48_473x473.yaml": ("lip", 20, [473, 473], 0.007, 5e-4, 150, (473, 473)),
}


@pytest.mark.parametrize("name", sorted(OCR_EXPERIMENTS))
def test_ocr_experiments_follow_the_official_yamls(name):
    from hrnet_tf.segmentation.task import align_corners_of

    dataset, classes, crop, lr, wd, epochs, test_size = OCR_EXPERIMENTS[name]
    config = load_config(f"configs/segmentation/{name}", SegmentationConfig)
    TASK.validate(config)
    assert (config.model.head, config.data.dataset, config.model.num_classes) == (
        "ocr", dataset, classes)
    assert (config.data.image_size, config.train.lr, config.train.weight_decay,
            config.train.epochs) == (crop, lr, wd, epochs)
    assert align_corners_of(config) and config.model.bn_momentum == 0.9  # OCR branch defaults
    assert (config.model.ocr_mid_channels, config.model.ocr_key_channels) == (512, 256)
    criterion = TASK.build_criterion(config)
    assert criterion.balance_weights == [0.4, 1.0] and criterion.align_corners
    info = dataset_of(config)
    assert info.test_size == test_size
    assert info.protocol == ("cityscapes" if dataset == "cityscapes" else "generic")


def test_test_sizes_and_protocols_of_the_official_experiments():
    # TEST.IMAGE_SIZE / TEST.BASE_SIZE of each official yaml; the training crop is another size.
    city = config_of("cityscapes")
    assert (dataset_of(city).test_size, dataset_of(city).crop_size) == ((1024, 2048), (512, 1024))
    pascal = config_of("pascal_context")
    assert (pascal.eval.mode, pascal.eval.base_size, dataset_of(pascal).test_size) == (
        "multiscale", 520, (480, 480))
    assert dataset_of(config_of("lip")).test_size == (473, 473)
    override = config_of("cityscapes", "eval.test_size=[512,1024]", "eval.protocol=generic")
    assert (dataset_of(override).test_size, dataset_of(override).protocol) == (
        (512, 1024), "generic")
    assert dataset_of(config_of("synthetic")).protocol == "cityscapes"
    for bad, message in (("eval.test_size=[0,4]", "eval.test_size=[0, 4]"),
                         ("eval.stride=[4]", "eval.stride=[4]"),
                         ("model.final_conv_kernel=5", "model.final_conv_kernel=5"),
                         ("loss.ohem_images_per_group=0", "loss.ohem_images_per_group=0")):
        with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
            TASK.validate(config_of("cityscapes", bad))
    with pytest.raises(ConfigError, match="contradicts model.align_corners=False"):
        TASK.validate(config_of("cityscapes", "model.align_corners=false",
                                "model.upsample_method=bilinear_align_corners"))


@pytest.mark.slow
def test_ocr_demo_trains_evaluates_and_predicts_end_to_end(tmp_path, capsys):
    import hrnet_tf
    from hrnet_tf.segmentation import evaluate, predict

    data, out = tmp_path / "data", tmp_path / "ocr"
    config_file = "configs/segmentation/synthetic_ocr_tiny.yaml"
    assert cli.train("segment", ["--config", config_file, "--out", str(out),
                                 "--set", *tiny(data)]) == 0
    model = hrnet_tf.load_model(out / "model.keras")
    from hrnet_tf.segmentation.codec import output_classes

    assert model.info.architecture == "HRNetOCR" and output_classes(model) == 5
    assert set(model(np.zeros((1, 32, 64, 3), "float32"))) == {"aux", "out"}
    report = json.loads((out / "metrics.json").read_text())
    assert report["num_images"] == 2 and report["inference"]["align_corners"] is True
    capsys.readouterr()
    # The evaluate command on the OCR model, official multi-scale + flip at a 32x64 test size.
    assert evaluate.main(["--weights", str(out / "model.keras"), "--out", str(tmp_path / "ev"),
                          "--mode", "multiscale", "--scales", "1", "1.5", "--flip",
                          "--test-size", "32x64"]) == 0
    metrics = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert metrics["inference"]["test_size"] == [32, 64] and metrics["num_images"] == 2
    assert "mIoU" in capsys.readouterr().out
    val, _ = TASK.list_split(config_of("synthetic", *tiny(data)), "val")
    assert predict.main([val[0][0], "--weights", str(out / "model.keras"), "--out",
                         str(tmp_path / "pred"), "--mode", "multiscale", "--test-size",
                         "32x64"]) == 0
    assert len(os.listdir(tmp_path / "pred")) == 2
