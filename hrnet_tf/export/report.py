"""Accuracy reports: how far an exported model's outputs are from the Keras model's.

Every export writes ``<name>.report.json`` next to the exported file. Fields:

* ``max_abs_error``, ``mean_abs_error``: over all outputs;
* ``relative_error``: ``max_abs_error / max |reference|`` (scale-free; the acceptance bar for fp32
  exports is 1e-4);
* segmentation / classification: ``label_agreement``, the fraction of pixels (images) whose argmax
  class is the same;
* pose: ``keypoint_error_px`` (mean / max / p95) between keypoints decoded from both outputs, in
  model-input pixels (heatmap pixels times the output stride);
* detection (FCOS, raw TFLite / ONNX): ``detections``, both raw outputs decoded as the task
  decodes them (per-class NMS, canvas pixels): ``box_error_px`` (max over the Keras model's
  detections), ``label_agreement`` (over the ``max_per_image`` slots, -1 past the detections),
  ``count`` (the Keras model's detections).
"""

import json
import os

import numpy as np

from hrnet_tf.pose.codec import heatmap_coordinates


def output_errors(reference, candidate):
    """Max / mean absolute and max relative error between two arrays (or lists of arrays).

    Example:
        >>> e = output_errors(np.array([1.0, -2.0]), np.array([1.0, -2.1]))
        >>> round(e["max_abs_error"], 3), round(e["relative_error"], 3)
        (0.1, 0.05)
    """
    refs = [np.asarray(r, np.float64) for r in _as_list(reference)]
    cands = [np.asarray(c, np.float64) for c in _as_list(candidate)]
    if [r.shape for r in refs] != [c.shape for c in cands]:
        raise ValueError(
            f"output shapes differ: reference {[r.shape for r in refs]}, "
            f"exported {[c.shape for c in cands]}"
        )
    diff = np.concatenate([np.abs(r - c).ravel() for r, c in zip(refs, cands, strict=True)])
    scale = max(float(np.abs(r).max()) for r in refs)
    max_abs = float(diff.max())
    return {
        "max_abs_error": max_abs,
        "mean_abs_error": float(diff.mean()),
        "reference_max_abs": scale,
        "relative_error": max_abs / scale if scale > 0 else max_abs,
    }


def label_agreement(reference, candidate):
    """Fraction of positions whose argmax over the last axis agrees (pixels or images).

    Example:
        >>> label_agreement(np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([[0.2, 0.7], [0.3, 0.6]]))
        0.5
    """
    ref = np.argmax(np.asarray(reference), axis=-1)
    cand = np.argmax(np.asarray(candidate), axis=-1)
    return float(np.mean(ref == cand))


def heatmap_keypoints(heatmaps):
    """Keypoints [N, J, 2] in heatmap pixels, decoded as the pose task decodes them (the official
    argmax and quarter offset of :func:`hrnet_tf.pose.codec.heatmap_coordinates`)."""
    return heatmap_coordinates(np.asarray(heatmaps, np.float32))[0].numpy()


def keypoint_errors(reference, candidate, stride):
    """Distances between decoded keypoints of two heatmap batches, in input pixels."""
    distance = np.linalg.norm(
        heatmap_keypoints(reference) - heatmap_keypoints(candidate), axis=-1
    ) * float(stride)
    return {
        "mean": float(distance.mean()),
        "p95": float(np.percentile(distance, 95)),
        "max": float(distance.max()),
    }


def accuracy_report(reference, candidate, task, input_size=None):
    """The full comparison for ``task``: output errors plus the task's agreement measure."""
    report = output_errors(reference, candidate)
    if task in ("segmentation", "classification"):
        report["label_agreement"] = label_agreement(reference, candidate)
    elif task == "pose":
        stride = input_size[0] / np.asarray(reference).shape[1] if input_size else 4.0
        report["keypoint_error_px"] = keypoint_errors(reference, candidate, stride)
    return report


def detection_agreement(coder, canvas, reference, candidate):
    """Raw FCOS outputs [N, points, classes + 5] of the Keras model and of an export, decoded by
    ``coder`` (:class:`hrnet_tf.detection.codec.FCOSCoder`) on a ``canvas`` (h, w) with no resize,
    compared detection by detection."""
    import tensorflow as tf

    n = len(reference)
    shape = tf.constant([list(canvas)] * n, tf.int32)
    ones = tf.ones([n, 2], tf.float32)
    want = coder.decode(np.asarray(reference, np.float32), canvas, shape, ones)
    got = coder.decode(np.asarray(candidate, np.float32), canvas, shape, ones)
    k = want[0].shape[1]
    slots = np.arange(k)[None, :]
    want_labels = np.where(slots < want[3].numpy()[:, None], want[2].numpy(), -1)
    got_labels = np.where(slots < got[3].numpy()[:, None], got[2].numpy(), -1)
    valid = want_labels >= 0
    error = np.abs(want[0].numpy() - got[0].numpy())[valid]
    return {"box_error_px": float(error.max()) if error.size else 0.0,
            "label_agreement": float(np.mean(want_labels == got_labels)),
            "count": int(valid.sum())}


def write_report(path, report):
    """Writes ``report`` (a dict) as indented JSON to ``path`` and returns the path."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(report, f, indent=2, sort_keys=True)
        f.write("\n")
    return path


def summary_line(report):
    """One human-readable line of the key figures of a report dict."""
    acc = report.get("accuracy", report)
    parts = [
        f"{report.get('format', '?')}/{report.get('quantize', 'none')}",
        f"rel.err {acc['relative_error']:.2e}",
        f"max {acc['max_abs_error']:.3g}",
        f"mean {acc['mean_abs_error']:.3g}",
    ]
    if "label_agreement" in acc:
        parts.append(f"labels agree {100 * acc['label_agreement']:.2f}%")
    if "keypoint_error_px" in acc:
        kp = acc["keypoint_error_px"]
        parts.append(f"keypoints mean {kp['mean']:.2f}px max {kp['max']:.2f}px")
    if "detections" in acc:
        det = acc["detections"]
        parts.append(f"{det['count']} detections: boxes within {det['box_error_px']:.3g}px, "
                     f"labels agree {100 * det['label_agreement']:.2f}%")
    return ", ".join(parts)


def _as_list(outputs):
    if isinstance(outputs, dict):
        return [outputs[k] for k in sorted(outputs)]
    if isinstance(outputs, (list, tuple)):
        return list(outputs)
    return [outputs]
