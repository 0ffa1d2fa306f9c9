"""The synthetic demo scenes: their content, regeneration on changed settings, foreign folders."""

import glob
import os

import cv2
import numpy as np
import pytest

from hrnet_tf.errors import DataError
from hrnet_tf.segmentation.synthetic import (
    SYNTHETIC_ID_MAPPING,
    ensure_scenes,
    make_scene,
)


def _files(root):
    return sorted(os.path.relpath(p, root)
                  for p in glob.glob(os.path.join(root, "**", "*.png"), recursive=True))


def test_scenes_hold_cityscapes_label_ids_painted_in_their_colors():
    image, label = make_scene(np.random.default_rng(0), (64, 128))
    assert image.shape == (64, 128, 3) and label.shape == (64, 128)
    assert set(np.unique(label)) <= set(SYNTHETIC_ID_MAPPING)
    assert {7, 11, 23} <= set(np.unique(label))  # road, building, sky are always there
    # Sky is blue-ish, road purple-ish: the classes are told apart by color, as intended.
    sky, road = image[label == 23].mean(0), image[label == 7].mean(0)
    assert sky[2] > sky[0] and road[0] > road[1]


def test_regenerated_when_the_settings_change_and_reused_otherwise(tmp_path):
    root = str(tmp_path / "scenes")
    ensure_scenes(root, num_train=3, num_val=1, size=(32, 64), seed=0)
    first = _files(root)
    assert len(first) == 8  # (3 + 1) images and labels
    label = first[0]
    before = cv2.imread(os.path.join(root, label), cv2.IMREAD_UNCHANGED)
    stamp = os.path.getmtime(os.path.join(root, label))
    ensure_scenes(root, num_train=3, num_val=1, size=(32, 64), seed=0)
    assert os.path.getmtime(os.path.join(root, label)) == stamp  # same settings: not rewritten
    # Fewer scenes: the old ones are gone, not left behind.
    ensure_scenes(root, num_train=2, num_val=1, size=(32, 64), seed=0)
    assert len(_files(root)) == 6
    # Another seed: other scenes under the same names.
    ensure_scenes(root, num_train=2, num_val=1, size=(32, 64), seed=1)
    assert _files(root)[0] == label
    assert not np.array_equal(cv2.imread(os.path.join(root, label), cv2.IMREAD_UNCHANGED), before)
    ensure_scenes(root, num_train=2, num_val=1, size=(40, 64), seed=1)
    assert cv2.imread(os.path.join(root, label), cv2.IMREAD_UNCHANGED).shape == (40, 64)


def test_a_foreign_folder_is_refused_and_left_alone(tmp_path):
    foreign = tmp_path / "real_data"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("precious")
    with pytest.raises(DataError, match="not empty and not written by the synthetic generator"):
        ensure_scenes(str(foreign), 2, 1, (32, 64))
    assert os.listdir(foreign) == ["keep.txt"]
