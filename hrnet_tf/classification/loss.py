"""The classification criterion: softmax cross-entropy (official ``torch.nn.CrossEntropyLoss``),
per example, with the training top-1 beside it.

    >>> import numpy as np
    >>> criterion = CrossEntropy()
    >>> loss = criterion(np.array([1]), np.array([[0.0, 0.0]], np.float32))
    >>> round(float(loss[0]), 4)      # log 2
    0.6931
"""

import tensorflow as tf


class CrossEntropy:
    """``criterion(labels, logits, sample_weight) -> [batch]`` float32; ``metrics`` gives "top1"."""

    def __call__(self, targets, outputs, sample_weight=None):
        per_example = tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tf.cast(tf.reshape(targets, [-1]), tf.int32),
            logits=tf.cast(outputs, tf.float32),
        )
        if sample_weight is not None:
            per_example = per_example * tf.cast(sample_weight, tf.float32)
        return per_example

    def metrics(self, targets, outputs, sample_weight=None):
        labels = tf.cast(tf.reshape(targets, [-1]), tf.int32)
        hit = tf.math.in_top_k(labels, tf.cast(outputs, tf.float32), 1)
        return {"top1": tf.cast(hit, tf.float32)}


__all__ = ["CrossEntropy"]
