"""Weighted cross-entropy and OHEM against numpy/cv2 re-derivations of the official criterion."""

import cv2
import numpy as np
import pytest

from hrnet_tf.segmentation import labels as L
from hrnet_tf.segmentation.loss import SegmentationLoss, cross_entropy, ohem_cross_entropy

from .helpers import corner_resize

IGNORE = 255


def upsample_np(logits, size):
    # F.interpolate(bilinear, align_corners=False) == cv2 INTER_LINEAR on float data.
    h, w = size
    return np.stack([cv2.resize(x, (w, h), interpolation=cv2.INTER_LINEAR) for x in logits])


def pixel_terms_np(labels, logits, weights):
    up = upsample_np(logits, labels.shape[1:]).astype(np.float64)
    log_p = up - up.max(-1, keepdims=True)
    log_p = log_p - np.log(np.exp(log_p).sum(-1, keepdims=True))
    valid = labels != IGNORE
    safe = np.where(valid, labels, 0)
    true_log_p = np.take_along_axis(log_p, safe[..., None], -1)[..., 0]
    w = np.asarray(weights)[safe] if weights is not None else np.ones(labels.shape)
    return -true_log_p * w, w, np.exp(true_log_p), valid


def ce_np(labels, logits, weights):
    # nn.CrossEntropyLoss(weight, ignore_index): sum(w * l) / sum(w) over valid pixels.
    losses, w, _, valid = pixel_terms_np(labels, logits, weights)
    return losses[valid].sum() / w[valid].sum()


def ohem_np(labels, logits, weights, thresh, min_kept):
    # OhemCrossEntropy.forward, line by line.
    losses, _, probs, valid = pixel_terms_np(labels, logits, weights)
    pixel_losses = losses.ravel()
    mask = valid.ravel()
    pred = probs.ravel()[mask]
    ind = np.argsort(pred, kind="stable")
    pred = pred[ind]
    min_value = pred[min(max(1, min_kept), pred.size - 1)]
    threshold = max(min_value, thresh)
    kept = pixel_losses[mask][ind][pred < threshold]
    return kept.mean(), kept.size


def make_batch(seed, classes=19, n=2, h=32, w=48):
    rng = np.random.default_rng(seed)
    logits = (rng.normal(size=(n, h // 4, w // 4, classes)) * 2).astype(np.float32)
    labels = rng.integers(0, classes, (n, h, w)).astype(np.int32)
    labels[rng.random(labels.shape) < 0.25] = IGNORE
    return labels, logits


@pytest.mark.parametrize("weights", [None, L.CITYSCAPES_CLASS_WEIGHTS])
def test_weighted_cross_entropy_matches_official(weights):
    labels, logits = make_batch(0)
    ours = float(cross_entropy(labels, logits, 19, weights, IGNORE))
    assert ours == pytest.approx(ce_np(labels, logits, weights), rel=1e-5)
    per_example = np.asarray(cross_entropy(labels, logits, 19, weights, IGNORE, per_example=True))
    assert per_example.shape == (2,)
    assert per_example.mean() == pytest.approx(ours, rel=1e-5)


@pytest.mark.parametrize(
    "thresh,min_kept",
    [
        (0.9, 131072),  # official values: min_kept above the pixel count -> threshold from data
        (0.9, 10),  # few kept by count: the 0.9 probability threshold decides
        (0.02, 500),  # low threshold: the 500th smallest probability decides
    ],
)
def test_ohem_keeps_what_the_official_rule_keeps(thresh, min_kept):
    labels, logits = make_batch(1)
    expected, kept = ohem_np(labels, logits, L.CITYSCAPES_CLASS_WEIGHTS, thresh, min_kept)
    assert 0 < kept < (labels != IGNORE).sum() or min_kept > labels.size
    ours = ohem_cross_entropy(labels, logits, 19, L.CITYSCAPES_CLASS_WEIGHTS, IGNORE, thresh,
                              min_kept)
    assert float(ours) == pytest.approx(expected, rel=1e-5)
    per_example = ohem_cross_entropy(labels, logits, 19, L.CITYSCAPES_CLASS_WEIGHTS, IGNORE,
                                     thresh, min_kept, per_example=True)
    assert float(np.mean(per_example)) == pytest.approx(expected, rel=1e-5)


def test_ohem_differs_from_plain_ce_and_all_ignore_is_zero():
    labels, logits = make_batch(2)
    loss = SegmentationLoss(19, use_ohem=True, min_kept=50, thresh=0.05)
    plain = SegmentationLoss(19)
    assert float(np.mean(loss(labels, logits))) != pytest.approx(
        float(np.mean(plain(labels, logits))), rel=1e-3
    )
    ignored = np.full_like(labels, IGNORE)
    assert float(np.mean(plain(ignored, logits))) == 0.0
    assert float(np.mean(loss(ignored, logits))) == 0.0
    with pytest.raises(ValueError, match="class_weights has 3 entries"):
        SegmentationLoss(19, class_weights=[1, 1, 1])


def test_ohem_min_kept_per_group_of_images_as_the_official_gpus():
    # Official: each GPU runs OhemCrossEntropy on its own 3 images; DDP averages the GPU losses.
    # A batch of 5 in groups of 2 = three "GPUs" with 2, 2 and 1 images.
    labels, logits = make_batch(3, n=5)
    logits = logits * np.arange(1, 6, dtype=np.float32)[:, None, None, None]  # unequal images
    thresh, min_kept = 0.3, 120
    expected = np.mean([ohem_np(labels[i:i + 2], logits[i:i + 2], L.CITYSCAPES_CLASS_WEIGHTS,
                                thresh, min_kept)[0] for i in (0, 2, 4)])
    ours = ohem_cross_entropy(labels, logits, 19, L.CITYSCAPES_CLASS_WEIGHTS, IGNORE, thresh,
                              min_kept, per_example=True, images_per_group=2)
    assert np.asarray(ours).shape == (5,)
    assert float(np.mean(ours)) == pytest.approx(expected, rel=1e-5)
    whole = ohem_np(labels, logits, L.CITYSCAPES_CLASS_WEIGHTS, thresh, min_kept)[0]
    assert whole != pytest.approx(expected, rel=1e-3)  # the grouping matters here
    loss = SegmentationLoss(19, L.CITYSCAPES_CLASS_WEIGHTS, use_ohem=True, thresh=thresh,
                            min_kept=min_kept, images_per_group=2)
    assert float(np.mean(loss(labels, logits))) == pytest.approx(expected, rel=1e-5)


def test_align_corners_loss_and_ocr_balance_weights():
    labels, logits = make_batch(4)
    aux = make_batch(5)[1]
    # Official CrossEntropy with MODEL.ALIGN_CORNERS True: the logits are resized corner-aligned.
    up = np.stack([corner_resize(x, *labels.shape[1:]) for x in logits]).astype(np.float64)
    log_p = up - np.log(np.exp(up).sum(-1, keepdims=True))
    valid = labels != IGNORE
    expected = -np.take_along_axis(log_p, np.where(valid, labels, 0)[..., None], -1)[..., 0]
    expected = expected[valid].mean()
    ours = cross_entropy(labels, logits, 19, None, IGNORE, align_corners=True)
    assert float(ours) == pytest.approx(expected, rel=1e-5)
    assert float(cross_entropy(labels, logits, 19)) != pytest.approx(expected, rel=1e-4)

    # OCR outputs: 0.4 * CE(aux) + 1 * CE(out); with OHEM: 0.4 * mean over ALL pixels of the
    # weighted pixel losses (OhemCrossEntropy._ce_forward, reduction none) + OHEM(out).
    w = L.CITYSCAPES_CLASS_WEIGHTS
    plain = SegmentationLoss(19, w, images_per_group=None)
    got = float(np.mean(plain(labels, {"aux": aux, "out": logits})))
    assert got == pytest.approx(0.4 * ce_np(labels, aux, w) + ce_np(labels, logits, w), rel=1e-5)
    ohem = SegmentationLoss(19, w, use_ohem=True, thresh=0.05, min_kept=200,
                            images_per_group=None)
    got = float(np.mean(ohem(labels, {"aux": aux, "out": logits})))
    aux_terms = pixel_terms_np(labels, aux, w)[0]
    expected = 0.4 * np.where(valid, aux_terms, 0).mean() + ohem_np(labels, logits, w, 0.05, 200)[0]
    assert got == pytest.approx(expected, rel=1e-5)
