"""MPII reading (official center/scale adjustments) and PCKh against a direct re-derivation."""

import json

import numpy as np
import pytest

from hrnet_tf.pose.coco import DatasetError
from hrnet_tf.pose.mpii import load_mpii, pckh_from_arrays

NAMES = {"Head": [9], "Shoulder": [12, 13], "Elbow": [11, 14], "Wrist": [10, 15], "Hip": [2, 3],
         "Knee": [1, 4], "Ankle": [0, 5]}


def reference_pckh(pred0, gt1, missing, boxes, threshold):
    """Per person, per joint loops: hit if ||pred + 1 - gt|| <= t * 0.6 * head diagonal."""
    n, j = missing.shape
    hits, counts = np.zeros(j), np.zeros(j)
    for p in range(n):
        head = 0.6 * np.hypot(*(boxes[p, 1] - boxes[p, 0]))
        for k in range(j):
            if missing[p, k]:
                continue
            counts[k] += 1
            hits[k] += np.hypot(*(pred0[p, k] + 1 - gt1[p, k])) <= threshold * head
    pck = 100 * hits / counts
    out = {name: float(np.mean(pck[ids])) for name, ids in NAMES.items()}
    scored = [k for k in range(j) if k not in (6, 7)]
    out["Mean"] = float(np.sum(pck[scored] * counts[scored]) / counts[scored].sum())
    return out


def test_pckh_matches_direct_computation():
    rng = np.random.default_rng(0)
    n = 40
    gt = rng.uniform(50, 400, (n, 16, 2))
    boxes = np.stack([gt[:, 9] - 20, gt[:, 9] + rng.uniform(15, 30, (n, 2))], axis=1)
    pred = gt - 1 + rng.normal(0, 12, (n, 16, 2))
    missing = (rng.random((n, 16)) < 0.15).astype(float)
    ours = pckh_from_arrays(pred, gt, missing, boxes)
    expected = reference_pckh(pred, gt, missing, boxes, 0.5)
    for name, value in expected.items():
        assert ours[name] == pytest.approx(value), name
    assert 0 < ours["Mean@0.1"] < ours["Mean"] < 100
    perfect = pckh_from_arrays(gt - 1, gt, missing, boxes)
    assert perfect["Mean"] == pytest.approx(100.0) and perfect["Mean@0.1"] == pytest.approx(100.0)


def test_load_mpii_applies_official_adjustments(tmp_path):
    (tmp_path / "annot").mkdir()
    (tmp_path / "images").mkdir()
    joints = np.arange(32, dtype=float).reshape(16, 2) + 10
    entry = {"image": "a.jpg", "center": [100.0, 80.0], "scale": 2.0,
             "joints": joints.tolist(), "joints_vis": [1] * 15 + [0]}
    (tmp_path / "annot" / "valid.json").write_text(json.dumps([entry]))
    (tmp_path / "images" / "a.jpg").write_bytes(b"x")
    records = load_mpii(tmp_path, "valid")
    np.testing.assert_allclose(records.centers[0], [99.0, 80.0 + 15 * 2.0 - 1])
    np.testing.assert_allclose(records.scales[0], [2.5, 2.5])
    np.testing.assert_allclose(records.joints[0], joints - 1)
    assert records.visible[0].sum() == 15
    (tmp_path / "images" / "a.jpg").unlink()
    with pytest.raises(DatasetError, match=r"image file not found: .*a\.jpg"):
        load_mpii(tmp_path, "valid")
