"""RetinaNet targets <-> outputs for the detection task: keras-hub's anchors and label encoder, mmdet's
decoding (the same code as the keras-hub detector's ``predict``).

The coder of an :func:`hrnet_tf.HRNetRetinaNet` (output ``[B, anchors, C + 4]``: class logits,
then ``center_xywh`` deltas), with the interface of :class:`hrnet_tf.detection.codec.FCOSCoder`, so
the pipeline, the evaluator, ``predict`` and the SavedModel ``detect`` signature run it unchanged:

* anchors: keras-hub ``AnchorGenerator`` (mmdet ``octave_base_scale=4``, ``scales_per_octave=3``,
  ratios 0.5/1/2, strides 8-128, centred on ``(x * stride, y * stride)`` as mmdet v2's
  ``center_offset=0``). **Difference from mmdet**: keras-hub truncates each anchor size to an
  integer (``int(2**l * 4 * 2**(s / 3))``: 40 for 40.32) and rounds the half sides
  (``round(w / 2)``), mmdet v2 keeps them exact: anchor corners differ by under 1 px;
* targets (:meth:`RetinaNetCoder.encode`): keras-hub ``RetinaNetLabelEncoder`` with mmdet's
  ``MaxIoUAssigner(pos_iou_thr=0.5, neg_iou_thr=0.4, min_pos_iou=0)`` (low-quality matches by
  :class:`hrnet_tf.models.retinanet_layers.LowQualityMatcher`) and ``DeltaXYWHBBoxCoder`` deltas
  (means 0, stds 1; keras-hub's ``box_variance`` 1): ``labels`` [A] int32 (class, -1 background,
  -2 ignored), ``bbox`` [A, 4] (0 off the positives);
* decoding (:meth:`RetinaNetCoder.decode`): mmdet ``AnchorHead._get_bboxes_single`` +
  ``multiclass_nms`` (:func:`hrnet_tf.models.retinanet_layers.decode`), boxes divided by the
  resize factors.
"""

from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf

_COMPILED = {}  # (coder, input size) -> its traced decode


@dataclass(frozen=True)
class RetinaNetCoder:
    """RetinaNet assignment and decoding settings (mmdet ``retinanet_r50_fpn.py`` train/test cfg)."""

    num_classes: int
    anchors: dict = field(default_factory=dict)  # overrides of retinanet_layers.ANCHORS
    pos_iou_threshold: float = 0.5
    neg_iou_threshold: float = 0.4
    low_quality_matches: bool = True
    nms_pre: int = 1000
    score_threshold: float = 0.05
    iou_threshold: float = 0.5
    max_per_image: int = 100

    def generator(self):
        from hrnet_tf.models.retinanet_layers import anchor_generator

        return anchor_generator(self.anchors or None)

    def anchor_boxes(self, height, width):
        """(anchors [A, 4] float32 x1 y1 x2 y2 in input pixels, anchors per level)."""
        with tf.init_scope():  # eager, also while tf.data or tf.function traces
            levels = self.generator()(np.zeros((int(height), int(width), 1), np.float32))
            arrays = [np.asarray(v) for v in levels.values()]
        return np.concatenate(arrays).astype(np.float32), [len(a) for a in arrays]

    def encode(self, boxes, labels, height, width):
        """Targets of one image: boxes [G, 4] (x1, y1, x2, y2 in input pixels), labels [G] (rows
        with label < 0 are padding) -> {"labels" [A] int32, "bbox" [A, 4]}."""
        from hrnet_tf.models.retinanet_layers import label_encoder

        anchors, _ = self.anchor_boxes(height, width)
        encoder = label_encoder(self.generator(), self.pos_iou_threshold, self.neg_iou_threshold,
                                self.low_quality_matches)
        boxes = tf.cast(tf.reshape(boxes, [-1, 4]), tf.float32)
        labels = tf.cast(tf.reshape(labels, [-1]), tf.float32)
        # padding rows: an empty box (IoU 0 with every anchor) of class -1 (background)
        padding = labels < 0
        boxes = tf.where(padding[:, None], 0.0, boxes)
        # RetinaNetLabelEncoder.call without its anchor generation per call
        deltas, classes = encoder._encode_sample(boxes[None], labels[None, :, None],
                                                 tf.constant(anchors), int(height), int(width), 3)
        classes = tf.cast(classes[0], tf.int32)
        bbox = tf.where((classes >= 0)[:, None], deltas[0], 0.0)
        return {"labels": classes, "bbox": bbox}

    def decode(self, outputs, input_size, image_shape, scale_factor, compiled=True):
        """Detections of a batch, as :meth:`hrnet_tf.detection.codec.FCOSCoder.decode`:
        (boxes [B, K, 4] x1 y1 x2 y2 in original pixels, scores [B, K], labels [B, K] int32,
        valid [B]). Called eagerly (evaluation, predict) it runs as one traced function
        (``compiled``; keras-hub's NMS loop is slow op by op: ~1 s for a batch of 2 on CPU)."""
        size = (int(input_size[0]), int(input_size[1]))
        if compiled and not tf.inside_function():
            key = (repr(self), size)
            if key not in _COMPILED:
                _COMPILED[key] = tf.function(
                    lambda o, s, f: self._decode(o, size, s, f), reduce_retracing=True)
            return _COMPILED[key](tf.cast(outputs, tf.float32), tf.cast(image_shape, tf.float32),
                                  tf.cast(scale_factor, tf.float32))
        return self._decode(outputs, size, image_shape, scale_factor)

    def _decode(self, outputs, input_size, image_shape, scale_factor):
        from hrnet_tf.models.retinanet_layers import decode

        anchors, counts = self.anchor_boxes(int(input_size[0]), int(input_size[1]))
        return decode(tf.constant(anchors), counts, tf.cast(outputs, tf.float32),
                      self.num_classes, tf.cast(image_shape, tf.float32), scale_factor,
                      self.nms_pre, self.score_threshold, self.iou_threshold, self.max_per_image)


def coder_from_head(num_classes, head, anchors=None):
    """The coder of the ``head`` config section (a dict: the training config's, or what a model
    records in ``info.labels["head"]``)."""
    head = head or {}
    return RetinaNetCoder(
        num_classes=int(num_classes), anchors=dict(anchors or {}),
        pos_iou_threshold=float(head.get("pos_iou_threshold", 0.5)),
        neg_iou_threshold=float(head.get("neg_iou_threshold", 0.4)),
        low_quality_matches=bool(head.get("low_quality_matches", True)),
        nms_pre=int(head.get("nms_pre", 1000)),
        score_threshold=float(head.get("score_threshold", 0.05)),
        iou_threshold=float(head.get("iou_threshold", 0.5)),
        max_per_image=int(head.get("max_per_image", 100)))


__all__ = ["RetinaNetCoder", "coder_from_head"]
