"""The synthetic demo set: valid for our loader and pycocotools, keypoints on the drawn joints."""

import cv2
import numpy as np
import pytest

from hrnet_tf.pose.coco import detection_path, load_coco
from hrnet_tf.pose.metrics import coco_keypoint_eval, select_results
from hrnet_tf.pose.synthetic import JOINT_COLORS


def test_synthetic_dataset_reads_back_and_scores_ap_one(synthetic_coco):
    records = load_coco(synthetic_coco, "val2017", 0.75)
    assert records.size == 6
    assert records.visible.sum(axis=1).min() >= 10
    keypoints = np.concatenate([records.joints, np.ones_like(records.visible)[..., None]], -1)
    stats = coco_keypoint_eval(records.ground_truth, select_results(
        keypoints, records.image_ids, records.scores, records.scales))
    assert stats["AP"] == pytest.approx(1.0)
    dets = load_coco(synthetic_coco, "val2017", 0.75, detection_file=detection_path(synthetic_coco))
    assert dets.size >= 6


def test_synthetic_keypoints_lie_on_their_joint_dots(synthetic_coco):
    hits = []
    for split in ("train2017", "val2017"):
        records = load_coco(synthetic_coco, split, 0.75)
        for i in range(records.size):
            image = cv2.imread(str(records.image_paths[i]))[:, :, ::-1].astype(int)
            for j in range(5, 17):
                x, y = np.round(records.joints[i, j]).astype(int)
                inside = 1 <= x < image.shape[1] - 1 and 1 <= y < image.shape[0] - 1
                if records.visible[i, j] and inside:
                    patch = image[y - 1:y + 2, x - 1:x + 2].reshape(-1, 3)
                    # of all joint-dot colours, the nearest is this joint type's (left = right)
                    distance = {k: np.abs(patch - np.array(c)).sum(axis=1).min()
                                for k, c in JOINT_COLORS.items()}
                    hits.append(min(distance, key=distance.get) == j - (j - 5) % 2)
    # dots of 1-2 px radius in small JPEGs, sometimes overlapping: nearly all, not all
    assert len(hits) > 100 and np.mean(hits) > 0.9
