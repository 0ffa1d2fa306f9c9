"""Confusion matrix and mean IoU, computed the way the official HRNet code does.

The official ``get_confusion_matrix``/``validate`` accumulate a [num_classes, num_classes] matrix
(rows: ground truth, columns: prediction) over the ignore-free pixels of every image, and report
``IoU_c = TP / max(1, GT + Pred - TP)`` averaged over all classes. A class absent from both the
ground truth and the predictions therefore counts as IoU 0 in ``mIoU``; ``mIoU_present`` averages
only classes that occur (what cityscapesscripts reports), which is the same on real Cityscapes val.

    >>> import numpy as np
    >>> cm = confusion_matrix(np.array([[0, 1, 255]]), np.array([[0, 0, 1]]), 2)
    >>> cm.tolist()
    [[1, 0], [1, 0]]
    >>> round(miou_report(cm)["mIoU"], 3)
    0.25
"""

import numpy as np


def confusion_matrix(labels, predictions, num_classes, ignore_label=255):
    """Counts pixel pairs (ground truth row, prediction column), skipping ``ignore_label`` pixels.

    Ground-truth values outside 0..num_classes-1 other than the ignore label raise ValueError:
    they mean the label mapping is wrong, which must not pass silently.
    """
    labels = np.asarray(labels).astype(np.int64).ravel()
    predictions = np.asarray(predictions).astype(np.int64).ravel()
    if labels.shape != predictions.shape:
        raise ValueError(f"labels {labels.shape} and predictions {predictions.shape} differ")
    keep = labels != ignore_label
    labels, predictions = labels[keep], predictions[keep]
    bad = (labels < 0) | (labels >= num_classes)
    if bad.any():
        raise ValueError(
            f"label values {np.unique(labels[bad])[:10].tolist()} are outside 0..{num_classes - 1} "
            f"and not the ignore label {ignore_label}"
        )
    if ((predictions < 0) | (predictions >= num_classes)).any():
        raise ValueError(f"predictions must lie in 0..{num_classes - 1}")
    counts = np.bincount(labels * num_classes + predictions, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


def iou_per_class(confusion):
    """IoU of every class: TP / max(1, GT + Pred - TP) (official formula)."""
    confusion = np.asarray(confusion, dtype=np.float64)
    tp = np.diag(confusion)
    union = confusion.sum(axis=1) + confusion.sum(axis=0) - tp
    return tp / np.maximum(1.0, union)


def miou_report(confusion, class_names=None):
    """The ``metrics.json`` content: mIoU, per-class IoU (by name), pixel accuracy.

    >>> r = miou_report(np.array([[3, 1], [0, 4]]), ["road", "car"])
    >>> r["per_class"], r["mIoU"]
    ({'road': 0.75, 'car': 0.8}, 0.775)
    """
    confusion = np.asarray(confusion)
    num_classes = confusion.shape[0]
    names = list(class_names) if class_names is not None else [str(i) for i in range(num_classes)]
    if len(names) != num_classes:
        raise ValueError(f"{len(names)} class names for {num_classes} classes")
    iou = iou_per_class(confusion)
    present = (confusion.sum(axis=0) + confusion.sum(axis=1)) > 0
    total = confusion.sum()
    gt_pixels = confusion.sum(axis=1)
    has_gt = gt_pixels > 0
    return {
        "mIoU": float(iou.mean()),
        "mIoU_present": float(iou[present].mean()) if present.any() else 0.0,
        "per_class": {name: float(v) for name, v in zip(names, iou, strict=True)},
        "pixel_accuracy": float(np.diag(confusion).sum() / total) if total else 0.0,
        "mean_accuracy": float(np.mean(np.diag(confusion)[has_gt] / gt_pixels[has_gt]))
        if has_gt.any()
        else 0.0,
        "num_pixels": int(total),
    }
