"""``python -m hrnet_tf.pose.predict`` (in-process): a .keras model with a custom name and spec
predicts with the keypoint set and input size it records; other weights with --width/--input-size/
--keypoints; bad input is one line."""

import json

import cv2
import numpy as np
import pytest

import hrnet_tf
from hrnet_tf.data.images import read_image_numpy
from hrnet_tf.evaluation import forward_function
from hrnet_tf.pose import predict
from hrnet_tf.pose.keypoints import MPII

from .helpers import tiny_pose_model

CUSTOM_SPEC = hrnet_tf.HRNetSpec(
    stage1=hrnet_tf.StageSpec(1, (1,), (8,), "BOTTLENECK"),
    stage2=hrnet_tf.StageSpec(1, (1, 1), (8, 12)),
    stage3=hrnet_tf.StageSpec(1, (1, 1, 1), (8, 12, 16)),
    stage4=hrnet_tf.StageSpec(1, (1, 1, 1, 1), (8, 12, 16, 20)),
    stem_channels=16,
)


@pytest.fixture(scope="module")
def custom_model_file(tmp_path_factory):
    """An MPII-keypoint model of a custom spec and name, 96x64 input, saved as .keras."""
    model = tiny_pose_model((96, 64), keypoints="mpii", width=CUSTOM_SPEC, name="my_pose_net")
    path = tmp_path_factory.mktemp("models") / "custom.keras"
    model.save(path)
    return path


@pytest.fixture(scope="module")
def unlabelled_file(tmp_path_factory):
    """A pose model saved without its keypoint set (built by hand, not by training)."""
    path = tmp_path_factory.mktemp("models") / "unlabelled.keras"
    hrnet_tf.HRNetV1("tiny", input_shape=(32, 32, 3)).save(path)
    return path


@pytest.fixture
def image_path(synthetic_coco):
    return synthetic_coco / "images" / "val2017" / "000000000001.jpg"


def _people(capsys):
    return json.loads(capsys.readouterr().out)


def test_a_custom_keras_model_predicts_with_its_own_keypoints_and_size(custom_model_file,
                                                                       image_path, tmp_path,
                                                                       capsys):
    boxes = tmp_path / "boxes.json"
    boxes.write_text(json.dumps([{"bbox": [10, 5, 60, 80], "score": 0.7}, [20, 20, 40, 60]]))
    out = tmp_path / "pose.png"
    assert predict.main([str(image_path), "--weights", str(custom_model_file), "--boxes",
                         str(boxes), "--out", str(out)]) == 0
    people = _people(capsys)
    assert [p["score"] for p in people] == [0.7, 1.0]
    assert [p["box"] for p in people] == [[10, 5, 60, 80], [20, 20, 40, 60]]
    assert all(len(p["keypoints"]) == MPII.num_joints for p in people)
    model = hrnet_tf.load_model(custom_model_file)
    assert model.name == "my_pose_net" and model.info.spec == CUSTOM_SPEC
    want = predict.predict_image(model, read_image_numpy(str(image_path)),
                                 [[10, 5, 60, 80], [20, 20, 40, 60]])
    np.testing.assert_allclose([p["keypoints"] for p in people], np.round(want, 2), atol=0.011)
    assert cv2.imread(str(out)).shape == (96, 96, 3)


def test_weights_files_take_the_network_options(image_path, tmp_path, capsys):
    model = tiny_pose_model((32, 32), keypoints="mpii")
    weights = tmp_path / "w.weights.h5"
    model.save_weights(weights)
    assert predict.main([str(image_path), "--weights", str(weights), "--width", "tiny",
                         "--input-size", "32x32", "--keypoints", "mpii", "--box", "5,5,80,80",
                         "--out", str(tmp_path / "p.png")]) == 0
    people = _people(capsys)
    image = read_image_numpy(str(image_path))
    want = predict.predict_image(model, image, [[5, 5, 80, 80]])
    np.testing.assert_allclose(people[0]["keypoints"], np.round(want[0], 2), atol=0.011)
    folded_once = forward_function(model)
    np.testing.assert_allclose(predict.predict_image(model, image, [[5, 5, 80, 80]],
                                                     forward=folded_once), want, atol=1e-5)


def test_bad_input_is_one_line(custom_model_file, unlabelled_file, image_path, tmp_path, capsys):
    unlabelled = unlabelled_file
    segmenter = tmp_path / "seg.keras"
    hrnet_tf.HRNetV2("tiny", num_classes=3, input_shape=(32, 32, 3)).save(segmenter)
    image, weights = str(image_path), str(custom_model_file)
    cases = [
        ([str(tmp_path / "missing.jpg")], f"image not found: {tmp_path / 'missing.jpg'}"),
        ([image, "--box", "1,2,3"], "--box '1,2,3': expected x,y,w,h with positive w and h"),
        ([image, "--weights", weights, "--width", "32"],
         f"--width: {weights} is a .keras model, which knows its network; --width and "
         "--input-size are for .weights.h5/.pth weights"),
        ([image, "--weights", weights, "--keypoints", "coco"],
         f"--keypoints: {weights} records its keypoint set (mpii)"),
        ([image, "--weights", str(unlabelled)],
         f"{unlabelled}: the model does not record its keypoint set; pass --keypoints coco|mpii"),
        ([image, "--weights", str(segmenter)], f"{segmenter}: a segmentation model, not a pose model"),
        ([image, "--input-size", "64"], "--input-size '64': expected HxW, e.g. 256x192"),
        ([image, "--weights", str(tmp_path / "none.weights.h5")],
         f"weights file not found: {tmp_path / 'none.weights.h5'}"),
    ]
    for argv, line in cases:
        assert predict.main([*argv, "--out", str(tmp_path / "x.png")]) == 2, argv
        assert capsys.readouterr().err.strip().splitlines() == [f"error: {line}"], argv
    blocked = tmp_path / "a_file"  # the drawing's folder is a file: one line naming the path
    blocked.write_text("")
    assert predict.main([image, "--weights", weights, "--out", str(blocked / "p.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and str(blocked) in err[0], err


def test_an_unlabelled_keras_model_predicts_with_the_keypoints_given(unlabelled_file, image_path,
                                                                     tmp_path, capsys):
    assert predict.main([str(image_path), "--weights", str(unlabelled_file), "--keypoints", "coco",
                         "--out", str(tmp_path / "p.png")]) == 0
    people = _people(capsys)
    assert people[0]["box"] == [0.0, 0.0, 96.0, 96.0] and len(people[0]["keypoints"]) == 17
