"""COCO results (x1 y1 x2 y2 + label -> [x, y, w, h] + category id) scored by pycocotools."""

import numpy as np
import pytest

from hrnet_tf.detection.metrics import STAT_NAMES, coco_bbox_stats, to_coco_results
from hrnet_tf.detection.sources import load_split, open_coco
from tests.detection.helpers import write_coco


def test_ground_truth_as_results_scores_one_and_a_shifted_box_less(tmp_path):
    annotations, images = write_coco(tmp_path)
    split = load_split(annotations, images)
    api = open_coco(annotations)
    results = []
    for image_id, boxes, labels in zip(split.image_ids, split.boxes, split.labels, strict=True):
        results += to_coco_results(image_id, boxes, np.ones(len(boxes)), labels,
                                   split.category_ids)
    assert {r["category_id"] for r in results} == {3, 7}  # labels mapped back to COCO ids
    stats = coco_bbox_stats(api, results, [1, 2])
    assert list(stats) == list(STAT_NAMES)
    # the crowd box is ignored, not missed
    assert stats["AP"] == pytest.approx(1.0) and stats["AP50"] == pytest.approx(1.0)
    # image 3's two car boxes that training skips (outside the image, under a pixel wide) are
    # still ground truth for pycocotools, as in mmdet's evaluation: missed
    assert coco_bbox_stats(api, results, [1, 2, 3])["AP"] < 1.0
    # the car box moved by a third of its width: IoU 0.5 < 0.67 < 0.75
    moved = [dict(r) for r in results]
    car = next(r for r in moved if r["category_id"] == 3)
    car["bbox"] = [car["bbox"][0] + car["bbox"][2] / 5, *car["bbox"][1:]]
    stats = coco_bbox_stats(api, moved, [1, 2])
    assert stats["AP50"] == pytest.approx(1.0) and stats["AP75"] < 0.9
    assert coco_bbox_stats(api, [], split.image_ids)["AP"] == 0.0
