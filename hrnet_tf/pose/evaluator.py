"""The pose evaluators for :func:`hrnet_tf.evaluation.evaluate`: COCO keypoint AP and MPII PCKh.

Both run the official validation (``lib/core/function.py validate``): the un-augmented crop of each
box, the flip test, decoding (:class:`~hrnet_tf.pose.codec.PoseCodec`), then the dataset's metric
(:mod:`hrnet_tf.pose.metrics`). A crop whose image is not a complete file is left out and named in
the evaluation's skip report; the metrics are computed on the rest (a COCO person left out counts
as missed; an MPII person left out is not scored).

    >>> evaluator = CocoKeypointEvaluator(pipeline, records, batch_size=32)   # doctest: +SKIP
    >>> metrics, skips = hrnet_tf.evaluation.evaluate(model, evaluator, "out")  # doctest: +SKIP
    >>> metrics["AP"], skips.lines()                                          # doctest: +SKIP
    (0.744, [])
"""

import json
import os

import numpy as np
import tensorflow as tf

from hrnet_tf.errors import DataError
from hrnet_tf.evaluation import Evaluator
from hrnet_tf.pose.coco import is_test_split
from hrnet_tf.pose.metrics import coco_keypoint_eval, pckh, select_results, write_results
from hrnet_tf.pose.mpii import read_gt_mat

RESULTS_FILE = "keypoints_results.json"
MPII_PREDICTIONS_FILE = "mpii_predictions.json"


def server_results_file(split, algorithm="hrnet_tf"):
    """The file name the COCO evaluation server takes for ``split``'s keypoint results, e.g.
    ``person_keypoints_test-dev2017_hrnet_tf_results.json`` (zip it and upload)."""
    return f"person_keypoints_{split}_{algorithm}_results.json"


class PoseEvaluator(Evaluator):
    """Top-down inference over ``records``: keypoints [N, J, 3] (x, y, maxval) per crop."""

    name = "pose evaluation"

    def __init__(self, pipeline, records, batch_size=32, flip_test=True, shift_heatmap=True,
                 post_process=True):
        self.pipeline = pipeline
        self.codec = pipeline.codec
        self.records = records
        self.batch_size = int(batch_size)
        self.flip_test = flip_test
        self.shift_heatmap = shift_heatmap
        self.post_process = post_process
        self.num_samples = records.size
        self.keypoints = np.zeros((records.size, self.codec.num_joints, 3), np.float32)
        self.received = np.zeros(records.size, bool)

    def dataset(self):
        return self.pipeline.eval_dataset(self.records, self.batch_size)

    def sample_name(self, index):
        return str(self.records.image_paths[index])

    def predict(self, forward, batch):
        heatmaps = self.codec.heatmaps(forward, tf.constant(batch["image"]), self.flip_test,
                                       self.shift_heatmap)
        return self.codec.decode(heatmaps, batch["center"], batch["scale"],
                                 self.post_process).numpy()

    def update(self, batch, outputs):
        self.keypoints[batch["index"]] = outputs
        self.received[batch["index"]] = True


class CocoKeypointEvaluator(PoseEvaluator):
    """Official COCO evaluation: rescoring, OKS-NMS (soft-OKS-NMS with ``soft_nms``),
    ``OUT/keypoints_results.json``, COCOeval; the ten stats (AP, AP50, AP75, APM, APL, AR, AR50,
    AR75, ARM, ARL).

    A test split (``split`` containing "test", e.g. test-dev2017, whose image-info file has no
    annotations) is not scored: the results go to ``OUT/person_keypoints_<split>_hrnet_tf_
    results.json`` for the evaluation server, and the result is ``{"results": count,
    "results_file": path}`` (as the official ``evaluate`` returns ``{'Null': 0}`` there)."""

    name = "COCO keypoints evaluation"
    metric = "AP"
    higher_is_better = True

    def __init__(self, pipeline, records, batch_size=32, flip_test=True, shift_heatmap=True,
                 post_process=True, in_vis_threshold=0.2, oks_threshold=0.9, use_nms=True,
                 soft_nms=False, split="val2017"):
        super().__init__(pipeline, records, batch_size, flip_test, shift_heatmap, post_process)
        self.in_vis_threshold = in_vis_threshold
        self.oks_threshold = oks_threshold
        self.use_nms = use_nms
        self.soft_nms = soft_nms
        self.split = split

    def results(self):
        """The COCO results list of the crops evaluated so far."""
        rows = np.flatnonzero(self.received)
        r = self.records
        return select_results(self.keypoints[rows], r.image_ids[rows], r.scores[rows],
                              r.scales[rows], self.codec.keypoints, self.in_vis_threshold,
                              self.oks_threshold, self.use_nms, self.soft_nms)

    def result(self, out_dir=None):
        results = self.results()
        if is_test_split(self.split):
            path = os.path.join(out_dir or ".", server_results_file(self.split))
            write_results(results, path)
            return {"results": len(results), "results_file": path}
        if out_dir is not None:
            write_results(results, os.path.join(out_dir, RESULTS_FILE))
        return coco_keypoint_eval(self.records.ground_truth, results, self.codec.keypoints.sigmas)


class MpiiEvaluator(PoseEvaluator):
    """Official MPII evaluation: PCKh@0.5 per joint group against ``annot/gt_<split>.mat``, plus
    ``OUT/mpii_predictions.json`` (the keypoints in ``valid.json`` order)."""

    name = "MPII evaluation"
    metric = "Mean"
    higher_is_better = True

    def result(self, out_dir=None):
        gt_file = self.records.ground_truth
        gt, missing, head_boxes = read_gt_mat(gt_file)
        if len(gt) != self.records.size:
            raise DataError(f"{gt_file}: {len(gt)} people, but {self.records.source} lists "
                            f"{self.records.size}")
        missing = np.array(missing, np.float64)
        missing[~self.received] = 1.0  # a person that could not be read is not scored
        if out_dir is not None:
            os.makedirs(out_dir, exist_ok=True)
            with open(os.path.join(out_dir, MPII_PREDICTIONS_FILE), "w") as f:
                json.dump(np.round(self.keypoints, 2).tolist(), f)
        return pckh(self.keypoints[..., :2], gt, missing, head_boxes)


__all__ = ["CocoKeypointEvaluator", "MpiiEvaluator", "PoseEvaluator", "server_results_file"]
