"""The FCOS criterion against the NumPy re-derivation of mmdetection's ``FCOSHead.loss`` (sigmoid
focal loss, IoU / GIoU loss weighted by centerness, centerness BCE)."""

import numpy as np
import pytest

from hrnet_tf.detection.codec import FCOSCoder, points
from hrnet_tf.detection.loss import FCOSLoss
from hrnet_tf.testing import detection as ref

H, W, C = 128, 160, 2


@pytest.mark.parametrize("bbox_loss", ["iou", "giou"])
def test_loss_terms_equal_mmdet_rederivation(bbox_loss):
    rng = np.random.default_rng(5)
    coder = FCOSCoder(C, regress_ranges=((-1, 32), (32, 64), (64, 128), (128, 256), (256, 1e8)))
    images = [(np.array([[10, 20, 70, 90], [60, 30, 150, 120]], np.float32), np.array([0, 1])),
              (np.array([[5, 5, 40, 50]], np.float32), np.array([1]))]
    targets = [{k: v.numpy() for k, v in coder.encode(b, lab, H, W).items()} for b, lab in images]
    xy, _, _ = points(H, W, coder.strides)
    outputs = rng.normal(size=(2, len(xy), C + 5)).astype(np.float32)
    outputs[..., C:C + 4] = np.abs(outputs[..., C:C + 4]) * 15 + 1
    batch = {k: np.stack([t[k] for t in targets]) for k in targets[0]}
    loss = FCOSLoss(C, bbox_loss=bbox_loss)
    ours = [float(v.numpy().sum()) / 2 for v in loss.terms(batch, outputs)]  # trainer: sum / B
    flat = {k: np.concatenate([t[k] for t in targets]) for k in targets[0]}
    flat_out = outputs.reshape(-1, C + 5)
    want = ref.fcos_loss(np.concatenate([xy, xy]), flat_out[:, :C], flat_out[:, C:C + 4],
                         flat_out[:, C + 4], flat["labels"], flat["bbox"], flat["centerness"], C,
                         bbox_loss=bbox_loss)
    np.testing.assert_allclose(ours, want, rtol=1e-4)
    total = float(loss(batch, outputs).numpy().sum()) / 2
    assert total == pytest.approx(sum(want), rel=1e-4)


def test_no_positive_gives_focal_only():
    coder = FCOSCoder(C)
    t = coder.encode(np.zeros((0, 4), np.float32), np.zeros((0,), np.int32), H, W)
    batch = {k: v.numpy()[None] for k, v in t.items()}
    outputs = np.random.default_rng(0).normal(size=(1, batch["labels"].shape[1], C + 5))
    focal, box, center = (float(v.numpy()[0]) for v in FCOSLoss(C).terms(batch, outputs))
    assert focal > 0 and box == 0 and center == 0
