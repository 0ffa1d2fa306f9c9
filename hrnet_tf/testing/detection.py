"""mmdetection's FCOS formulas re-derived in NumPy, point by point, for the detection tests.

From open-mmlab/mmdetection v2 ``mmdet/models/dense_heads/fcos_head.py`` (``_get_target_single``,
``centerness_target``, ``loss``, ``_get_bboxes_single``), ``mmdet/models/losses/focal_loss.py``
(``py_sigmoid_focal_loss``), ``iou_loss.py`` (``iou_loss``, ``giou_loss``) and mmcv
``multiclass_nms`` / ``batched_nms`` (greedy NMS per class, IoU without the +1 offset). Written with
plain loops, independently of the vectorised TF code in :mod:`hrnet_tf.detection`.
"""

import math

import numpy as np


def fcos_points(sizes, strides):
    out = []
    for (h, w), s in zip(sizes, strides, strict=True):
        for y in range(h):
            for x in range(w):
                out.append((x * s + s // 2, y * s + s // 2, s))
    return np.asarray(out, np.float64)


def fcos_targets(points, ranges, boxes, labels, num_classes, center_sampling=False, radius=1.5):
    """Per point: label (num_classes = background), (l, t, r, b), centerness."""
    n = len(points)
    out_labels = np.full(n, num_classes, np.int64)
    out_bbox = np.zeros((n, 4))
    out_center = np.zeros(n)
    for p, (px, py, stride) in enumerate(points):
        best, best_area = None, math.inf
        for g, (x1, y1, x2, y2) in enumerate(boxes):
            d = (px - x1, py - y1, x2 - px, y2 - py)
            if center_sampling:
                cx, cy, r = (x1 + x2) / 2, (y1 + y2) / 2, stride * radius
                region = (max(cx - r, x1), max(cy - r, y1), min(cx + r, x2), min(cy + r, y2))
                inside = min(px - region[0], py - region[1], region[2] - px, region[3] - py) > 0
            else:
                inside = min(d) > 0
            lo, hi = ranges[p]
            if not (inside and lo <= max(d) <= hi):
                continue
            area = (x2 - x1) * (y2 - y1)
            if area < best_area:
                best, best_area = g, area
        if best is None:
            continue
        x1, y1, x2, y2 = boxes[best]
        d = np.array([px - x1, py - y1, x2 - px, y2 - py])
        out_labels[p] = labels[best]
        out_bbox[p] = d
        out_center[p] = math.sqrt(min(d[0], d[2]) / max(d[0], d[2])
                                  * min(d[1], d[3]) / max(d[1], d[3]))
    return out_labels, out_bbox, out_center


def _box(point, d):
    return (point[0] - d[0], point[1] - d[1], point[0] + d[2], point[1] + d[3])


def _iou(a, b, giou=False, eps=1e-6):
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    iou = inter / max(union, eps)
    if not giou:
        return iou
    ew = max(a[2], b[2]) - min(a[0], b[0])
    eh = max(a[3], b[3]) - min(a[1], b[1])
    enclose = max(ew * eh, eps)
    return iou - (enclose - union) / enclose


def fcos_loss(points, cls_logits, distances, centerness_logits, labels, bbox_targets,
              centerness_targets, num_classes, alpha=0.25, gamma=2.0, bbox_loss="iou"):
    """(focal, box, centerness) losses of one batch flattened to points, as mmdet's FCOSHead.loss
    on one GPU: focal summed / num_pos; box weighted by the centerness targets / their sum;
    centerness BCE / num_pos."""
    pos = [i for i in range(len(labels)) if labels[i] < num_classes]
    num_pos = max(len(pos), 1.0)
    focal = 0.0
    for i in range(len(labels)):
        for c in range(num_classes):
            t = 1.0 if labels[i] == c else 0.0
            x = cls_logits[i, c]
            p = 1 / (1 + math.exp(-x))
            bce = max(x, 0) - x * t + math.log1p(math.exp(-abs(x)))
            pt = (1 - p) * t + p * (1 - t)
            focal += bce * (alpha * t + (1 - alpha) * (1 - t)) * pt**gamma
    box = center = 0.0
    weight = sum(centerness_targets[i] for i in pos)
    for i in pos:
        iou = _iou(_box(points[i], distances[i]), _box(points[i], bbox_targets[i]),
                   giou=bbox_loss == "giou")
        value = -math.log(max(iou, 1e-6)) if bbox_loss == "iou" else 1 - iou
        box += value * centerness_targets[i]
        x, t = centerness_logits[i], centerness_targets[i]
        center += max(x, 0) - x * t + math.log1p(math.exp(-abs(x)))
    return focal / num_pos, (box / max(weight, 1e-6) if pos else 0.0), center / num_pos


def _nms(boxes, scores, iou_threshold):
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    keep = []
    for i in order:
        if all(_iou(boxes[i], boxes[j]) <= iou_threshold for j in keep):
            keep.append(i)
    return keep


def level_rows(counts, rank, nms_pre):
    """Per level (``counts`` rows each, in order) the rows mmdet keeps: all, or the ``nms_pre``
    of highest ``rank(row)``."""
    start = 0
    for n in counts:
        rows = list(range(start, start + n))
        start += n
        if 0 < nms_pre < n:
            ranks = [rank(i) for i in rows]
            rows = [rows[j] for j in np.argsort(ranks, kind="stable")[::-1][:nms_pre]]
        yield rows


def fcos_decode(outputs, points, counts, num_classes, image_shape, scale_factor, nms_pre=1000,
                score_threshold=0.05, iou_threshold=0.5, max_per_image=100):
    """Detections (box x1 y1 x2 y2, score, label) of one image, best first."""
    sig = 1 / (1 + np.exp(-outputs.astype(np.float64)))
    candidates = []
    for rows in level_rows(counts, lambda i: max(sig[i, :num_classes] * sig[i, num_classes + 4]),
                           nms_pre):
        h, w = image_shape
        for i in rows:
            x1, y1, x2, y2 = _box(points[i], outputs[i, num_classes:num_classes + 4])
            box = (min(max(x1, 0), w), min(max(y1, 0), h), min(max(x2, 0), w), min(max(y2, 0), h))
            box = (box[0] / scale_factor[0], box[1] / scale_factor[1],
                   box[2] / scale_factor[0], box[3] / scale_factor[1])
            for c in range(num_classes):
                if sig[i, c] > score_threshold:
                    candidates.append((box, sig[i, c] * sig[i, num_classes + 4], c))
    return multiclass_nms(candidates, num_classes, iou_threshold, max_per_image)


def multiclass_nms(candidates, num_classes, iou_threshold, max_per_image):
    """mmcv ``multiclass_nms`` of (box, score, class) candidates: NMS per class, the best."""
    kept = []
    for c in range(num_classes):
        mine = [d for d in candidates if d[2] == c]
        kept += [mine[i] for i in _nms([d[0] for d in mine], [d[1] for d in mine],
                                       iou_threshold)]
    kept.sort(key=lambda d: -d[1])
    return kept[:max_per_image]
