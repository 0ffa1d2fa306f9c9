"""Segmentation losses of the official HRNet code (``lib/core/criterion.py``), in keras.ops.

* ``CrossEntropy``: logits are resized bilinearly to the label size (align_corners=False), then
  ``nn.CrossEntropyLoss(weight=class_weights, ignore_index=ignore)``: the class-weighted pixel
  losses summed and divided by the summed weights of the non-ignored pixels.
* ``OhemCrossEntropy``: the same weighted pixel losses (reduction none); the softmax probability
  of the true class of every non-ignored pixel is sorted, ``threshold = max(prob[min(min_kept,
  n - 1)], thresh)``, and the loss is the plain mean over pixels whose probability is below it.

Both are computed over the whole (per-replica) batch, as the official ``FullModel`` does on each
GPU. The training engine wants one loss per example whose batch mean is the loss, so
``per_example`` returns ``batch * (sum of this example's terms) / (batch normaliser)``: its mean is
exactly the official batch loss, and so are its gradients.

    >>> import numpy as np
    >>> logits = np.zeros((1, 2, 2, 3), "float32")          # stride-4 logits, 3 classes
    >>> labels = np.zeros((1, 8, 8), "int32")
    >>> round(float(cross_entropy(labels, logits, num_classes=3)), 4)   # log(3)
    1.0986
"""

from keras import ops

from hrnet_tf.layers.resize import resize


def upsample_logits(logits, labels):
    """Bilinear (align_corners=False) resize of NHWC ``logits`` to the [N, H, W] ``labels`` size."""
    label_shape = ops.shape(labels)
    return resize(logits, (label_shape[1], label_shape[2]), "bilinear")


def _pixel_terms(labels, logits, num_classes, class_weights, ignore_label):
    """Per-pixel weighted CE, its weight, the true-class probability, and the valid mask."""
    labels = ops.cast(labels, "int32")
    if len(labels.shape) == 4:
        labels = ops.squeeze(labels, -1)
    logits = ops.cast(upsample_logits(logits, labels), "float32")
    valid = ops.not_equal(labels, ignore_label)
    safe_labels = ops.where(valid, labels, ops.zeros_like(labels))
    log_probs = ops.log_softmax(logits, axis=-1)
    true_log_prob = ops.take_along_axis(log_probs, ops.expand_dims(safe_labels, -1), axis=-1)
    true_log_prob = ops.squeeze(true_log_prob, -1)
    if class_weights is None:
        weight = ops.ones_like(true_log_prob)
    else:
        weights = ops.convert_to_tensor(list(class_weights), dtype="float32")
        weight = ops.take(weights, safe_labels)
    valid_f = ops.cast(valid, "float32")
    weight = weight * valid_f
    return -true_log_prob * weight, weight, ops.exp(true_log_prob), valid


def _per_example(numerators, denominator):
    """[N, H, W] terms -> [N] values whose mean is sum(terms) / denominator."""
    batch = ops.cast(ops.shape(numerators)[0], "float32")
    per_image = ops.sum(ops.reshape(numerators, (ops.shape(numerators)[0], -1)), axis=1)
    return per_image * batch / ops.maximum(denominator, 1e-12)


def cross_entropy(labels, logits, num_classes, class_weights=None, ignore_label=255,
                  per_example=False):
    """Weighted cross-entropy with ignore (official ``CrossEntropy``). Scalar, or [N] when
    ``per_example`` (mean = the scalar). An all-ignore batch gives 0."""
    losses, weight, _, _ = _pixel_terms(labels, logits, num_classes, class_weights, ignore_label)
    denominator = ops.sum(weight)
    if per_example:
        return _per_example(losses, denominator)
    return ops.sum(losses) / ops.maximum(denominator, 1e-12)


def ohem_threshold(true_probs, valid, thresh=0.9, min_kept=131072):
    """The official OHEM threshold: ``max(sorted_valid_probs[min(min_kept, n - 1)], thresh)``."""
    flat_probs = ops.reshape(true_probs, (-1,))
    flat_valid = ops.reshape(valid, (-1,))
    # Ignored pixels are pushed past every probability so that the first n sorted are the valid.
    sortable = ops.where(flat_valid, flat_probs, ops.full_like(flat_probs, 2.0))
    ordered = ops.sort(sortable)
    n = ops.sum(ops.cast(flat_valid, "int32"))
    index = ops.maximum(ops.minimum(min_kept, n - 1), 0)
    return ops.maximum(ops.take(ordered, index), thresh)


def ohem_cross_entropy(labels, logits, num_classes, class_weights=None, ignore_label=255,
                       thresh=0.9, min_kept=131072, per_example=False):
    """Online hard example mining over the batch's pixels (official ``OhemCrossEntropy``).

    The kept pixels are the non-ignored ones whose true-class probability is below the threshold;
    the loss is the unweighted mean of their (class-weighted) losses.
    """
    losses, _, true_probs, valid = _pixel_terms(
        labels, logits, num_classes, class_weights, ignore_label
    )
    threshold = ohem_threshold(ops.stop_gradient(true_probs), valid, thresh, min_kept)
    kept = ops.logical_and(valid, ops.less(ops.stop_gradient(true_probs), threshold))
    kept_f = ops.cast(kept, "float32")
    denominator = ops.sum(kept_f)
    if per_example:
        return _per_example(losses * kept_f, denominator)
    return ops.sum(losses * kept_f) / ops.maximum(denominator, 1.0)


class SegmentationLoss:
    """The training criterion (``SegmentationTask.build_criterion``): a callable
    ``(labels, logits, sample_weight=None) -> [N]`` per-example losses whose mean is the official
    batch loss.

    >>> loss = SegmentationLoss(num_classes=19, use_ohem=True)
    >>> loss.use_ohem, loss.thresh, loss.min_kept
    (True, 0.9, 131072)
    """

    def __init__(self, num_classes, class_weights=None, ignore_label=255, use_ohem=False,
                 thresh=0.9, min_kept=131072):
        self.num_classes = int(num_classes)
        self.class_weights = None if class_weights is None else [float(w) for w in class_weights]
        if self.class_weights is not None and len(self.class_weights) != self.num_classes:
            raise ValueError(
                f"class_weights has {len(self.class_weights)} entries for {num_classes} classes"
            )
        self.ignore_label = int(ignore_label)
        self.use_ohem = bool(use_ohem)
        self.thresh = float(thresh)
        self.min_kept = max(1, int(min_kept))

    def __call__(self, labels, logits, sample_weight=None):
        if sample_weight is not None:
            raise ValueError("segmentation batches carry no sample weights (ignored pixels do)")
        if self.use_ohem:
            return ohem_cross_entropy(
                labels, logits, self.num_classes, self.class_weights, self.ignore_label,
                self.thresh, self.min_kept, per_example=True,
            )
        return cross_entropy(
            labels, logits, self.num_classes, self.class_weights, self.ignore_label,
            per_example=True,
        )


__all__ = [
    "SegmentationLoss",
    "cross_entropy",
    "ohem_cross_entropy",
    "ohem_threshold",
    "upsample_logits",
]
