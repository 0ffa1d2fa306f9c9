"""The landmark sets: the official mirror pairs (MATCHED_PARTS, transcribed independently in
hrnet_tf/testing/landmarks_reference.py) as involutions, and the official fliplr_joints."""

import numpy as np
import pytest

from hrnet_tf.landmarks.landmark_sets import AFLW, COFW, SETS, W300, WFLW, LandmarkSet
from hrnet_tf.testing import landmarks_reference as ref

OFFICIAL = {"WFLW": WFLW, "300W": W300, "COFW": COFW, "AFLW": AFLW}


@pytest.mark.parametrize("name", sorted(OFFICIAL))
def test_flip_matches_fliplr_joints_and_is_an_involution(name):
    landmark_set = OFFICIAL[name]
    perm = landmark_set.flip_permutation()
    np.testing.assert_array_equal(perm[perm], np.arange(landmark_set.num_points))
    rng = np.random.default_rng(0)
    points = rng.uniform(0, 200, (landmark_set.num_points, 2))
    ours = np.stack([300 - points[:, 0], points[:, 1]], -1)[perm]
    np.testing.assert_array_equal(ours, ref.fliplr_joints(points, 300, name))
    assert len(landmark_set.flip_pairs) == len(ref.official_pairs(name))


def test_counts_normalizers_and_custom_sets():
    assert [SETS[k].num_points for k in ("wflw", "300w", "cofw", "aflw")] == [98, 68, 29, 19]
    assert (WFLW.normalizer, W300.normalizer, COFW.normalizer) == ((60, 72), (36, 45), (8, 9))
    assert AFLW.uses_box
    custom = LandmarkSet.from_config({"num_points": 4, "flip_pairs": [[0, 1]],
                                      "normalizer": [2, 3]})
    assert custom.flip_permutation().tolist() == [1, 0, 2, 3]
    assert LandmarkSet.from_config(custom.to_config()) == custom
    with pytest.raises(ValueError, match="flip_pairs"):
        LandmarkSet.from_config({"num_points": 3, "flip_pairs": [[0, 1], [1, 2]],
                                 "normalizer": [0, 1]})
    with pytest.raises(ValueError, match="normalizer"):
        LandmarkSet.from_config({"num_points": 3, "normalizer": [0, 0]})
