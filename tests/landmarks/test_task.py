"""The landmark task: every packaged recipe loads and validates, bad configs are one line naming
the key, train/landmarks.py (hrnet_tf.cli.train, in-process) end to end on the synthetic faces:
metrics.json, predictions.json, and the demo beating the mean shape."""

import json
import os
import shutil

import numpy as np
import pytest

from hrnet_tf.cli import train
from hrnet_tf.landmarks.task import LandmarkConfig, LandmarkTask, landmark_set_of_config
from hrnet_tf.training.config import load_config
from tests.helpers import assert_user_error

OFFICIAL = {  # experiments/<set>/face_alignment_<set>_hrnet_w18.yaml
    "wflw": (98, 1.5, 1e-4, 6), "300w": (68, 1.0, 1e-4, 2), "cofw": (29, 1.5, 1e-4, 0),
    "aflw": (19, 1.5, 2e-4, 1),
}


@pytest.mark.parametrize("dataset", sorted(OFFICIAL))
def test_official_recipes(dataset):
    task = LandmarkTask()
    config = load_config(task.config_file(dataset), LandmarkConfig)
    config.data.dir = "somewhere"
    task.validate(config)
    points, sigma, lr, subsets = OFFICIAL[dataset]
    assert landmark_set_of_config(config).num_points == points
    assert (config.data.sigma, config.train.lr, len(config.data.subsets)) == (sigma, lr, subsets)
    assert (config.train.epochs, config.train.batch_size, config.train.lr_steps) == (60, 16,
                                                                                       [30, 50])
    assert config.data.image_size == 256 and config.model.width == 18


@pytest.mark.parametrize("overrides,line", [
    (["data.image_size=100"], r"data\.image_size=100: must be a positive multiple of 32"),
    (["data.landmarks=ears"], r"data\.landmarks: unknown set 'ears'"),
    (["data.scale_factor=1.5"], r"data\.scale_factor=1\.5"),
])
def test_a_bad_config_is_one_line_naming_the_key(overrides, line, capsys):
    assert_user_error(train("landmarks", ["--set", *overrides]), capsys, line)


def test_a_recipe_without_data_dir_is_one_line(capsys):
    assert_user_error(train("landmarks", ["--dataset", "wflw"]), capsys, r"data\.dir is empty")


def test_a_bad_annotation_row_stops_with_one_line(synthetic_faces, tmp_path, capsys):
    root = shutil.copytree(synthetic_faces, tmp_path / "faces")
    with open(root / "face_landmarks_synthetic_test.csv", "a") as f:
        f.write("00000.png,0.3,10,10,1,2\n")
    # as a real dataset (not regenerated): the synthetic recipe on this folder
    status = train("landmarks", ["--dataset", "synthetic", "--set", "data.dataset=wflw",
                                 f"data.dir={root}", "--out", str(tmp_path / "o")])
    assert_user_error(status, capsys, r"face_landmarks_synthetic_test\.csv:6: 6 columns")


@pytest.mark.slow
def test_demo_end_to_end_beats_the_mean_shape(tmp_path, capsys):
    from hrnet_tf.landmarks.synthetic import ensure_synthetic

    out, faces = tmp_path / "out", tmp_path / "faces"
    ensure_synthetic(str(faces), 192, 40, 128, seed=0)  # what the run below asks for
    os.remove(faces / "images" / "test" / "00003.png")  # one test image gone: a counted skip
    args = ["--out", str(out), "--set", f"data.dir={faces}", "data.synthetic_train=192",
            "data.synthetic_test=40", "train.epochs=6", "train.lr_steps=[5.0]",
            "eval.batch_size=40"]
    assert train("landmarks", args) == 0
    assert "face_landmarks_synthetic_test.csv: skipped 1 face(s) (1 missing image)" in \
        capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["faces"] == 39 and metrics["skipped"] == 0
    assert metrics["NME"] <= 0.5 * metrics["NME_mean_shape"], metrics
    predictions = json.loads((out / "predictions.json").read_text())
    assert len(predictions) == 39 and np.shape(predictions[0]["points"]) == (10, 2)
    assert predictions[3]["image"].endswith("test/00004.png")
