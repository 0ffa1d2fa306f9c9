"""FCOS targets and decoding against the loop-by-loop NumPy re-derivation of mmdetection's
``FCOSHead._get_target_single`` / ``_get_bboxes_single`` + mmcv ``multiclass_nms``
(hrnet_tf.testing.detection)."""

import numpy as np
import pytest

from hrnet_tf.detection.codec import FCOSCoder, level_sizes, points
from hrnet_tf.testing import detection as ref

H, W, C = 128, 160, 3
RANGES = ((-1, 32), (32, 64), (64, 128), (128, 256), (256, 1e8))


def random_boxes(rng, n):
    x1, y1 = rng.uniform(0, W - 20, n), rng.uniform(0, H - 20, n)
    w, h = rng.uniform(4, 140, n), rng.uniform(4, 110, n)
    boxes = np.stack([x1, y1, x1 + w, y1 + h], 1).astype(np.float32)
    return boxes, rng.integers(0, C, n).astype(np.int32)


def test_level_sizes_follow_the_stride2_neck():
    # 100 / 2**i floored, then the stride-2 conv with padding 1: ceil
    assert level_sizes(800, 1344) == [(100, 168), (50, 84), (25, 42), (13, 21), (6, 11)]
    xy, stride, counts = points(64, 96, (8, 16, 32, 64, 128))
    assert counts == [96, 24, 6, 2, 1] and xy[0].tolist() == [4, 4] and xy[1].tolist() == [12, 4]
    assert stride[-1] == 128 and xy[-1].tolist() == [64, 64]


@pytest.mark.parametrize("center_sampling", [False, True])
def test_targets_equal_mmdet_rederivation(center_sampling):
    rng = np.random.default_rng(1 + center_sampling)
    boxes, labels = random_boxes(rng, 6)
    coder = FCOSCoder(C, regress_ranges=RANGES, center_sampling=center_sampling)
    # two padding rows (label -1) must change nothing
    padded = np.concatenate([boxes, np.zeros((2, 4), np.float32)])
    padded_labels = np.concatenate([labels, [-1, -1]]).astype(np.int32)
    t = {k: v.numpy() for k, v in coder.encode(padded, padded_labels, H, W).items()}
    xy, stride, counts = points(H, W, coder.strides)
    want_labels, want_bbox, want_center = ref.fcos_targets(
        np.concatenate([xy, stride[:, None]], 1), coder.ranges(counts), boxes, labels, C,
        center_sampling)
    assert (want_labels < C).sum() > 10  # the random boxes do give positives
    np.testing.assert_array_equal(t["labels"], want_labels)
    np.testing.assert_allclose(t["bbox"], want_bbox, atol=1e-4)
    np.testing.assert_allclose(t["centerness"], want_center, atol=1e-5)


def test_image_without_boxes_is_all_background():
    coder = FCOSCoder(C)
    t = coder.encode(np.zeros((0, 4), np.float32), np.zeros((0,), np.int32), H, W)
    assert (t["labels"].numpy() == C).all() and not t["centerness"].numpy().any()
    t = coder.encode(np.zeros((3, 4), np.float32), -np.ones((3,), np.int32), H, W)
    assert (t["labels"].numpy() == C).all()


def test_decode_equals_mmdet_rederivation():
    rng = np.random.default_rng(3)
    xy, _, counts = points(H, W, (8, 16, 32, 64, 128))
    outputs = rng.normal(size=(2, len(xy), C + 5)).astype(np.float32)
    outputs[..., C:C + 4] = np.abs(outputs[..., C:C + 4]) * 20 + 1
    coder = FCOSCoder(C, nms_pre=60, score_threshold=0.3, max_per_image=40)
    shapes = np.array([[120, 150], [100, 160]], np.int32)
    factors = np.array([[1.25, 1.1], [0.5, 0.5]], np.float32)
    boxes, scores, labels, valid = (v.numpy() for v in coder.decode(outputs, (H, W), shapes,
                                                                     factors))
    for b in range(2):
        want = ref.fcos_decode(outputs[b], xy, counts, C, shapes[b], factors[b], nms_pre=60,
                               score_threshold=0.3, max_per_image=40)
        n = int(valid[b])
        assert n == len(want) == 40
        np.testing.assert_allclose(boxes[b, :n], [d[0] for d in want], atol=1e-3)
        np.testing.assert_allclose(scores[b, :n], [d[1] for d in want], atol=1e-5)
        np.testing.assert_array_equal(labels[b, :n], [d[2] for d in want])


def test_model_output_has_the_codec_points():
    import hrnet_tf

    model = hrnet_tf.HRNetFCOS("tiny", num_classes=C, input_shape=(96, 160, 3), out_channels=16,
                               feat_channels=16, stacked_convs=1, gn_groups=4)
    # 96 / 4 = 24 rows: pooled 24, 12, 6, 3, 1, then the stride-2 conv: 12, 6, 3, 2, 1
    assert model.outputs[0].shape[1:] == (sum(points(96, 160, (8, 16, 32, 64, 128))[2]), C + 5)
    assert model.info.labels["strides"] == [8, 16, 32, 64, 128]
