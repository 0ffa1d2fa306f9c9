"""JointsMSELoss with target weights (official ``lib/core/loss.py``, ``use_target_weight=True``),
and its online hard keypoint mining variant ``JointsOHKMMSELoss`` (``LOSS.USE_OHKM``, top-k 8).

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


def joint_losses(target_heatmaps, pred_heatmaps, target_weight=None):
    """Per example and joint ``0.5 * mean((pred * w - gt * w)^2)`` over the pixels: [B, J]."""
    pred_heatmaps = ops.cast(pred_heatmaps, "float32")
    target_heatmaps = ops.cast(target_heatmaps, "float32")
    diff = pred_heatmaps - target_heatmaps
    if target_weight is not None:
        diff = diff * ops.cast(target_weight, "float32")[:, None, None, :]
    return 0.5 * ops.mean(ops.square(diff), axis=(1, 2))


def joints_mse(target_heatmaps, pred_heatmaps, target_weight=None):
    """Per-example JointsMSE: [B, H, W, J] targets and predictions, [B, J] weights -> [B]."""
    return ops.mean(joint_losses(target_heatmaps, pred_heatmaps, target_weight), axis=-1)


def joints_ohkm_mse(target_heatmaps, pred_heatmaps, target_weight=None, topk=8):
    """Per-example OHKM loss: the mean of each example's ``topk`` largest joint losses -> [B].

    Official ``JointsOHKMMSELoss.ohkm``: ``torch.topk`` of the per-joint losses of each sample,
    ``sum / topk``, averaged over the batch (the batch mean of this).

        >>> import tensorflow as tf
        >>> targets = tf.zeros([1, 2, 2, 4])
        >>> preds = tf.reshape(tf.repeat(tf.constant([1.0, 2.0, 3.0, 4.0]), 4), [1, 4, 2, 2])
        >>> float(joints_ohkm_mse(targets, tf.transpose(preds, [0, 2, 3, 1]), topk=2)[0])
        6.25
    """
    per_joint = joint_losses(target_heatmaps, pred_heatmaps, target_weight)
    top, _ = ops.top_k(per_joint, k=int(topk), sorted=False)
    return ops.sum(top, axis=-1) / float(topk)


class JointsMSELoss:
    """The pose criterion of the Task contract: ``criterion(targets, outputs, sample_weight)`` ->
    per-example loss [B], with ``targets`` the pipeline's {"heatmaps", "target_weight"}."""

    def __init__(self, use_target_weight=True):
        self.use_target_weight = use_target_weight

    def __call__(self, targets, outputs, sample_weight=None):
        weight = targets["target_weight"] if self.use_target_weight else None
        return joints_mse(targets["heatmaps"], outputs, weight)


class JointsOHKMMSELoss(JointsMSELoss):
    """Online hard keypoint mining (official ``JointsOHKMMSELoss(use_target_weight, topk=8)``):
    only each example's ``topk`` hardest joints count."""

    def __init__(self, use_target_weight=True, topk=8):
        super().__init__(use_target_weight)
        self.topk = int(topk)

    def __call__(self, targets, outputs, sample_weight=None):
        weight = targets["target_weight"] if self.use_target_weight else None
        return joints_ohkm_mse(targets["heatmaps"], outputs, weight, self.topk)


__all__ = ["JointsMSELoss", "JointsOHKMMSELoss", "joint_losses", "joints_mse", "joints_ohkm_mse"]
