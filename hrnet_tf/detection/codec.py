"""FCOS targets <-> outputs: points, target assignment, box decoding with per-class NMS.

Read from open-mmlab/mmdetection v2 ``mmdet/models/dense_heads/fcos_head.py``:

* points (``_get_points_single``): ``(x * stride + stride // 2, y * stride + stride // 2)`` for every
  cell of every level, levels in order, each row-major (as the head's output is flattened);
* targets (``get_targets`` / ``_get_target_single``): the distances (left, top, right, bottom) from
  each point to each box; a point is inside a box (or, with ``center_sampling``, inside the box's
  centre region of ``radius * stride``, clipped to the box); its largest distance must lie in the
  level's ``regress_range``; among the boxes left the one of smallest area wins, else background
  (label ``num_classes``); centerness ``sqrt(min(l, r) / max(l, r) * min(t, b) / max(t, b))``
  (``centerness_target``);
* decoding (``_get_bboxes_single`` + mmcv ``multiclass_nms``): per level the ``nms_pre`` points of
  highest ``max(sigmoid(cls) * sigmoid(centerness))``, boxes ``distance2bbox`` clipped to the resized
  image, divided by the resize factors (``rescale=True``), classes scoring ``> score_thr`` kept with
  score ``sigmoid(cls) * sigmoid(centerness)``, per-class NMS at ``iou_threshold`` (IoU without the
  +1 offset), the ``max_per_img`` best.

Everything is TF ops (batched), so the evaluator, ``predict`` and the exported ``detect`` signature
run the same code. :mod:`hrnet_tf.testing.detection` re-derives both in NumPy for the tests.
"""

from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf

INF = 1e8
# combined_non_max_suppression drops scores at or below this; masked scores are 0.
MIN_SCORE = 1e-12
# mmdet FCOSHead(regress_ranges=...), for strides 8..128.
REGRESS_RANGES = ((-1.0, 64.0), (64.0, 128.0), (128.0, 256.0), (256.0, 512.0), (512.0, INF))


def level_sizes(height, width, fpn_stride=2, num_levels=5):
    """(h, w) of each pyramid level of HRNetV2p for an input of ``height x width`` (multiples of 32):
    the stride-4 concat, floor-pooled by 2**i, then (stride 2) a 3x3 stride-2 conv with padding 1.

    >>> level_sizes(800, 1344)
    [(100, 168), (50, 84), (25, 42), (13, 21), (6, 11)]
    """
    sizes = []
    for i in range(num_levels):
        h, w = height // 4 // 2**i, width // 4 // 2**i
        if fpn_stride == 2:
            h, w = (h + 1) // 2, (w + 1) // 2
        sizes.append((h, w))
    return sizes


def level_strides(fpn_stride=2, num_levels=5):
    first = 2 if fpn_stride == 1 else 3
    return [2 ** (first + i) for i in range(num_levels)]


def points(height, width, strides, fpn_stride=2):
    """(points [P, 2] float32 (x, y), stride of each point [P], points per level) for an input."""
    xy, per_point, counts = [], [], []
    for (h, w), stride in zip(level_sizes(height, width, fpn_stride, len(strides)), strides,
                              strict=True):
        ys, xs = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
        grid = np.stack([xs.reshape(-1), ys.reshape(-1)], -1) * stride + stride // 2
        xy.append(grid)
        per_point.append(np.full(h * w, stride))
        counts.append(h * w)
    return (np.concatenate(xy).astype(np.float32), np.concatenate(per_point).astype(np.float32),
            counts)


@dataclass(frozen=True)
class FCOSCoder:
    """The FCOS assignment and decoding settings (mmdet ``FCOSHead`` and ``test_cfg``)."""

    num_classes: int
    strides: tuple = (8, 16, 32, 64, 128)
    fpn_stride: int = 2
    regress_ranges: tuple = REGRESS_RANGES
    center_sampling: bool = False
    center_sample_radius: float = 1.5
    nms_pre: int = 1000
    score_threshold: float = 0.05
    iou_threshold: float = 0.5
    max_per_image: int = 100
    extra: dict = field(default_factory=dict)

    # -- targets ---------------------------------------------------------------------------------
    def ranges(self, counts):
        return np.concatenate([np.tile(np.asarray(r, np.float32), (n, 1))
                               for r, n in zip(self.regress_ranges, counts, strict=True)])

    def encode(self, boxes, labels, height, width):
        """Targets of one image: boxes [G, 4] (x1, y1, x2, y2 in input pixels), labels [G] int
        (rows with label < 0 are padding) -> {"labels" [P] int32 (num_classes = background),
        "bbox" [P, 4] distances, "centerness" [P]} (``_get_target_single``)."""
        xy, stride, counts = points(height, width, self.strides, self.fpn_stride)
        ranges = tf.constant(self.ranges(counts))
        xy, stride = tf.constant(xy), tf.constant(stride)
        boxes = tf.cast(tf.reshape(boxes, [-1, 4]), tf.float32)
        labels = tf.cast(tf.reshape(labels, [-1]), tf.int32)
        valid = labels >= 0
        xs, ys = xy[:, 0:1], xy[:, 1:2]  # [P, 1]
        x1, y1, x2, y2 = (boxes[None, :, i] for i in range(4))  # [1, G]
        distances = tf.stack([xs - x1, ys - y1, x2 - xs, y2 - ys], -1)  # [P, G, 4]
        if self.center_sampling:
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
            radius = stride[:, None] * self.center_sample_radius
            cx1, cy1 = tf.maximum(cx - radius, x1), tf.maximum(cy - radius, y1)
            cx2, cy2 = tf.minimum(cx + radius, x2), tf.minimum(cy + radius, y2)
            center = tf.stack([xs - cx1, ys - cy1, cx2 - xs, cy2 - ys], -1)
            inside = tf.reduce_min(center, -1) > 0
        else:
            inside = tf.reduce_min(distances, -1) > 0
        largest = tf.reduce_max(distances, -1)
        in_range = (largest >= ranges[:, 0:1]) & (largest <= ranges[:, 1:2])
        areas = (x2 - x1) * (y2 - y1)
        areas = tf.broadcast_to(areas, tf.shape(largest))
        usable = inside & in_range & valid[None, :]
        areas = tf.where(usable, areas, INF)
        num_points = tf.shape(xy)[0]
        has_boxes = tf.shape(boxes)[0] > 0
        areas = tf.cond(has_boxes, lambda: areas, lambda: tf.fill([num_points, 1], INF))
        best = tf.argmin(areas, axis=1, output_type=tf.int32)
        best_area = tf.reduce_min(areas, axis=1)
        safe_labels = tf.concat([labels, [self.num_classes]], 0)
        target_labels = tf.gather(safe_labels, tf.where(has_boxes, best, tf.shape(labels)[0]))
        target_labels = tf.where(best_area >= INF, self.num_classes, target_labels)
        padded = tf.concat([distances, tf.zeros([num_points, 1, 4])], 1)
        bbox = tf.gather(padded, tf.where(has_boxes, best, tf.shape(boxes)[0]), batch_dims=1)
        bbox = tf.where((target_labels < self.num_classes)[:, None], bbox, 0.0)  # background: 0
        return {"labels": target_labels, "bbox": bbox, "centerness": centerness_target(bbox)}

    # -- decoding --------------------------------------------------------------------------------
    def decode(self, outputs, input_size, image_shape, scale_factor):
        """Detections of a batch: ``outputs`` [B, P, C + 5] (model output for inputs of
        ``input_size`` (h, w), static), ``image_shape`` [B, 2] (h, w of the resized image before
        padding), ``scale_factor`` [B, 2] (w, h resize factors) -> (boxes [B, K, 4] x1 y1 x2 y2 in
        original pixels, scores [B, K], labels [B, K] int32, valid [B]), K = ``max_per_image``."""
        outputs = tf.cast(outputs, tf.float32)
        c = self.num_classes
        xy, _, counts = points(int(input_size[0]), int(input_size[1]), self.strides,
                               self.fpn_stride)
        all_boxes, all_scores = [], []
        start = 0
        for n in counts:
            level = outputs[:, start:start + n]
            level_xy = tf.constant(xy[start:start + n])[None]  # [1, n, 2]
            start += n
            scores = tf.sigmoid(level[..., :c])
            centerness = tf.sigmoid(level[..., c + 4])
            distances = level[..., c:c + 4]
            if 0 < self.nms_pre < n:
                ranking = tf.reduce_max(scores * centerness[..., None], -1)
                _, keep = tf.math.top_k(ranking, self.nms_pre)
                scores = tf.gather(scores, keep, batch_dims=1)
                centerness = tf.gather(centerness, keep, batch_dims=1)
                distances = tf.gather(distances, keep, batch_dims=1)
                level_xy = tf.gather(level_xy[0], keep)  # [B, nms_pre, 2]
            all_boxes.append(distance_to_box(level_xy, distances, image_shape))
            all_scores.append(tf.where(scores > self.score_threshold,
                                       scores * centerness[..., None], 0.0))
        boxes = tf.concat(all_boxes, 1)
        scores = tf.concat(all_scores, 1)
        factor = tf.tile(tf.cast(scale_factor, tf.float32), [1, 2])[:, None, :]
        boxes = boxes / factor
        k = self.max_per_image
        nmsed_boxes, nmsed_scores, nmsed_classes, valid = tf.image.combined_non_max_suppression(
            boxes[:, :, None, :], scores, max_output_size_per_class=k, max_total_size=k,
            iou_threshold=self.iou_threshold, score_threshold=MIN_SCORE, pad_per_class=False,
            clip_boxes=False)
        return nmsed_boxes, nmsed_scores, tf.cast(nmsed_classes, tf.int32), valid


def distance_to_box(xy, distances, image_shape=None):
    """mmdet ``distance2bbox``: points [.., 2] and (l, t, r, b) -> (x1, y1, x2, y2), clipped to
    ``image_shape`` [B, 2] (h, w) when given."""
    x1 = xy[..., 0] - distances[..., 0]
    y1 = xy[..., 1] - distances[..., 1]
    x2 = xy[..., 0] + distances[..., 2]
    y2 = xy[..., 1] + distances[..., 3]
    if image_shape is not None:
        h = tf.cast(image_shape[:, 0:1], tf.float32)
        w = tf.cast(image_shape[:, 1:2], tf.float32)
        x1, x2 = tf.clip_by_value(x1, 0.0, w), tf.clip_by_value(x2, 0.0, w)
        y1, y2 = tf.clip_by_value(y1, 0.0, h), tf.clip_by_value(y2, 0.0, h)
    return tf.stack([x1, y1, x2, y2], -1)


def centerness_target(bbox):
    """mmdet ``FCOSHead.centerness_target`` of distances [..., 4] (0 where a side is not > 0)."""
    lr = tf.stack([bbox[..., 0], bbox[..., 2]], -1)
    tb = tf.stack([bbox[..., 1], bbox[..., 3]], -1)
    ratio = (tf.math.divide_no_nan(tf.reduce_min(lr, -1), tf.reduce_max(lr, -1))
             * tf.math.divide_no_nan(tf.reduce_min(tb, -1), tf.reduce_max(tb, -1)))
    return tf.sqrt(tf.maximum(ratio, 0.0))


def coder_for_model(model):
    """The decoder a trained detector records in ``model.info.labels`` (``num_classes``,
    ``strides``, and the ``head`` section of its training config): FCOS, or RetinaNet
    (:class:`hrnet_tf.detection.retinanet.RetinaNetCoder`) for an ``HRNetRetinaNet``."""
    labels = model.info.labels or {}
    head = labels.get("head") or {}
    if model.info.architecture == "HRNetRetinaNet":
        from hrnet_tf.detection.retinanet import coder_from_head

        return coder_from_head(labels["num_classes"], head, labels.get("anchors"))
    return FCOSCoder(
        num_classes=int(labels.get("num_classes", model.outputs[0].shape[-1] - 5)),
        strides=tuple(labels.get("strides", (8, 16, 32, 64, 128))),
        nms_pre=int(head.get("nms_pre", 1000)),
        score_threshold=float(head.get("score_threshold", 0.05)),
        iou_threshold=float(head.get("iou_threshold", 0.5)),
        max_per_image=int(head.get("max_per_image", 100)))


def detect(forward, model, image):
    """Detections of one uint8 RGB image [H, W, 3] by ``forward`` (the model's call): the
    evaluation's resize into the model's input canvas (keep ratio, the recorded ``scale``), the
    model, :meth:`FCOSCoder.decode` -> (boxes [K, 4] x1 y1 x2 y2 in image pixels, scores [K],
    labels [K], number valid)."""
    from hrnet_tf.detection.pipeline import SCALE

    canvas = tuple(int(v) for v in model.inputs[0].shape[1:3])
    scale = tuple((model.info.labels or {}).get("scale", SCALE))
    return _detect(forward, coder_for_model(model), canvas, scale, model.info.normalization, image)


def _detect(forward, coder, canvas, scale, normalization, image):
    from hrnet_tf.detection.pipeline import prepare

    x, shape, factors = prepare(image, canvas, scale, normalization)
    boxes, scores, labels, valid = coder.decode(forward(x[None]), canvas, shape[None],
                                                factors[None])
    return boxes[0], scores[0], labels[0], valid[0]


# -- exported raw models (TFLite, ONNX: NMS outside the graph) ----------------------------------
def decoding_settings(model):
    """Everything :func:`detect_raw` needs besides the raw network, as plain JSON: the input
    canvas (h, w), the resize ``scale``, the normalization, the decoder (classes, strides, NMS
    settings) and the category names and COCO ids. The TFLite and ONNX exports of an FCOS model
    write it into their report (``decoding``)."""
    from hrnet_tf.detection.pipeline import SCALE

    labels = model.info.labels or {}
    coder = coder_for_model(model)
    num_classes = coder.num_classes
    norm = model.info.normalization
    return {
        "canvas": [int(v) for v in model.inputs[0].shape[1:3]],
        "scale": [int(v) for v in labels.get("scale", SCALE)],
        "normalization": {"mean": list(norm.mean), "std": list(norm.std),
                          "channel_order": norm.channel_order},
        "num_classes": num_classes,
        "strides": list(coder.strides),
        "fpn_stride": coder.fpn_stride,
        "nms_pre": coder.nms_pre,
        "score_threshold": coder.score_threshold,
        "iou_threshold": coder.iou_threshold,
        "max_per_image": coder.max_per_image,
        "category_names": list(labels.get("category_names") or map(str, range(num_classes))),
        "category_ids": [int(v) for v in labels.get("category_ids") or range(1, num_classes + 1)],
    }


def detect_raw(forward, settings, image):
    """Detections of one uint8 RGB image by an exported raw FCOS network: ``forward`` maps the
    normalized input [1, h, w, 3] (float32, the ``canvas``) to the raw output [1, points,
    classes + 5] (a TFLite interpreter or ONNX Runtime session); ``settings`` is the report's
    ``decoding`` (:func:`decoding_settings`). The same resize, decoding and per-class NMS as
    :func:`detect` -> (boxes [K, 4] x1 y1 x2 y2 in image pixels, scores [K], labels [K] (contiguous;
    ``category_ids[label]`` is the COCO id), number valid).

    Example:
        >>> from hrnet_tf.export.tflite import make_interpreter, run_tflite  # doctest: +SKIP
        >>> interpreter = make_interpreter("saved_models/det.tflite")  # doctest: +SKIP
        >>> detect_raw(lambda x: run_tflite(interpreter, x), settings, image)  # doctest: +SKIP
    """
    from hrnet_tf.data.normalization import Normalization

    coder = FCOSCoder(
        num_classes=int(settings["num_classes"]), strides=tuple(settings["strides"]),
        fpn_stride=int(settings["fpn_stride"]), nms_pre=int(settings["nms_pre"]),
        score_threshold=float(settings["score_threshold"]),
        iou_threshold=float(settings["iou_threshold"]),
        max_per_image=int(settings["max_per_image"]))
    canvas = tuple(int(v) for v in settings["canvas"])

    def run(x):
        return tf.constant(np.asarray(forward(np.asarray(x, np.float32)), np.float32))

    return _detect(run, coder, canvas, tuple(settings["scale"]),
                   Normalization(**settings["normalization"]), tf.constant(image))


def serve_detections(model, image):
    """The uint8 serving function of the SavedModel ``detect`` signature: ``image`` uint8
    [H, W, 3] (any size) -> ``boxes`` [K, 4] (x, y, w, h in image pixels), ``scores`` [K],
    ``labels`` int32 [K] (contiguous labels; -1 and score 0 past the detections found), NMS
    inside, K = ``max_per_image``; the same path as evaluation and ``predict``."""
    boxes, scores, labels, valid = detect(lambda x: model(x, training=False), model, image)
    keep = tf.range(tf.shape(scores)[0]) < valid
    xywh = tf.concat([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], -1)
    return {"boxes": tf.where(keep[:, None], xywh, 0.0), "scores": tf.where(keep, scores, 0.0),
            "labels": tf.where(keep, labels, -1)}
