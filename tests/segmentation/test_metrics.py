"""mIoU against an independent per-class numpy computation."""

import numpy as np
import pytest

from hrnet_tf.segmentation.metrics import confusion_matrix, miou_report


def reference_ious(labels, preds, num_classes, ignore):
    # Set arithmetic per class, no confusion matrix involved.
    valid = labels != ignore
    ious = []
    for c in range(num_classes):
        gt = (labels == c) & valid
        pr = (preds == c) & valid
        inter = np.logical_and(gt, pr).sum()
        union = np.logical_or(gt, pr).sum()
        ious.append(inter / union if union else 0.0)
    return np.array(ious)


@pytest.mark.parametrize("seed", [0, 1])
def test_miou_equals_independent_numpy(seed):
    rng = np.random.default_rng(seed)
    num_classes, ignore = 7, 255
    total = np.zeros((num_classes, num_classes), np.int64)
    all_labels, all_preds = [], []
    for _ in range(3):  # accumulated over images, like the evaluator
        labels = rng.integers(0, num_classes, (40, 50))
        labels[rng.random(labels.shape) < 0.2] = ignore
        # Predictions correlated with the labels so IoUs are neither 0 nor 1.
        noise = rng.integers(0, num_classes, labels.shape)
        preds = np.where(rng.random(labels.shape) < 0.6, labels, noise)
        preds = np.where(preds == ignore, 0, preds)
        total += confusion_matrix(labels, preds, num_classes, ignore)
        all_labels.append(labels)
        all_preds.append(preds)
    expected = reference_ious(np.stack(all_labels), np.stack(all_preds), num_classes, ignore)
    report = miou_report(total, [f"c{i}" for i in range(num_classes)])
    np.testing.assert_allclose(list(report["per_class"].values()), expected, rtol=1e-12)
    assert report["mIoU"] == pytest.approx(expected.mean())
    valid = np.stack(all_labels) != ignore
    acc = (np.stack(all_labels) == np.stack(all_preds))[valid].mean()
    assert report["pixel_accuracy"] == pytest.approx(acc)
    assert report["num_pixels"] == valid.sum()


def test_absent_class_counts_zero_in_official_mean():
    labels = np.array([0, 0, 1, 1])
    cm = confusion_matrix(labels, labels, 3)
    report = miou_report(cm)
    assert report["mIoU"] == pytest.approx(2 / 3)  # official: class 2 has IoU 0
    assert report["mIoU_present"] == pytest.approx(1.0)


def test_out_of_range_labels_are_reported():
    with pytest.raises(ValueError, match=r"\[9\] are outside 0..2"):
        confusion_matrix(np.array([0, 9]), np.array([0, 1]), 3)
