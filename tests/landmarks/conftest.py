"""Landmark test data written by the tests: a few synthetic faces in the official CSV layout."""

import pytest

from hrnet_tf.landmarks.synthetic import ensure_synthetic


@pytest.fixture(scope="session")
def synthetic_faces(tmp_path_factory):
    """Six train and four test faces (96x96), read-only."""
    root = tmp_path_factory.mktemp("synthetic_faces")
    return ensure_synthetic(str(root), 6, 4, 96, seed=1)
