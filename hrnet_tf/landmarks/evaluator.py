"""The face-landmark evaluator for :func:`hrnet_tf.evaluation.evaluate`: NME, failure rates, AUC.

The official validation (``lib/core/function.py inference``/``validate``): the un-augmented crop of
every test face (scale x 1.25), the model, ``decode_preds`` (:mod:`hrnet_tf.landmarks.codec`,
the official whole-pixel decoding by default), ``compute_nme`` against the points of the
annotation, then the mean and the failure rates (:mod:`hrnet_tf.landmarks.metrics`). Subsets
(WFLW's attributes, 300W common/challenge, AFLW frontal) get their own ``NME_<name>``,
``FR_0.10_<name>`` and ``AUC_0.10_<name>``. With the training faces given, ``NME_mean_shape`` is the
NME of the mean training shape (points relative to the centre, in units of 200 x scale) placed in
each test face's box: the baseline a trained model must beat.

``OUT/predictions.json``: one entry per evaluated face, ``{"image", "face", "points"}`` (the image
path, the face's row in the annotation, L x/y pairs in image pixels).

    >>> evaluator = LandmarkEvaluator(pipeline, records, batch_size=16)   # doctest: +SKIP
    >>> metrics, skips = hrnet_tf.evaluation.evaluate(model, evaluator, "out")  # doctest: +SKIP
    >>> metrics["NME"], metrics["FR_0.10"], metrics["AUC_0.10"]           # doctest: +SKIP
"""

import json
import os

import numpy as np
import tensorflow as tf

from hrnet_tf.evaluation import Evaluator
from hrnet_tf.landmarks.metrics import nme_per_face, summary

PREDICTIONS_FILE = "predictions.json"


def mean_shape(records):
    """The mean landmark shape of ``records`` relative to each face's centre, in units of
    ``200 x scale`` ([L, 2])."""
    unit = 200.0 * records.scales[:, None, None]
    return ((records.points - records.centers[:, None]) / unit).mean(axis=0)


def place_shape(shape, records):
    """``shape`` ([L, 2], :func:`mean_shape` units) placed in every face of ``records``."""
    return records.centers[:, None] + 200.0 * records.scales[:, None, None] * shape[None]


class LandmarkEvaluator(Evaluator):
    """Landmarks [N, L, 2] per test face, scored with the landmark set's NME."""

    name = "landmark evaluation"
    metric = "NME"
    higher_is_better = False

    def __init__(self, pipeline, records, batch_size=16, decoding=None, train_records=None):
        self.pipeline = pipeline
        self.codec = pipeline.codec
        self.landmark_set = pipeline.landmark_set
        self.records = records
        self.batch_size = int(batch_size)
        self.decoding = decoding
        self.train_records = train_records
        self.num_samples = records.size
        self.points = np.zeros((records.size, records.num_points, 2), np.float64)
        self.received = np.zeros(records.size, bool)

    def dataset(self):
        return self.pipeline.eval_dataset(self.records, self.batch_size)

    def sample_name(self, index):
        return str(self.records.image_paths[index])

    def predict(self, forward, batch):
        heatmaps = forward(tf.constant(batch["image"]))
        points, _ = self.codec.decode(heatmaps, batch["center"], batch["scale"], self.decoding)
        return points.numpy()

    def update(self, batch, outputs):
        self.points[batch["index"]] = outputs
        self.received[batch["index"]] = True

    def nme(self, predictions=None, rows=None):
        """Per-face NME of ``predictions`` (default: the received ones) on ``rows``."""
        rows = np.flatnonzero(self.received) if rows is None else rows
        predictions = self.points[rows] if predictions is None else predictions
        boxes = self.records.box_sizes[rows] if self.landmark_set.uses_box else None
        return nme_per_face(predictions, self.records.points[rows], self.landmark_set, boxes)

    def result(self, out_dir=None):
        rows = np.flatnonzero(self.received)
        nme = self.nme(rows=rows)
        result = summary(nme)
        for name, mask in self.records.subsets.items():
            selected = mask[rows]
            part = summary(nme[selected])
            result[f"NME_{name}"] = part["NME"]
            result[f"FR_0.10_{name}"] = part["FR_0.10"]
            result[f"AUC_0.10_{name}"] = part["AUC_0.10"]
            result[f"faces_{name}"] = part["faces"]
        if self.train_records is not None and self.train_records.size:
            baseline = place_shape(mean_shape(self.train_records), self.records.subset(rows))
            result["NME_mean_shape"] = float(self.nme(baseline, rows).mean()) if len(rows) \
                else float("nan")
        if out_dir is not None:
            os.makedirs(out_dir, exist_ok=True)
            entries = [{"image": str(self.records.image_paths[i]), "face": int(i),
                        "points": np.round(self.points[i], 3).tolist()} for i in rows]
            with open(os.path.join(out_dir, PREDICTIONS_FILE), "w") as f:
                json.dump(entries, f)
        return result


__all__ = ["PREDICTIONS_FILE", "LandmarkEvaluator", "mean_shape", "place_shape"]
