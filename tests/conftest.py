"""Shared test set-up: quiet TensorFlow, the TF backend unless asked otherwise, shared test data."""

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import pytest  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_TESTDATA = REPO_ROOT.parent / "shared" / "testdata"


@pytest.fixture(scope="session")
def coco_mini():
    """../shared/testdata/coco_mini (four real COCO val2017 images); skips when absent."""
    path = SHARED_TESTDATA / "coco_mini"
    if not (path / "annotations" / "person_keypoints_val2017.json").exists():
        pytest.skip(f"shared test data not found at {path}")
    return path


@pytest.fixture(autouse=True)
def _fresh_keras_session():
    import keras

    keras.backend.clear_session()
    yield
