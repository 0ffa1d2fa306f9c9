"""The face-landmark criterion: plain MSE over every heatmap pixel (official ``lib/core/function.py
train``: ``criterion = torch.nn.MSELoss(size_average=True)`` on (output, target), no target
weights).

Per example here (shape [batch]): the mean of the squared error over H, W and the landmarks; its
batch mean is the official loss value.

    >>> import tensorflow as tf
    >>> HeatmapMSELoss()(tf.zeros([2, 4, 4, 3]), tf.ones([2, 4, 4, 3])).numpy()
    array([1., 1.], dtype=float32)
"""

from keras import ops


def heatmap_mse(target_heatmaps, pred_heatmaps):
    """Per-example mean squared error: [B, H, W, L] targets and predictions -> [B]."""
    diff = ops.cast(pred_heatmaps, "float32") - ops.cast(target_heatmaps, "float32")
    return ops.mean(ops.square(diff), axis=(1, 2, 3))


class HeatmapMSELoss:
    """``criterion(targets, outputs, sample_weight)`` -> per-example loss [B]; ``targets`` are the
    pipeline's heatmaps."""

    def __call__(self, targets, outputs, sample_weight=None):
        return heatmap_mse(targets, outputs)


__all__ = ["HeatmapMSELoss", "heatmap_mse"]
