"""Metric math: rescoring, OKS-NMS and pycocotools' COCOeval (on coco_mini), PCKh against a direct
per-person loop."""

import numpy as np
import pytest

from hrnet_tf.pose.coco import load_coco
from hrnet_tf.pose.keypoints import COCO
from hrnet_tf.pose.metrics import coco_keypoint_eval, oks_nms, pckh, rescore, select_results

MPII_GROUPS = {"Head": [9], "Shoulder": [12, 13], "Elbow": [11, 14], "Wrist": [10, 15],
               "Hip": [2, 3], "Knee": [1, 4], "Ankle": [0, 5]}


def test_rescoring_uses_joints_above_threshold_only():
    kp = np.zeros((2, 4, 3))
    kp[0, :, 2] = [0.9, 0.5, 0.1, 0.0]
    kp[1, :, 2] = [0.1, 0.1, 0.1, 0.1]
    np.testing.assert_allclose(rescore(kp, [0.5, 1.0]), [0.5 * 0.7, 0.0])


def test_oks_nms_drops_duplicates_keeps_distinct():
    rng = np.random.default_rng(0)
    person = np.concatenate([rng.uniform(0, 100, (17, 2)), np.ones((17, 1))], 1)
    kpts = np.stack([person, person + [0.5, 0.5, 0], person + [300, 0, 0]])
    keep = oks_nms(kpts, np.array([0.9, 0.95, 0.5]), np.array([5000.0, 5000, 5000]), 0.9,
                   COCO.sigmas)
    assert keep == [1, 2]


def test_ground_truth_written_as_predictions_scores_ap_one(coco_mini):
    records = load_coco(coco_mini, "val2017", 0.75)
    keypoints = np.concatenate([records.joints, np.ones_like(records.visible)[..., None]], -1)
    results = select_results(keypoints, records.image_ids, records.scores, records.scales)
    assert len(results) == records.size  # OKS-NMS keeps distinct people
    stats = coco_keypoint_eval(records.ground_truth, results)
    assert stats["AP"] == pytest.approx(1.0)
    assert stats["AR"] == pytest.approx(1.0)
    # and a visibly wrong prediction set does not
    keypoints[..., :2] += 15.0
    worse = coco_keypoint_eval(records.ground_truth,
                               select_results(keypoints, records.image_ids, records.scores,
                                              records.scales))
    assert worse["AP"] < 0.9


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
    out = {name: float(np.mean(pck[ids])) for name, ids in MPII_GROUPS.items()}
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
    ours = pckh(pred, gt, missing, boxes)
    expected = reference_pckh(pred, gt, missing, boxes, 0.5)
    for name, value in expected.items():
        assert ours[name] == pytest.approx(value), name
    assert 0 < ours["Mean@0.1"] < ours["Mean"] < 100
    perfect = pckh(gt - 1, gt, missing, boxes)
    assert perfect["Mean"] == pytest.approx(100.0) and perfect["Mean@0.1"] == pytest.approx(100.0)
