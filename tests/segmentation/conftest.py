"""Fixtures of the segmentation tests: generated Cityscapes-layout scenes."""

import pytest

from hrnet_tf.segmentation.synthetic import write_synthetic_cityscapes


@pytest.fixture
def city(tmp_path):
    """4 train + 2 val street scenes of 48x96 in the Cityscapes layout (label ids)."""
    root = tmp_path / "city"
    write_synthetic_cityscapes(root, num_train=4, num_val=2, size=(48, 96))
    return root
