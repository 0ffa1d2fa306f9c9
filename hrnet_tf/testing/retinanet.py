"""NumPy re-derivations of mmdetection v2's RetinaNet parts, loop by loop, for the tests.

Read from open-mmlab/mmdetection v2.x:

* ``mmdet/core/anchor/anchor_generator.py`` ``AnchorGenerator`` (``octave_base_scale``,
  ``scales_per_octave``, ``center_offset=0``): ``gen_single_level_base_anchors`` and
  ``single_level_grid_priors`` (shifts ``x * stride``, y-major, base anchors innermost);
* ``mmdet/core/bbox/assigners/max_iou_assigner.py`` ``MaxIoUAssigner.assign_wrt_overlaps``
  (``gt_max_assign_all=True``, ``match_low_quality=True``) on ``bbox_overlaps`` (no +1);
* ``mmdet/core/bbox/coder/delta_xywh_bbox_coder.py`` ``bbox2delta`` / ``delta2bbox``
  (``wh_ratio_clip=16 / 1000``, clipped to ``max_shape``);
* ``mmdet/models/dense_heads/anchor_head.py`` ``AnchorHead.loss_single`` / ``get_targets`` and
  ``_get_bboxes_single`` with ``mmdet/core/post_processing/bbox_nms.py`` ``multiclass_nms``.
"""

import math

import numpy as np

from hrnet_tf.testing.detection import level_rows, multiclass_nms


def mmdet_anchors(sizes, strides, octave_base_scale=4, scales_per_octave=3,
                  ratios=(0.5, 1.0, 2.0), truncate_sizes=False, round_half_sides=False):
    """All anchors [A, 4] (x1 y1 x2 y2) for levels of ``sizes`` [(h, w)]. ``truncate_sizes`` and
    ``round_half_sides`` give keras-hub's documented variant (integer sizes, rounded half sides)."""
    out = []
    for (h, w), stride in zip(sizes, strides, strict=True):
        base = []
        for ratio in ratios:
            h_ratio = math.sqrt(ratio)
            w_ratio = 1.0 / h_ratio
            for i in range(scales_per_octave):
                size = stride * octave_base_scale * 2 ** (i / scales_per_octave)
                if truncate_sizes:
                    size = float(int(size))
                half_w, half_h = 0.5 * size * w_ratio, 0.5 * size * h_ratio
                if round_half_sides:
                    half_w, half_h = float(np.round(half_w)), float(np.round(half_h))
                base.append((-half_w, -half_h, half_w, half_h))
        for y in range(h):
            for x in range(w):
                for b in base:
                    out.append((x * stride + b[0], y * stride + b[1],
                                x * stride + b[2], y * stride + b[3]))
    return np.asarray(out, np.float64)


def iou_matrix(a, b, eps=1e-6):
    """mmdet ``bbox_overlaps(a, b)`` [len(a), len(b)]."""
    out = np.zeros((len(a), len(b)))
    for i, p in enumerate(a):
        for j, q in enumerate(b):
            w = max(min(p[2], q[2]) - max(p[0], q[0]), 0.0)
            h = max(min(p[3], q[3]) - max(p[1], q[1]), 0.0)
            inter = w * h
            union = (p[2] - p[0]) * (p[3] - p[1]) + (q[2] - q[0]) * (q[3] - q[1]) - inter
            out[i, j] = inter / max(union, eps)
    return out


def max_iou_assign(anchors, gt_boxes, pos_iou_thr=0.5, neg_iou_thr=0.4, min_pos_iou=0.0):
    """``assigned_gt_inds`` [A]: 0 negative, -1 ignored, i + 1 for box i."""
    overlaps = iou_matrix(gt_boxes, anchors)  # [G, A]
    assigned = np.full(len(anchors), -1, np.int64)
    if len(gt_boxes) == 0:
        assigned[:] = 0
        return assigned
    max_overlaps, argmax = overlaps.max(0), overlaps.argmax(0)
    gt_max = overlaps.max(1)
    assigned[(max_overlaps >= 0) & (max_overlaps < neg_iou_thr)] = 0
    positive = max_overlaps >= pos_iou_thr
    assigned[positive] = argmax[positive] + 1
    for i in range(len(gt_boxes)):
        if gt_max[i] >= min_pos_iou:
            assigned[overlaps[i] == gt_max[i]] = i + 1
    return assigned


def bbox2delta(anchor, gt):
    px, py = (anchor[0] + anchor[2]) * 0.5, (anchor[1] + anchor[3]) * 0.5
    pw, ph = anchor[2] - anchor[0], anchor[3] - anchor[1]
    gx, gy = (gt[0] + gt[2]) * 0.5, (gt[1] + gt[3]) * 0.5
    gw, gh = gt[2] - gt[0], gt[3] - gt[1]
    return ((gx - px) / pw, (gy - py) / ph, math.log(gw / pw), math.log(gh / ph))


def delta2bbox(anchor, delta, max_shape=None, wh_ratio_clip=16 / 1000):
    max_ratio = abs(math.log(wh_ratio_clip))
    dx, dy = delta[0], delta[1]
    dw = min(max(delta[2], -max_ratio), max_ratio)
    dh = min(max(delta[3], -max_ratio), max_ratio)
    px, py = (anchor[0] + anchor[2]) * 0.5, (anchor[1] + anchor[3]) * 0.5
    pw, ph = anchor[2] - anchor[0], anchor[3] - anchor[1]
    gw, gh = pw * math.exp(dw), ph * math.exp(dh)
    gx, gy = px + pw * dx, py + ph * dy
    box = [gx - gw * 0.5, gy - gh * 0.5, gx + gw * 0.5, gy + gh * 0.5]
    if max_shape is not None:
        h, w = max_shape
        box = [min(max(box[0], 0), w), min(max(box[1], 0), h), min(max(box[2], 0), w),
               min(max(box[3], 0), h)]
    return box


def retinanet_targets(anchors, gt_boxes, gt_labels, **assigner):
    """(labels [A]: class, -1 background, -2 ignored; deltas [A, 4], 0 off the positives)."""
    assigned = max_iou_assign(anchors, gt_boxes, **assigner)
    labels = np.where(assigned == 0, -1, -2)
    deltas = np.zeros((len(anchors), 4))
    for a in np.flatnonzero(assigned > 0):
        labels[a] = gt_labels[assigned[a] - 1]
        deltas[a] = bbox2delta(anchors[a], gt_boxes[assigned[a] - 1])
    return labels, deltas


def retinanet_loss(logits, deltas, labels, bbox_targets, alpha=0.25, gamma=2.0):
    """(focal, L1) of a batch (loops over images, anchors, classes), mmdet's normaliser."""
    num_pos = sum(max(int((lab >= 0).sum()), 1) for lab in labels)
    focal = l1 = 0.0
    for b in range(len(labels)):
        for a in range(labels.shape[1]):
            if labels[b, a] == -2:
                continue
            for c in range(logits.shape[2]):
                t = 1.0 if labels[b, a] == c else 0.0
                p = 1 / (1 + math.exp(-logits[b, a, c]))
                pt = (1 - p) * t + p * (1 - t)
                bce = -(t * math.log(p) + (1 - t) * math.log(1 - p))
                focal += bce * (alpha * t + (1 - alpha) * (1 - t)) * pt ** gamma
            if labels[b, a] >= 0:
                l1 += float(np.abs(deltas[b, a] - bbox_targets[b, a]).sum())
    return focal / num_pos, l1 / num_pos


def retinanet_decode(logits, deltas, anchors, counts, image_shape, scale_factor, nms_pre=1000,
                     score_threshold=0.05, iou_threshold=0.5, max_per_image=100):
    """Detections (box, score, label) of one image, best first."""
    scores = 1 / (1 + np.exp(-logits.astype(np.float64)))
    candidates = []
    for rows in level_rows(counts, lambda i: scores[i].max(), nms_pre):
        for i in rows:
            box = delta2bbox(anchors[i], deltas[i], image_shape)
            box = (box[0] / scale_factor[0], box[1] / scale_factor[1], box[2] / scale_factor[0],
                   box[3] / scale_factor[1])
            for c in range(scores.shape[1]):
                if scores[i, c] > score_threshold:
                    candidates.append((box, scores[i, c], c))
    return multiclass_nms(candidates, scores.shape[1], iou_threshold, max_per_image)


__all__ = ["bbox2delta", "delta2bbox", "iou_matrix", "max_iou_assign", "mmdet_anchors",
           "retinanet_decode", "retinanet_loss", "retinanet_targets"]
