"""JointsMSELoss with target weights (official ``lib/core/loss.py``, ``use_target_weight=True``).

Official: for each joint ``0.5 * MSE(pred * w, gt * w)`` averaged over batch and pixels, then
averaged over joints. Here the same quantity per example (shape [batch]); its batch mean is the
official loss value.

    >>> import tensorflow as tf
    >>> joints_mse(tf.zeros([2, 4, 3, 17]), tf.ones([2, 4, 3, 17]), tf.ones([2, 17])).numpy()
    array([0.5, 0.5], dtype=float32)
    >>> criterion = JointsMSELoss()
    >>> targets = {"heatmaps": tf.zeros([2, 4, 3, 17]), "target_weight": tf.ones([2, 17])}
    >>> criterion(targets, tf.ones([2, 4, 3, 17])).numpy()
    array([0.5, 0.5], dtype=float32)
"""

from keras import ops


def joints_mse(target_heatmaps, pred_heatmaps, target_weight=None):
    """Per-example JointsMSE: [B, H, W, J] targets and predictions, [B, J] weights -> [B]."""
    pred_heatmaps = ops.cast(pred_heatmaps, "float32")
    target_heatmaps = ops.cast(target_heatmaps, "float32")
    diff = pred_heatmaps - target_heatmaps
    if target_weight is not None:
        diff = diff * ops.cast(target_weight, "float32")[:, None, None, :]
    per_joint = 0.5 * ops.mean(ops.square(diff), axis=(1, 2))  # [B, J]
    return ops.mean(per_joint, axis=-1)


class JointsMSELoss:
    """The pose criterion of the Task contract: ``criterion(targets, outputs, sample_weight)`` ->
    per-example loss [B], with ``targets`` the pipeline's {"heatmaps", "target_weight"}."""

    def __init__(self, use_target_weight=True):
        self.use_target_weight = use_target_weight

    def __call__(self, targets, outputs, sample_weight=None):
        weight = targets["target_weight"] if self.use_target_weight else None
        return joints_mse(targets["heatmaps"], outputs, weight)


__all__ = ["JointsMSELoss", "joints_mse"]
