"""NME, failure rates and AUC against the official compute_nme (re-derived in NumPy) and the
cumulative error curve integrated on a fine grid, on random predictions."""

import numpy as np
import pytest

from hrnet_tf.landmarks.landmark_sets import SETS
from hrnet_tf.landmarks.metrics import auc, nme_per_face, summary
from hrnet_tf.testing import landmarks_reference as ref


@pytest.mark.parametrize("name", ["wflw", "300w", "cofw", "aflw"])
def test_nme_matches_compute_nme(name):
    landmark_set = SETS[name]
    rng = np.random.default_rng(3)
    gt = rng.uniform(0, 256, (7, landmark_set.num_points, 2))
    pred = gt + rng.normal(0, 4, gt.shape)
    boxes = rng.uniform(80, 200, 7)
    np.testing.assert_allclose(nme_per_face(pred, gt, landmark_set, boxes),
                               ref.compute_nme(pred, gt, boxes), rtol=1e-12)


def test_failure_rates_and_auc():
    rng = np.random.default_rng(4)
    nme = rng.gamma(2.0, 0.03, 500)
    result = summary(nme)
    assert result["FR_0.08"] == pytest.approx(np.sum(nme > 0.08) / 500)
    assert result["FR_0.10"] == pytest.approx(np.sum(nme > 0.10) / 500)
    assert result["AUC_0.10"] == pytest.approx(ref.auc_by_integration(nme), abs=1e-4)
    assert auc(np.zeros(3)) == 1.0 and auc(np.full(3, 0.2)) == 0.0
