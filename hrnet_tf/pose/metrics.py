"""Pose metrics, as the official code computes them: COCO keypoint AP and MPII PCKh.

COCO (``lib/dataset/coco.py evaluate``, ``lib/nms/nms.py``): predictions (image keypoints with
per-joint maxvals) are rescored (box score x mean maxval of the joints above
``in_vis_threshold``), filtered per image with greedy OKS-NMS (``oks_threshold`` 0.9; or
soft-OKS-NMS, ``TEST.SOFT_NMS``), written as a COCO results json and scored by pycocotools
``COCOeval(..., "keypoints")``: the ten stats :data:`STAT_NAMES`.

MPII (``lib/dataset/mpii.py evaluate``): PCKh with 0.6 x the head-box diagonal, pelvis and thorax
excluded from the means, 1-based predictions (``preds + 1``).

    >>> rescore(np.array([[[0, 0, 0.9], [0, 0, 0.1]]]), [0.5]).tolist()
    [0.45]
"""

import contextlib
import io
import json
import os
from collections import defaultdict

import numpy as np

from hrnet_tf.data.affine import PIXEL_STD
from hrnet_tf.pose.coco import open_coco
from hrnet_tf.pose.keypoints import COCO

STAT_NAMES = ("AP", "AP50", "AP75", "APM", "APL", "AR", "AR50", "AR75", "ARM", "ARL")


def oks_overlaps(keypoints, others, area, other_areas, sigmas):
    """Official ``oks_iou``: OKS of one prediction [J, 3] against others [M, J, 3], with the mean
    of the two areas as the object scale. Returns [M]."""
    variances = (np.asarray(sigmas) * 2) ** 2
    dx = others[..., 0] - keypoints[None, :, 0]
    dy = others[..., 1] - keypoints[None, :, 1]
    scale = (area + np.asarray(other_areas)) / 2 + np.spacing(1)
    e = (dx**2 + dy**2) / variances[None] / scale[:, None] / 2
    return np.exp(-e).mean(axis=1)


def oks_nms(keypoints, scores, areas, threshold, sigmas):
    """Greedy OKS-NMS: indices kept, highest score first (official ``oks_nms``)."""
    keypoints = np.asarray(keypoints, np.float64)
    if len(keypoints) == 0:
        return []
    order = np.argsort(np.asarray(scores))[::-1]
    keep = []
    while order.size > 0:
        best = order[0]
        keep.append(int(best))
        overlap = oks_overlaps(keypoints[best], keypoints[order[1:]], areas[best],
                               np.asarray(areas)[order[1:]], sigmas)
        order = order[1:][overlap <= threshold]
    return keep


SOFT_NMS_MAX_DETECTIONS = 20  # official soft_oks_nms: max_dets = 20


def soft_oks_nms(keypoints, scores, areas, threshold, sigmas, max_detections=SOFT_NMS_MAX_DETECTIONS):
    """Official ``soft_oks_nms``: repeatedly picks the highest (rescored) score and multiplies the
    scores of the rest by ``exp(-oks^2 / threshold)`` (``rescore``, Gaussian), at most
    ``max_detections`` picks. Returns the picked indices in order; the results keep their
    original scores (the official evaluation writes them unchanged)."""
    keypoints = np.asarray(keypoints, np.float64)
    if len(keypoints) == 0:
        return []
    areas = np.asarray(areas, np.float64)
    order = np.argsort(np.asarray(scores, np.float64))[::-1]
    current = np.asarray(scores, np.float64)[order]
    keep = []
    while order.size > 0 and len(keep) < max_detections:
        best = order[0]
        keep.append(int(best))
        overlap = oks_overlaps(keypoints[best], keypoints[order[1:]], areas[best],
                               areas[order[1:]], sigmas)
        order, current = order[1:], current[1:] * np.exp(-(overlap**2) / threshold)
        resort = np.argsort(current)[::-1]
        order, current = order[resort], current[resort]
    return keep


def rescore(keypoints, box_scores, in_vis_threshold=0.2):
    """Instance score = box score x mean of the joint maxvals above ``in_vis_threshold``
    (0 when none is above; the official code then keeps the box score times 0)."""
    maxvals = np.asarray(keypoints)[..., 2]
    above = maxvals > in_vis_threshold
    count = above.sum(axis=1)
    mean = np.where(count > 0, (maxvals * above).sum(axis=1) / np.maximum(count, 1), 0.0)
    return mean * np.asarray(box_scores)


def select_results(keypoints, image_ids, box_scores, scales, keypoint_set=COCO,
                   in_vis_threshold=0.2, oks_threshold=0.9, use_nms=True, soft_nms=False):
    """Rescoring + per-image OKS-NMS (soft-OKS-NMS with ``soft_nms``); returns the COCO results
    list (not yet written).

    Args:
      keypoints: [N, J, 3] (x, y, maxval) in image pixels (``PoseCodec.decode``).
      image_ids: [N]; box_scores: [N]; scales: [N, 2] crop scales (area = prod(scale * 200)).
    """
    nms = soft_oks_nms if soft_nms else oks_nms
    keypoints = np.asarray(keypoints, np.float32)
    scores = rescore(keypoints, box_scores, in_vis_threshold)
    areas = np.prod(np.asarray(scales, np.float64) * PIXEL_STD, axis=1)
    by_image = defaultdict(list)
    for i, image_id in enumerate(np.asarray(image_ids)):
        by_image[int(image_id)].append(i)
    results = []
    for image_id in sorted(by_image):
        rows = np.asarray(by_image[image_id])
        keep = (nms(keypoints[rows], scores[rows], areas[rows], oks_threshold,
                    keypoint_set.sigmas) if use_nms else range(len(rows)))
        kept = rows[list(keep)] if len(keep) else rows
        for i in kept:
            results.append({
                "image_id": image_id,
                "category_id": 1,
                "keypoints": [round(float(v), 3) for v in keypoints[i].reshape(-1)],
                "score": float(scores[i]),
            })
    return results


def write_results(results, path):
    """Writes a COCO keypoint results json (the official ``keypoints_*_results_0.json``)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(results, f)
    return path


def coco_keypoint_eval(annotation_file_or_api, results, sigmas=None, verbose=False):
    """pycocotools COCOeval on keypoints; returns the ten stats as a dict (``STAT_NAMES``).

    ``results`` is a results list or json path; ``sigmas`` overrides the COCO OKS sigmas for
    custom keypoint sets. An empty result list scores 0 everywhere.
    """
    from pycocotools.coco import COCO as CocoApi
    from pycocotools.cocoeval import COCOeval

    api = annotation_file_or_api
    if not isinstance(api, CocoApi):
        api = open_coco(api)
    if isinstance(results, (str, os.PathLike)):
        with open(results) as f:
            results = json.load(f)
    if not results:
        return dict.fromkeys(STAT_NAMES, 0.0)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        detections = api.loadRes(list(results))
        evaluator = COCOeval(api, detections, "keypoints")
        evaluator.params.useSegm = None
        if sigmas is not None:
            evaluator.params.kpt_oks_sigmas = np.asarray(sigmas, np.float64)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    if verbose:
        print(out.getvalue())
    return {name: float(v) for name, v in zip(STAT_NAMES, evaluator.stats, strict=True)}


HEAD_SIZE_FACTOR = 0.6  # official SC_BIAS
MPII_GROUPS = {  # name -> (left, right) joint ids of MPII_JOINT_NAMES
    "Shoulder": (13, 12), "Elbow": (14, 11), "Wrist": (15, 10), "Hip": (3, 2), "Knee": (4, 1),
    "Ankle": (5, 0),
}
HEAD = 9


def pckh(predictions, gt_joints, joint_missing, head_boxes, threshold=0.5):
    """PCKh per joint group, as the official code computes it.

    Args:
      predictions: [N, 16, 2] 0-based image coordinates (our decoder's output).
      gt_joints: [N, 16, 2] 1-based ground truth (``pos_gt_src`` transposed).
      joint_missing: [N, 16] 1 where the joint is not annotated (or the person not predicted).
      head_boxes: [N, 2, 2] head box corners ((x1, y1), (x2, y2)).
    Returns:
      {"Head", "Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle", "Mean", "Mean@0.1"} in %
      (the means exclude pelvis and thorax and weight joints by their annotated counts).
    """
    predictions = np.asarray(predictions, np.float64) + 1.0  # compare in 1-based coordinates
    visible = 1 - np.asarray(joint_missing, np.float64)
    errors = np.linalg.norm(predictions - np.asarray(gt_joints, np.float64), axis=2)
    head = np.asarray(head_boxes, np.float64)
    head_size = np.linalg.norm(head[:, 1] - head[:, 0], axis=1) * HEAD_SIZE_FACTOR
    scaled = errors / head_size[:, None]
    counts = visible.sum(axis=0)  # per joint

    def pck_at(t):
        hits = ((scaled <= t) * visible).sum(axis=0)
        return 100.0 * hits / np.maximum(counts, 1)

    per_joint = pck_at(threshold)
    used = np.ones(len(counts), bool)
    used[6:8] = False  # pelvis and thorax are not scored
    ratio = np.where(used, counts, 0) / max(counts[used].sum(), 1)
    out = {"Head": float(per_joint[HEAD])}
    for name, (left, right) in MPII_GROUPS.items():
        out[name] = float(0.5 * (per_joint[left] + per_joint[right]))
    out["Mean"] = float((per_joint * ratio).sum())
    # the official "Mean@0.1" reads row 11 of arange(0, 0.51, 0.01), i.e. threshold 0.11
    out["Mean@0.1"] = float((pck_at(np.arange(0, 0.5 + 0.01, 0.01)[11]) * ratio).sum())
    return out


__all__ = [
    "STAT_NAMES",
    "coco_keypoint_eval",
    "oks_nms",
    "oks_overlaps",
    "pckh",
    "rescore",
    "select_results",
    "soft_oks_nms",
    "write_results",
]
