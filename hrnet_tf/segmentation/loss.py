"""Segmentation losses of the official HRNet code (``lib/core/criterion.py``), in keras.ops.

* ``CrossEntropy``: logits are resized bilinearly to the label size (align_corners=False), then
  ``nn.CrossEntropyLoss(weight=class_weights, ignore_index=ignore)``: the class-weighted pixel
  losses summed and divided by the summed weights of the non-ignored pixels.
* ``OhemCrossEntropy``: the same weighted pixel losses (reduction none); the softmax probability
  of the true class of every non-ignored pixel is sorted, ``threshold = max(prob[min(min_kept,
  n - 1)], thresh)``, and the loss is the plain mean over pixels whose probability is below it.

The plain cross-entropy is computed over the whole (per-replica) batch. OHEM keeps ``min_kept``
pixels per group of ``images_per_group`` images (``loss.ohem_images_per_group``, default 3): the
official criterion runs inside ``FullModel`` on each GPU, on its 3 images (Cityscapes, 4 GPUs x
3), and the GPU losses are averaged; grouping the images the same way keeps as many hard pixels
per image on 1 or 8 replicas, whatever the replica batch.

HRNet-OCR's two outputs (``{"aux", "out"}``) are weighted by ``LOSS.BALANCE_WEIGHTS`` [0.4, 1]
(official ``CrossEntropy.forward``/``OhemCrossEntropy.forward``, branch ``HRNet-OCR``): with OHEM
only the last output is mined; the others go through ``OhemCrossEntropy._ce_forward``, which is
``nn.CrossEntropyLoss(reduction="none")``, so their term is the mean of the weighted pixel losses
over ALL pixels (ignored ones count as 0), as ``losses.mean()`` in ``train`` makes it.

The logits are resized to the label size with ``align_corners`` = ``MODEL.ALIGN_CORNERS`` (False
on master, True for the OCR experiments). The training engine wants one loss per example whose
batch mean is the loss, so ``per_example`` returns ``batch * (sum of this example's terms) /
(batch normaliser)``: its mean is exactly the official batch loss, and so are its gradients.

    >>> import numpy as np
    >>> logits = np.zeros((1, 2, 2, 3), "float32")          # stride-4 logits, 3 classes
    >>> labels = np.zeros((1, 8, 8), "int32")
    >>> round(float(cross_entropy(labels, logits, num_classes=3)), 4)   # log(3)
    1.0986
"""

from keras import ops

from hrnet_tf.layers.resize import resize


def upsample_logits(logits, labels, align_corners=False):
    """Bilinear resize of NHWC ``logits`` to the [N, H, W] ``labels`` size (official
    ``F.interpolate(mode="bilinear", align_corners=MODEL.ALIGN_CORNERS)``)."""
    label_shape = ops.shape(labels)
    method = "bilinear_align_corners" if align_corners else "bilinear"
    return resize(logits, (label_shape[1], label_shape[2]), method)


def _pixel_terms(labels, logits, num_classes, class_weights, ignore_label, align_corners=False):
    """Per-pixel weighted CE, its weight, the true-class probability, and the valid mask."""
    labels = ops.cast(labels, "int32")
    if len(labels.shape) == 4:
        labels = ops.squeeze(labels, -1)
    logits = ops.cast(upsample_logits(logits, labels, align_corners), "float32")
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
                  per_example=False, align_corners=False):
    """Weighted cross-entropy with ignore (official ``CrossEntropy``). Scalar, or [N] when
    ``per_example`` (mean = the scalar). An all-ignore batch gives 0."""
    losses, weight, _, _ = _pixel_terms(labels, logits, num_classes, class_weights, ignore_label,
                                        align_corners)
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


def pixel_mean_cross_entropy(labels, logits, num_classes, class_weights=None, ignore_label=255,
                             per_example=False, align_corners=False):
    """The weighted pixel losses averaged over ALL pixels, ignored ones as 0: the auxiliary
    output's term next to OHEM (official ``OhemCrossEntropy._ce_forward``, reduction none)."""
    losses, _, _, _ = _pixel_terms(labels, logits, num_classes, class_weights, ignore_label,
                                   align_corners)
    pixels = ops.cast(ops.shape(losses)[1] * ops.shape(losses)[2], "float32")
    per_image = ops.sum(ops.reshape(losses, (ops.shape(losses)[0], -1)), axis=1) / pixels
    return per_image if per_example else ops.mean(per_image)


def _grouped(x, group, fill):
    """[N, H, W] -> [G, group * H * W], the batch padded with ``fill`` to G * group images."""
    n = ops.shape(x)[0]
    groups = (n + group - 1) // group
    pad = groups * group - n
    widths = [[0, pad]] + [[0, 0]] * (len(x.shape) - 1)
    x = ops.pad(x, widths, constant_values=fill)
    return ops.reshape(x, (groups, -1)), groups


def ohem_cross_entropy(labels, logits, num_classes, class_weights=None, ignore_label=255,
                       thresh=0.9, min_kept=131072, per_example=False, images_per_group=None,
                       align_corners=False):
    """Online hard example mining (official ``OhemCrossEntropy._ohem_forward``).

    The kept pixels are the non-ignored ones whose true-class probability is below the threshold;
    the loss is the unweighted mean of their (class-weighted) losses. ``images_per_group``: the
    threshold and the mean are taken per group of that many consecutive images (the images one
    official GPU sees) and the group losses averaged, as the GPUs' are; None: one group.
    """
    losses, _, true_probs, valid = _pixel_terms(
        labels, logits, num_classes, class_weights, ignore_label, align_corners
    )
    n = ops.shape(losses)[0]
    group = n if images_per_group is None else images_per_group
    probs = ops.stop_gradient(true_probs)
    g_probs, groups = _grouped(probs, group, 2.0)
    g_valid, _ = _grouped(valid, group, False)
    # Ignored (and padding) pixels are pushed past every probability: the first n sorted are valid.
    ordered = ops.sort(ops.where(g_valid, g_probs, ops.full_like(g_probs, 2.0)), axis=-1)
    counts = ops.sum(ops.cast(g_valid, "int32"), axis=-1)
    index = ops.maximum(ops.minimum(min_kept, counts - 1), 0)
    threshold = ops.maximum(
        ops.squeeze(ops.take_along_axis(ordered, index[:, None], axis=-1), -1), thresh)
    # Each image's threshold and kept count are its group's.
    image_group = ops.arange(n) // group
    image_threshold = ops.take(threshold, image_group)
    kept = ops.logical_and(valid, ops.less(probs, image_threshold[:, None, None]))
    kept_f = ops.cast(kept, "float32")
    kept_per_image = ops.sum(ops.reshape(kept_f, (n, -1)), axis=1)
    loss_per_image = ops.sum(ops.reshape(losses * kept_f, (n, -1)), axis=1)
    group_kept = ops.sum(_grouped(kept_per_image, group, 0.0)[0], axis=-1)
    denominators = ops.maximum(ops.take(group_kept, image_group), 1.0)
    # mean over images of these = mean over groups of (kept loss sum / kept count)
    values = loss_per_image / denominators * ops.cast(n, "float32") / ops.cast(groups, "float32")
    return values if per_example else ops.mean(values)


class SegmentationLoss:
    """The training criterion (``SegmentationTask.build_criterion``): a callable
    ``(labels, logits, sample_weight=None) -> [N]`` per-example losses whose mean is the official
    batch loss. ``logits``: one tensor (HRNetV2), or HRNet-OCR's dict ``{"aux", "out"}`` weighted
    by ``balance_weights`` (aux first; default [0.4, 1], the official ``LOSS.BALANCE_WEIGHTS``).

    >>> loss = SegmentationLoss(num_classes=19, use_ohem=True)
    >>> loss.use_ohem, loss.thresh, loss.min_kept, loss.images_per_group
    (True, 0.9, 131072, 3)
    """

    OUTPUT_ORDER = ("aux", "out")  # official NUM_OUTPUTS 2: [aux, out]; OHEM on the last

    def __init__(self, num_classes, class_weights=None, ignore_label=255, use_ohem=False,
                 thresh=0.9, min_kept=131072, balance_weights=(0.4, 1.0), images_per_group=3,
                 align_corners=False):
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
        self.balance_weights = [float(w) for w in balance_weights]
        self.images_per_group = None if images_per_group is None else max(1, int(images_per_group))
        self.align_corners = bool(align_corners)

    def _term(self, labels, logits, last):
        common = dict(num_classes=self.num_classes, class_weights=self.class_weights,
                      ignore_label=self.ignore_label, per_example=True,
                      align_corners=self.align_corners)
        if self.use_ohem and last:
            return ohem_cross_entropy(labels, logits, thresh=self.thresh, min_kept=self.min_kept,
                                      images_per_group=self.images_per_group, **common)
        if self.use_ohem:
            return pixel_mean_cross_entropy(labels, logits, **common)
        return cross_entropy(labels, logits, **common)

    def __call__(self, labels, logits, sample_weight=None):
        if sample_weight is not None:
            raise ValueError("segmentation batches carry no sample weights (ignored pixels do)")
        if not isinstance(logits, dict):
            return self._term(labels, logits, last=True)
        outputs = [logits[key] for key in self.OUTPUT_ORDER]
        if len(self.balance_weights) != len(outputs):
            raise ValueError(f"balance_weights {self.balance_weights} for {len(outputs)} outputs")
        total = None
        for i, (weight, output) in enumerate(zip(self.balance_weights, outputs, strict=True)):
            term = weight * self._term(labels, output, last=i == len(outputs) - 1)
            total = term if total is None else total + term
        return total


__all__ = [
    "SegmentationLoss",
    "cross_entropy",
    "ohem_cross_entropy",
    "ohem_threshold",
    "pixel_mean_cross_entropy",
    "upsample_logits",
]
