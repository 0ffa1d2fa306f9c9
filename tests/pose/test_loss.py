"""JointsMSE against the official per-joint loop (lib/core/loss.py JointsMSELoss)."""

import numpy as np

from hrnet_tf.pose.loss import JointsMSELoss


def official_joints_mse(output, target, target_weight):
    """JointsMSELoss(use_target_weight=True) on NCHW arrays."""
    batch, joints = output.shape[:2]
    pred = output.reshape(batch, joints, -1)
    gt = target.reshape(batch, joints, -1)
    loss = 0.0
    for j in range(joints):
        w = target_weight[:, j][:, None]
        loss += 0.5 * np.mean((pred[:, j] * w - gt[:, j] * w) ** 2)
    return loss / joints


def test_joints_mse_matches_official():
    rng = np.random.default_rng(0)
    output = rng.normal(size=(3, 17, 8, 6)).astype(np.float32)
    target = rng.random((3, 17, 8, 6)).astype(np.float32)
    weight = (rng.random((3, 17)) > 0.3).astype(np.float32)
    criterion = JointsMSELoss()
    ours = criterion({"heatmaps": target.transpose(0, 2, 3, 1), "target_weight": weight},
                     output.transpose(0, 2, 3, 1))
    assert ours.shape == (3,)
    np.testing.assert_allclose(float(np.mean(ours)), official_joints_mse(output, target, weight),
                               rtol=1e-5)
