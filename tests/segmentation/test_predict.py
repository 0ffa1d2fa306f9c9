"""The predict and evaluate commands, in-process: a model with a custom name and a custom spec,
its dataset and palette read from ``model.info.labels``, LIP flips, and one-line errors."""

import json
import os

import cv2
import keras
import numpy as np
import pytest

import hrnet_tf
from hrnet_tf.export import calibrate_batch_norm
from hrnet_tf.export.tasks import sample_images
from hrnet_tf.segmentation import evaluate, predict
from hrnet_tf.segmentation import labels as L
from hrnet_tf.segmentation.synthetic import SYNTHETIC_CLASSES, ensure_scenes

from .helpers import CUSTOM_SPEC, image_path, normalize_np


def _calibrated(model, size):
    calibrate_batch_norm(model, normalize_np(sample_images(4, size)))
    return model


def _error_line(capsys):
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, lines
    return lines[0]


def _ids_of(color_png, colors):
    """The train ids a color PNG shows (every palette color distinct)."""
    rgb = cv2.imread(str(color_png))[:, :, ::-1]
    match = (rgb[:, :, None, :] == colors[None, None]).all(-1)
    assert match.any(-1).all()
    return match.argmax(-1)


@pytest.fixture
def custom_model(tmp_path):
    model = _calibrated(hrnet_tf.HRNetV2(CUSTOM_SPEC, num_classes=5, name="my_street_net"), (48, 96))
    model.info.labels = {"dataset": "synthetic", "class_names": list(SYNTHETIC_CLASSES)}
    path = str(tmp_path / "my_street_net.keras")
    model.save(path)
    return path


def test_predict_and_evaluate_agree_on_a_custom_model(custom_model, tmp_path):
    data = str(tmp_path / "scenes")
    ensure_scenes(data, 2, 2, (48, 96))
    sets = ["data.synthetic_train=2", "data.synthetic_val=2", "data.synthetic_size=[48,96]",
            "train.batch_size=2"]
    out = tmp_path / "eval"
    assert evaluate.main(["--weights", custom_model, "--dataset", "synthetic", "--data-dir", data,
                          "--out", str(out), "--save-predictions", "--set", *sets]) == 0
    report = json.loads((out / "metrics.json").read_text())
    assert report["num_images"] == 2 and set(report["per_class"]) == set(SYNTHETIC_CLASSES)

    image = image_path(data, "val", 1)
    assert predict.main([image, "--weights", custom_model, "--out", str(tmp_path / "p")]) == 0
    stem = "synthcity_000001_000019_leftImg8bit"
    colors = L.colors_for_names(SYNTHETIC_CLASSES)  # the palette of the model's own classes
    predicted = _ids_of(tmp_path / "p" / f"{stem}_color.png", colors)
    evaluated = _ids_of(out / "predictions" / f"{stem}_color.png", colors)
    np.testing.assert_array_equal(predicted, evaluated)
    assert len(np.unique(predicted)) > 1  # a calibrated net: not one class everywhere
    # The overlay is the color map blended over the image.
    overlay = cv2.imread(str(tmp_path / "p" / f"{stem}_overlay.png"))[:, :, ::-1]
    rgb = cv2.imread(image)[:, :, ::-1]
    np.testing.assert_array_equal(overlay, predict.overlay(rgb, colors[predicted]))
    assert not os.path.exists(tmp_path / "p" / f"{stem}_labelIds.png")  # Cityscapes only


def test_predict_flip_on_lip_swaps_left_and_right_like_evaluation(tmp_path):
    keras.utils.set_random_seed(0)  # a fixed random net: how much the swap matters is fixed too
    model = _calibrated(hrnet_tf.HRNetV2("tiny", num_classes=20, name="parser"), (64, 64))
    model.info.labels = {"dataset": "lip"}
    path = str(tmp_path / "lip.keras")
    model.save(path)
    image = sample_images(1, (52, 40), seed=3)[0]
    file = str(tmp_path / "person.png")
    cv2.imwrite(file, image[:, :, ::-1])
    assert predict.main([file, "--weights", path, "--flip", "--out", str(tmp_path / "p")]) == 0
    got = _ids_of(tmp_path / "p" / "person_color.png", L.palette(20))

    # The official LIP test in NumPy/cv2: the uint8 image resized to 473x473, normalized, the
    # mirrored pass's left/right channels swapped back (lip.py), averaged, exp, resized to the
    # image, argmax.
    def official(swap):
        x = normalize_np(cv2.resize(image, (473, 473), interpolation=cv2.INTER_LINEAR))
        def logits(t):
            out = np.asarray(model(t[None], training=False))[0]
            return cv2.resize(out, (473, 473), interpolation=cv2.INTER_LINEAR)
        mirrored = logits(np.ascontiguousarray(x[:, ::-1]))
        if swap:
            for left, right in L.LIP_FLIP_PAIRS:
                mirrored[..., [left, right]] = mirrored[..., [right, left]]
        scores = np.exp((logits(x) + mirrored[:, ::-1]) / 2)
        return cv2.resize(scores, (40, 52), interpolation=cv2.INTER_LINEAR).argmax(-1)

    with_swap, without = official(True), official(False)
    assert np.mean(with_swap != without) > 0.05  # the swap matters on this image
    assert np.mean(got == with_swap) > 0.99


def test_commands_fail_with_one_line(custom_model, tmp_path, capsys):
    assert predict.main([str(tmp_path / "missing.png"), "--weights", custom_model]) == 2
    assert _error_line(capsys) == f"error: image not found: {tmp_path / 'missing.png'}"
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    assert predict.main([str(broken), "--weights", custom_model]) == 2
    assert _error_line(capsys) == f"error: {broken}: truncated PNG (no IEND chunk)"
    image = str(tmp_path / "image.png")
    cv2.imwrite(image, np.zeros((8, 8, 3), np.uint8))
    assert predict.main([image, "--weights", custom_model, "--dataset", "lip"]) == 2
    assert "--dataset lip: the model says it segments 'synthetic'" in _error_line(capsys)
    pose = str(tmp_path / "pose.keras")
    hrnet_tf.HRNetV1("tiny", input_shape=(64, 64, 3)).save(pose)
    assert predict.main([image, "--weights", pose]) == 2
    assert "a pose model, not a segmentation model" in _error_line(capsys)
    assert evaluate.main(["--weights", custom_model, "--dataset", "cityscapes",
                          "--data-dir", str(tmp_path)]) == 2
    assert _error_line(capsys) == (f"error: {custom_model}: the model predicts 5 classes, "
                                   "dataset 'cityscapes' has 19")
