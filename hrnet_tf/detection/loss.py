"""The FCOS criterion: sigmoid focal loss, IoU (or GIoU) loss weighted by centerness, centerness BCE.

As open-mmlab/mmdetection v2 ``FCOSHead.loss`` (``mmdet/models/dense_heads/fcos_head.py``) with the
HRNet configs' losses (``configs/fcos/fcos_r50_caffe_fpn_gn-head_1x_coco.py``: ``FocalLoss(gamma=2,
alpha=0.25)``, ``IoULoss`` (``-log(IoU)``), ``CrossEntropyLoss(use_sigmoid=True)`` for centerness):

* focal loss summed over every point and class, divided by the number of positive points;
* box loss over the positives, each weighted by its centerness target, divided by the sum of those
  targets (IoU of the two boxes around the same point: translation invariant, so computed on the
  distances alone);
* centerness BCE over the positives, divided by the number of positives.

mmdet averages the positive counts over GPUs; here the normalisers are the replica's batch totals,
and each image's share is returned so that the trainer's ``sum / batch`` gives mmdet's loss.
"""

import tensorflow as tf

EPS = 1e-6  # mmdet IoULoss / bbox_overlaps eps


def sigmoid_focal(logits, targets, alpha=0.25, gamma=2.0):
    """mmdet ``py_sigmoid_focal_loss`` elementwise (no reduction)."""
    p = tf.sigmoid(logits)
    pt = (1 - p) * targets + p * (1 - targets)
    weight = (alpha * targets + (1 - alpha) * (1 - targets)) * tf.pow(pt, gamma)
    return tf.nn.sigmoid_cross_entropy_with_logits(labels=targets, logits=logits) * weight


def aligned_iou(pred, target, giou=False):
    """IoU (or GIoU) of the boxes given by distances (l, t, r, b) [..., 4] around one point."""
    pred_area = (pred[..., 0] + pred[..., 2]) * (pred[..., 1] + pred[..., 3])
    target_area = (target[..., 0] + target[..., 2]) * (target[..., 1] + target[..., 3])
    w = tf.maximum(tf.minimum(pred[..., 0], target[..., 0]) + tf.minimum(pred[..., 2], target[..., 2]),
                   0.0)
    h = tf.maximum(tf.minimum(pred[..., 1], target[..., 1]) + tf.minimum(pred[..., 3], target[..., 3]),
                   0.0)
    overlap = w * h
    union = tf.maximum(pred_area + target_area - overlap, EPS)
    iou = overlap / union
    if not giou:
        return iou
    ew = tf.maximum(pred[..., 0], target[..., 0]) + tf.maximum(pred[..., 2], target[..., 2])
    eh = tf.maximum(pred[..., 1], target[..., 1]) + tf.maximum(pred[..., 3], target[..., 3])
    enclose = tf.maximum(ew * eh, EPS)
    return iou - (enclose - union) / enclose


class FCOSLoss:
    """``criterion(targets, outputs, sample_weight) -> [batch]``; ``metrics`` gives the three
    terms the same way. ``bbox_loss``: "iou" (``-log IoU``, the HRNet configs) or "giou"."""

    def __init__(self, num_classes, alpha=0.25, gamma=2.0, bbox_loss="iou", loss_weights=(1, 1, 1)):
        self.num_classes = int(num_classes)
        self.alpha, self.gamma = float(alpha), float(gamma)
        if bbox_loss not in ("iou", "giou"):
            raise ValueError(f"bbox_loss must be 'iou' or 'giou', got {bbox_loss!r}")
        self.bbox_loss = bbox_loss
        self.loss_weights = tuple(float(w) for w in loss_weights)

    def terms(self, targets, outputs):
        """Per-image (focal, box, centerness) shares [B] of the batch loss, times the batch."""
        outputs = tf.cast(outputs, tf.float32)
        c = self.num_classes
        labels = tf.cast(targets["labels"], tf.int32)
        positive = labels < c
        posf = tf.cast(positive, tf.float32)
        batch = tf.cast(tf.shape(labels)[0], tf.float32)
        num_pos = tf.maximum(tf.reduce_sum(posf), 1.0)
        one_hot = tf.one_hot(labels, c + 1)[..., :c]
        focal = tf.reduce_sum(sigmoid_focal(outputs[..., :c], one_hot, self.alpha, self.gamma),
                              [1, 2])
        center_t = tf.cast(targets["centerness"], tf.float32) * posf
        iou = aligned_iou(outputs[..., c:c + 4], tf.cast(targets["bbox"], tf.float32),
                          giou=self.bbox_loss == "giou")
        if self.bbox_loss == "iou":
            box = -tf.math.log(tf.maximum(iou, EPS))
        else:
            box = 1.0 - iou
        denorm = tf.maximum(tf.reduce_sum(center_t), EPS)
        box = tf.reduce_sum(box * center_t, 1)
        bce = tf.nn.sigmoid_cross_entropy_with_logits(labels=center_t, logits=outputs[..., c + 4])
        center = tf.reduce_sum(bce * posf, 1)
        return focal * batch / num_pos, box * batch / denorm, center * batch / num_pos

    def __call__(self, targets, outputs, sample_weight=None):
        focal, box, center = self.terms(targets, outputs)
        wc, wb, wz = self.loss_weights
        return wc * focal + wb * box + wz * center

    def metrics(self, targets, outputs, sample_weight=None):
        focal, box, center = self.terms(targets, outputs)
        return {"loss_cls": focal, "loss_bbox": box, "loss_centerness": center}


class RetinaNetLoss:
    """The RetinaNet criterion (mmdet v2 ``AnchorHead.loss`` with ``RetinaHead``'s
    ``FocalLoss(gamma=2, alpha=0.25)`` and ``L1Loss``, ``mmdet/models/dense_heads/anchor_head.py``):
    focal loss over every anchor and class but the ignored anchors (label -2), L1 on the deltas
    of the positives, both divided by ``num_total_pos = sum(max(positives of an image, 1))``
    (``get_targets``; sampling off). Targets of :meth:`hrnet_tf.detection.retinanet.
    RetinaNetCoder.encode`; outputs ``[B, A, C + 4]``. keras-hub's ``compile`` instead averages
    the focal loss over the classes and uses Huber (see :mod:`hrnet_tf.models.retinanet`)."""

    def __init__(self, num_classes, alpha=0.25, gamma=2.0, loss_weights=(1, 1)):
        self.num_classes = int(num_classes)
        self.alpha, self.gamma = float(alpha), float(gamma)
        self.loss_weights = tuple(float(w) for w in loss_weights)

    def terms(self, targets, outputs):
        """Per-image (focal, L1) shares [B] of the batch loss, times the batch."""
        outputs = tf.cast(outputs, tf.float32)
        c = self.num_classes
        labels = tf.cast(targets["labels"], tf.int32)
        positive = labels >= 0
        posf = tf.cast(positive, tf.float32)
        batch = tf.cast(tf.shape(labels)[0], tf.float32)
        num_pos = tf.reduce_sum(tf.maximum(tf.reduce_sum(posf, 1), 1.0))
        one_hot = tf.one_hot(tf.where(positive, labels, c), c + 1)[..., :c]
        counted = tf.cast(labels >= -1, tf.float32)[..., None]
        focal = tf.reduce_sum(sigmoid_focal(outputs[..., :c], one_hot, self.alpha, self.gamma)
                              * counted, [1, 2])
        bbox = tf.where(positive[..., None], tf.cast(targets["bbox"], tf.float32), 0.0)
        l1 = tf.reduce_sum(tf.abs(outputs[..., c:c + 4] - bbox) * posf[..., None], [1, 2])
        return focal * batch / num_pos, l1 * batch / num_pos

    def __call__(self, targets, outputs, sample_weight=None):
        focal, l1 = self.terms(targets, outputs)
        return self.loss_weights[0] * focal + self.loss_weights[1] * l1

    def metrics(self, targets, outputs, sample_weight=None):
        focal, l1 = self.terms(targets, outputs)
        return {"loss_cls": focal, "loss_bbox": l1}


__all__ = ["FCOSLoss", "RetinaNetLoss", "aligned_iou", "sigmoid_focal"]
