"""The mmdet FCOS transforms in tf.data: keep-ratio resize (mmcv rescale_size), box scaling and
flip, zero padding after normalization, targets, stateless order."""

import numpy as np
import pytest
import tensorflow as tf

from hrnet_tf.detection.codec import FCOSCoder
from hrnet_tf.detection.pipeline import eval_dataset, flip_boxes, rescale_size, train_dataset
from hrnet_tf.detection.sources import load_split
from tests.detection.helpers import write_coco


@pytest.mark.parametrize("h,w", [(480, 640), (427, 640), (640, 427), (100, 200)])
def test_rescale_size_is_mmcv(h, w):
    # mmcv rescale_size(keep_ratio): factor min(1333 / long, 800 / short), int(x * f + 0.5)
    factor = min(1333 / max(h, w), 800 / min(h, w))
    new_h, new_w, _ = rescale_size(h, w)
    assert (int(new_h), int(new_w)) == (int(h * factor + 0.5), int(w * factor + 0.5))
    # inside a canvas: the factor that fits
    new_h, new_w, _ = rescale_size(h, w, canvas=(800, 1344))
    assert int(new_h) <= 800 and int(new_w) <= 1344


def test_flip_is_mmdet_bbox_flip():
    flipped = flip_boxes(tf.constant([[10.0, 5.0, 30.0, 25.0]]), 100)
    assert flipped.numpy().tolist() == [[70.0, 5.0, 90.0, 25.0]]


def test_train_and_eval_batches(tmp_path):
    annotations, images = write_coco(tmp_path)
    split = load_split(annotations, images)
    coder = FCOSCoder(2)
    canvas = (128, 160)
    batches = list(train_dataset(split, coder, 3, canvas, seed=4, scale=(160, 128),
                                 flip_ratio=0.5))
    assert len(batches) == 1
    x, targets = batches[0]
    # 16x20 + 8x10 + 4x5 + 2x3 + 1x1 points
    assert x.shape == (3, 128, 160, 3) and targets["labels"].shape == (3, 427)
    # image 1 (96 x 128 -> 120 x 160: factor 1.25) has its two objects; 2 and 3 none
    positives = (targets["labels"].numpy() < 2).sum(1)
    again = list(train_dataset(split, coder, 3, canvas, seed=4, scale=(160, 128)))[0][1]
    np.testing.assert_array_equal(again["labels"], targets["labels"])  # stateless
    order = np.argsort([-p for p in positives])
    assert positives[order[0]] > 0 and positives[order[1]] == positives[order[2]] == 0
    # the padding rows (below the 120 resized rows) are zeros after normalization
    assert np.abs(x.numpy()[:, 120:]).max() == 0
    batch = next(iter(eval_dataset(split, 3, canvas, scale=(160, 128))))
    assert batch["image_shape"].numpy().tolist() == [[120, 160]] * 3
    np.testing.assert_allclose(batch["scale_factor"].numpy(), [[1.25, 1.25]] * 3)
