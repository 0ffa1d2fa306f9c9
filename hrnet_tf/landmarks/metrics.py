"""The landmark metrics, plain NumPy: NME, failure rates, AUC of the cumulative error curve.

* NME of one face (official ``lib/core/evaluation.py compute_nme``): the mean point-to-point
  distance divided by the normalizer of the landmark set (inter-ocular distance in the ground
  truth: points 36/45 for 300W, 60/72 for WFLW, 8/9 for COFW; the face box size for AFLW). The
  dataset NME is the mean over faces. Fractions here (the README's 4.60 is 0.0460).
* ``FR_0.08``, ``FR_0.10``: the fraction of faces whose NME is above 0.08 / 0.10 (the official
  ``(nme > 0.08).sum() / count``).
* ``AUC_0.10`` (not in the official code): the area under the cumulative error distribution
  ``CED(x) = fraction of faces with NME <= x`` from 0 to 0.10, divided by 0.10, so 1 means every
  face is perfect. Computed exactly: ``mean(max(0, 1 - NME / 0.10))`` is that integral of the step
  function (papers integrate CED on a grid; the grid value converges to this one).

    >>> e = np.array([0.02, 0.05, 0.09, 0.2])
    >>> summary(e)["FR_0.08"], summary(e)["FR_0.10"], round(auc(e, 0.1), 4)
    (0.5, 0.25, 0.35)
"""

import numpy as np

FAILURE_THRESHOLDS = (0.08, 0.10)
AUC_THRESHOLD = 0.10


def normalizers(ground_truth, landmark_set, box_sizes=None):
    """[N] normalizing distances of ground-truth faces [N, L, 2]."""
    ground_truth = np.asarray(ground_truth, np.float64)
    if landmark_set.uses_box:
        if box_sizes is None:
            raise ValueError(f"the {landmark_set.name} NME is normalized by the face box size: "
                             "the records have none")
        return np.asarray(box_sizes, np.float64)
    a, b = landmark_set.normalizer
    return np.linalg.norm(ground_truth[:, a] - ground_truth[:, b], axis=-1)


def nme_per_face(predictions, ground_truth, landmark_set, box_sizes=None):
    """[N] NME (fractions) of predictions [N, L, 2] against the ground truth [N, L, 2]."""
    predictions = np.asarray(predictions, np.float64)
    ground_truth = np.asarray(ground_truth, np.float64)
    distances = np.linalg.norm(predictions - ground_truth, axis=-1).mean(axis=-1)
    return distances / normalizers(ground_truth, landmark_set, box_sizes)


def failure_rate(nme, threshold):
    return float(np.mean(np.asarray(nme) > threshold)) if len(nme) else 0.0


def auc(nme, threshold=AUC_THRESHOLD):
    """The exact area under the CED curve on [0, threshold], divided by threshold."""
    nme = np.asarray(nme, np.float64)
    return float(np.mean(np.maximum(0.0, 1.0 - nme / threshold))) if len(nme) else 0.0


def summary(nme):
    """{"NME", "FR_0.08", "FR_0.10", "AUC_0.10", "faces"} of per-face NMEs."""
    nme = np.asarray(nme, np.float64)
    result = {"NME": float(nme.mean()) if len(nme) else float("nan")}
    for threshold in FAILURE_THRESHOLDS:
        result[f"FR_{threshold:.2f}"] = failure_rate(nme, threshold)
    result[f"AUC_{AUC_THRESHOLD:.2f}"] = auc(nme, AUC_THRESHOLD)
    result["faces"] = int(len(nme))
    return result


__all__ = ["AUC_THRESHOLD", "FAILURE_THRESHOLDS", "auc", "failure_rate", "nme_per_face",
           "normalizers", "summary"]
