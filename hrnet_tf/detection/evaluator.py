"""The detection evaluator: FCOS decoding on every image, COCO bbox AP with pycocotools.

    evaluator = DetectionEvaluator(split, coder, canvas=(800, 1344))
    metrics, skips = evaluate(model, evaluator, "runs/eval")   # metrics["AP"], metrics["AP50"], ...

``result(out_dir)`` writes ``out_dir/bbox_results.json`` (COCO results format, category ids of the
annotation file, boxes [x, y, w, h] in original image pixels).
"""

import json
import os

import numpy as np

from hrnet_tf.data.normalization import IMAGENET
from hrnet_tf.detection.metrics import STAT_NAMES, coco_bbox_stats, to_coco_results
from hrnet_tf.detection.pipeline import SCALE, eval_dataset
from hrnet_tf.evaluation import Evaluator

RESULTS_FILE = "bbox_results.json"


class DetectionEvaluator(Evaluator):
    """COCO bbox AP of a detector (FCOS or RetinaNet: ``coder`` decodes) on a
    :class:`~hrnet_tf.detection.sources.DetectionSplit`."""

    name = "detection eval"
    metric = "AP"
    higher_is_better = True

    def __init__(self, split, coder, canvas, scale=SCALE, batch_size=2, normalization=IMAGENET,
                 num_parallel_calls=-1):
        self.split = split
        self.coder = coder
        self.canvas = (int(canvas[0]), int(canvas[1]))
        self.scale = tuple(scale)
        self.batch_size = int(batch_size)
        self.normalization = normalization
        self.num_parallel_calls = num_parallel_calls
        self.num_samples = len(split)
        self.results = []
        self.evaluated = []

    def dataset(self):
        return eval_dataset(self.split, self.batch_size, self.canvas, self.scale,
                            self.normalization, self.num_parallel_calls)

    def sample_name(self, index):
        return self.split.image_paths[index]

    def predict(self, forward, batch):
        outputs = forward(batch["image"])
        boxes, scores, labels, valid = self.coder.decode(outputs, self.canvas,
                                                         batch["image_shape"],
                                                         batch["scale_factor"])
        return boxes.numpy(), scores.numpy(), labels.numpy(), valid.numpy()

    def update(self, batch, outputs):
        boxes, scores, labels, valid = outputs
        for row, index in enumerate(batch["index"]):
            n = int(valid[row])
            image_id = self.split.image_ids[int(index)]
            self.evaluated.append(image_id)
            self.results += to_coco_results(image_id, boxes[row, :n], scores[row, :n],
                                            labels[row, :n], self.split.category_ids)

    def result(self, out_dir=None):
        from hrnet_tf.detection.sources import open_coco

        if out_dir:
            os.makedirs(out_dir, exist_ok=True)
            with open(os.path.join(out_dir, RESULTS_FILE), "w") as f:
                json.dump(self.results, f)
        if not self.evaluated:
            return {**dict.fromkeys(STAT_NAMES, 0.0), "images": 0, "detections": 0}
        api = open_coco(self.split.annotation_file)
        stats = coco_bbox_stats(api, self.results, self.evaluated)
        return {**stats, "images": len(self.evaluated), "detections": len(self.results),
                "mean_score": float(np.mean([r["score"] for r in self.results]))
                if self.results else 0.0}


__all__ = ["RESULTS_FILE", "DetectionEvaluator"]
