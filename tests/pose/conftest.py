"""Pose test data written by the tests: a small generated set in the COCO layout."""

import shutil

import pytest

from hrnet_tf.pose.synthetic import make_synthetic_coco

SYNTHETIC_SIZE = (96, 96)  # (width, height) of the generated images


@pytest.fixture(scope="session")
def synthetic_coco(tmp_path_factory):
    """Six train and six val stick-figure images in the COCO layout (read-only: copy to change)."""
    root = tmp_path_factory.mktemp("synthetic_coco")
    make_synthetic_coco(str(root), num_train=6, num_val=6, image_size=SYNTHETIC_SIZE, seed=1)
    return root


@pytest.fixture
def coco_copy(synthetic_coco, tmp_path):
    """A private copy of ``synthetic_coco`` that a test may damage."""
    return shutil.copytree(synthetic_coco, tmp_path / "coco")
