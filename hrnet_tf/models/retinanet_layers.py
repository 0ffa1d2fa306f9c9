"""The keras-hub parts of RetinaNet on HRNetV2p (imports keras-hub; :mod:`hrnet_tf.models.retinanet`
has the constructors and the story): the backbone, the heads, the label encoder, mmdet's decoding
and the fixed ``RetinaNetObjectDetector``. Every class is registered for ``load_model``.
"""

import math

import keras
import keras_hub
from keras import ops
from keras_hub.src.layers.modeling.box_matcher import BoxMatcher
from keras_hub.src.layers.modeling.non_max_supression import non_max_suppression
from keras_hub.src.models.retinanet.prediction_head import PredictionHead
from keras_hub.src.models.retinanet.retinanet_label_encoder import RetinaNetLabelEncoder

from hrnet_tf.errors import ConfigError
from hrnet_tf.layers.resize import check_method
from hrnet_tf.models.backbone import hrnet_trunk
from hrnet_tf.models.heads import HRFPN
from hrnet_tf.models.specs import resolve_spec

# mmdet configs/_base_/models/retinanet_r50_fpn.py: anchor_generator octave_base_scale=4,
# scales_per_octave=3, ratios [0.5, 1.0, 2.0], strides [8, 16, 32, 64, 128]
ANCHORS = {"num_scales": 3, "aspect_ratios": [0.5, 1.0, 2.0], "anchor_size": 4.0}
MIN_LEVEL, MAX_LEVEL = 3, 7
# mmdet DeltaXYWHBBoxCoder(wh_ratio_clip=16 / 1000): |log| of the clip, the largest |dw|, |dh|
MAX_RATIO = abs(math.log(16 / 1000))
# test_cfg: nms_pre 1000, score_thr 0.05, nms iou 0.5, max_per_img 100
TEST = {"nms_pre": 1000, "score_threshold": 0.05, "iou_threshold": 0.5, "max_per_image": 100}


def prior_bias(probability=0.01):
    """mmcv ``bias_init_with_prob``: ``-log((1 - p) / p)`` (-log(99) for 0.01)."""
    return -math.log((1.0 - probability) / probability)


def num_anchors(anchors=None):
    a = {**ANCHORS, **(anchors or {})}
    return int(a["num_scales"]) * len(a["aspect_ratios"])


def anchor_generator(anchors=None, bounding_box_format="xyxy"):
    """keras-hub's ``AnchorGenerator`` for P3-P7 with mmdet's RetinaNet settings."""
    a = {**ANCHORS, **(anchors or {})}
    return keras_hub.layers.AnchorGenerator(
        bounding_box_format, min_level=MIN_LEVEL, max_level=MAX_LEVEL,
        num_scales=int(a["num_scales"]), aspect_ratios=[float(r) for r in a["aspect_ratios"]],
        anchor_size=float(a["anchor_size"]))


def check_image_size(height, width, where="image_shape"):
    """keras-hub's ``AnchorGenerator`` takes level ``l`` to be ``ceil(H / 2**l)`` cells of stride
    ``H // that``: both are the network's (ceil of HRFPN's pooled sizes, stride ``2**l``) only
    when the sides are multiples of 128."""
    for side in (height, width):
        if side is not None and (side % 128 or side < 128):
            raise ConfigError(f"{where}=({height}, {width}): RetinaNet sides must be multiples "
                              "of 128 (keras-hub's AnchorGenerator derives P7's stride from them)")


@keras.saving.register_keras_serializable(package="hrnet_tf")
class RetinaHead(PredictionHead):
    """keras-hub's ``PredictionHead`` (same sublayers ``conv2d_{i}``, ``logits_layer``, same
    weights), buildable from the list shapes of a saved config; its config keeps the bias
    initializer (0.32 saves the kernel initializer under that key)."""

    def build(self, input_shape):
        super().build(tuple(input_shape))

    def get_config(self):
        return {**super().get_config(),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer)}


def retina_heads(num_classes, anchors=None, feat_channels=256, stacked_convs=4,
                 prior_probability=0.01, head_class=RetinaHead):
    """(classification head, box head), as ``RetinaNetObjectDetector`` builds them, with fix 1:
    the prior bias on the classification head, 0 on the box head."""
    n = num_anchors(anchors)
    classification = head_class(
        output_filters=n * int(num_classes), num_filters=feat_channels,
        num_conv_layers=stacked_convs, use_prior_probability=True,
        prior_probability=prior_probability, name="classification_head")
    box = head_class(output_filters=n * 4, num_filters=feat_channels,
                     num_conv_layers=stacked_convs, use_prior_probability=False,
                     name="box_head")
    return classification, box




def trunk(width, input_shape, upsample_method="nearest", bn_momentum=0.9, sync_bn=False):
    """(image input, the four stage-4 outputs) of the HRNet trunk (as ``hrnet_tf.HRNetFCOS``)."""
    image = keras.Input(shape=tuple(input_shape), name="image")
    return image, hrnet_trunk(image, resolve_spec(width),
                              upsample_method=check_method(upsample_method),
                              bn_momentum=bn_momentum, sync_bn=sync_bn)

@keras.saving.register_keras_serializable(package="hrnet_tf")
class HRNetV2pBackbone(keras_hub.models.FeaturePyramidBackbone):
    """HRNetV2p (trunk + HRFPN with stride-2 level convs) as a keras-hub backbone:
    ``pyramid_outputs`` and the output are ``{"P3": ..., "P7": ...}`` (``out_channels`` each,
    strides 8-128), ``min_level`` 3, ``max_level`` 7. Layer names are :func:`HRNetRetinaNet`'s."""

    def __init__(self, width=32, image_shape=(None, None, 3), out_channels=256, pooling="avg",
                 upsample_method="nearest", bn_momentum=0.9, **kwargs):
        image_shape = tuple(image_shape)
        check_image_size(image_shape[0], image_shape[1])
        inputs, features = trunk(width, image_shape, upsample_method, bn_momentum)
        neck = HRFPN(out_channels, pooling=pooling, stride=2, name="neck")
        pyramid = neck(features)
        pyramid = {level: pyramid[level] for level in neck.level_names()}
        super().__init__(inputs=inputs, outputs=pyramid, **kwargs)
        self.width = width
        self.image_shape = image_shape
        self.out_channels = int(out_channels)
        self.pooling = pooling
        self.upsample_method = upsample_method
        self.bn_momentum = float(bn_momentum)
        self.min_level, self.max_level = MIN_LEVEL, MAX_LEVEL
        self.pyramid_outputs = pyramid

    def get_config(self):
        from hrnet_tf.models.specs import HRNetSpec, spec_to_config

        width = spec_to_config(self.width) if isinstance(self.width, HRNetSpec) else self.width
        return {**super().get_config(), "width": width, "image_shape": list(self.image_shape),
                "out_channels": self.out_channels, "pooling": self.pooling,
                "upsample_method": self.upsample_method, "bn_momentum": self.bn_momentum}


class LowQualityMatcher(BoxMatcher):
    """keras-hub's ``BoxMatcher`` (thresholds, match values) plus mmdet ``MaxIoUAssigner``'s
    low-quality matches (``min_pos_iou=0``, ``gt_max_assign_all=True``): every anchor whose IoU
    with a box equals that box's best IoU becomes a positive of it (a later box wins, as mmdet's
    loop over boxes). Boxes with no overlap at all (padding rows of zeros) get none (mmdet would
    give a box of best IoU 0 every anchor; it never has such a box). keras-hub's own
    ``force_match_for_each_col`` fails in 0.32: it can pick its padding column (index out of
    range in ``target_gather``)."""

    def call(self, similarity_matrix):
        columns, values = super().call(similarity_matrix)
        sim = similarity_matrix
        num_cols = ops.shape(sim)[-1]

        def low_quality():
            best = ops.max(sim, axis=1, keepdims=True)
            tie = ops.logical_and(ops.equal(sim, best), best > 0)
            found = ops.any(tie, axis=-1)
            last = num_cols - 1 - ops.argmax(ops.flip(ops.cast(tie, "int32"), -1), axis=-1)
            return (ops.where(found, ops.cast(last, "int32"), columns),
                    ops.where(found, self.match_values[-1], values))

        return ops.cond(num_cols > 0, low_quality, lambda: (columns, values))


@keras.saving.register_keras_serializable(package="hrnet_tf")
class MatchingLabelEncoder(RetinaNetLabelEncoder):
    """keras-hub's ``RetinaNetLabelEncoder`` with ``low_quality_matches`` (mmdet ``min_pos_iou=0``,
    :class:`LowQualityMatcher`), kept in its config."""

    def __init__(self, *args, low_quality_matches=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.low_quality_matches = bool(low_quality_matches)
        if self.low_quality_matches:
            self.box_matcher = LowQualityMatcher(
                thresholds=[self.negative_threshold, self.positive_threshold],
                match_values=[-1, -2, 1])

    def get_config(self):
        return {**super().get_config(), "low_quality_matches": self.low_quality_matches}


def label_encoder(generator, pos_iou_threshold=0.5, neg_iou_threshold=0.4,
                  low_quality_matches=True):
    """mmdet ``MaxIoUAssigner(pos_iou_thr=0.5, neg_iou_thr=0.4, min_pos_iou=0)`` as keras-hub's
    encoder: IoU >= 0.5 positive, < 0.4 negative, between ignored; ``low_quality_matches`` the
    ``min_pos_iou=0`` matches (:class:`LowQualityMatcher`). Deltas ``center_xywh`` with variance
    1 (mmdet ``DeltaXYWHBBoxCoder`` ``target_means`` 0, ``target_stds`` 1)."""
    return MatchingLabelEncoder(
        generator, bounding_box_format="xyxy", encoding_format="center_xywh",
        positive_threshold=float(pos_iou_threshold), negative_threshold=float(neg_iou_threshold),
        box_variance=[1.0, 1.0, 1.0, 1.0], low_quality_matches=bool(low_quality_matches))


# -- decoding (mmdet AnchorHead._get_bboxes_single + multiclass_nms), keras.ops ------------------


def delta_to_boxes(anchors, deltas, image_hw=None):
    """mmdet ``delta2bbox`` (means 0, stds 1): anchors [A, 4] or [B, A, 4] x1 y1 x2 y2, deltas
    [B, A, 4] (dx, dy, dw, dh) -> boxes [B, A, 4]; dw, dh clamped at ``log(1000 / 16)``; clipped to
    ``image_hw`` [B, 2] (h, w) when given."""
    anchors = ops.cast(anchors, "float32")
    deltas = ops.cast(deltas, "float32")
    px = (anchors[..., 0] + anchors[..., 2]) * 0.5
    py = (anchors[..., 1] + anchors[..., 3]) * 0.5
    pw = anchors[..., 2] - anchors[..., 0]
    ph = anchors[..., 3] - anchors[..., 1]
    dw = ops.clip(deltas[..., 2], -MAX_RATIO, MAX_RATIO)
    dh = ops.clip(deltas[..., 3], -MAX_RATIO, MAX_RATIO)
    gx, gy = px + pw * deltas[..., 0], py + ph * deltas[..., 1]
    gw, gh = pw * ops.exp(dw), ph * ops.exp(dh)
    x1, y1, x2, y2 = gx - gw * 0.5, gy - gh * 0.5, gx + gw * 0.5, gy + gh * 0.5
    if image_hw is not None:
        h = ops.cast(image_hw[:, 0:1], "float32")
        w = ops.cast(image_hw[:, 1:2], "float32")
        x1, x2 = ops.minimum(ops.maximum(x1, 0.0), w), ops.minimum(ops.maximum(x2, 0.0), w)
        y1, y2 = ops.minimum(ops.maximum(y1, 0.0), h), ops.minimum(ops.maximum(y2, 0.0), h)
    return ops.stack([x1, y1, x2, y2], -1)


def top_anchors(anchors, deltas, logits, level_counts, nms_pre):
    """Per level the ``nms_pre`` anchors of highest ``max(sigmoid(logits))`` (mmdet ``nms_pre``):
    (anchors [B, N, 4], deltas [B, N, 4], scores [B, N, C])."""
    anchors = ops.cast(anchors, "float32")
    batch = ops.shape(deltas)[0]
    out_a, out_d, out_s = [], [], []
    start = 0
    for n in level_counts:
        a = anchors[start:start + n]
        d = deltas[:, start:start + n]
        s = ops.sigmoid(ops.cast(logits[:, start:start + n], "float32"))
        start += n
        a = ops.broadcast_to(a[None], (batch, n, 4))
        if 0 < nms_pre < n:
            _, keep = ops.top_k(ops.max(s, -1), nms_pre)
            a = ops.take_along_axis(a, keep[..., None], axis=1)
            d = ops.take_along_axis(d, keep[..., None], axis=1)
            s = ops.take_along_axis(s, keep[..., None], axis=1)
        out_a.append(a)
        out_d.append(d)
        out_s.append(s)
    return ops.concatenate(out_a, 1), ops.concatenate(out_d, 1), ops.concatenate(out_s, 1)


def per_class_nms(boxes, scores, score_threshold=0.05, iou_threshold=0.5, max_detections=100,
                  max_candidates=4000):
    """mmdet ``multiclass_nms``: boxes [B, N, 4] x1 y1 x2 y2, scores [B, N, C] (probabilities) ->
    (boxes [B, K, 4], scores [B, K], labels [B, K] int32, valid [B]), K = ``max_detections``, best
    first, zeros / -1 past ``valid``: every (box, class) scoring above ``score_threshold``, NMS
    within each class (IoU > ``iou_threshold`` suppressed), the K best.

    On the TensorFlow backend ``tf.image.combined_non_max_suppression`` (as the FCOS decoder).
    Elsewhere keras-hub's ``non_max_suppression`` with mmcv ``batched_nms``'s trick (boxes offset by
    ``class * (max coordinate + 1)``) on the ``max_candidates`` best (box, class) pairs (mmdet's
    result whenever K of them survive). keras-hub 0.32's ``non_max_suppression`` is not used on
    TensorFlow: traced (``tf.function``, as ``predict`` runs it) it drops boxes that greedy NMS
    keeps (eagerly it agrees)."""
    scores = ops.cast(scores, "float32")
    boxes = ops.cast(boxes, "float32")
    k = int(max_detections)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        masked = tf.where(scores > float(score_threshold), scores, 0.0)
        out_boxes, out_scores, out_labels, valid = tf.image.combined_non_max_suppression(
            boxes[:, :, None, :], masked, max_output_size_per_class=k, max_total_size=k,
            iou_threshold=float(iou_threshold), score_threshold=1e-12, pad_per_class=False,
            clip_boxes=False)
        keep = tf.range(k)[None, :] < valid[:, None]
        return (tf.where(keep[..., None], out_boxes, 0.0), tf.where(keep, out_scores, 0.0),
                tf.where(keep, tf.cast(out_labels, tf.int32), -1), valid)
    n, c = scores.shape[1], scores.shape[2]
    flat = ops.reshape(scores, (-1, n * c))
    top_scores, top = ops.top_k(flat, min(int(max_candidates), n * c))
    box_index, labels = top // c, top % c
    cand = ops.take_along_axis(boxes, box_index[..., None], axis=1)
    offset = (ops.max(boxes, axis=(1, 2)) + 1.0)[:, None, None] * ops.cast(labels, "float32")[
        ..., None]
    shifted = cand + offset
    yxyx = ops.stack([shifted[..., 1], shifted[..., 0], shifted[..., 3], shifted[..., 2]], -1)
    idx, valid = non_max_suppression(yxyx, top_scores, max_output_size=k,
                                     iou_threshold=float(iou_threshold),
                                     score_threshold=float(score_threshold))
    keep = ops.arange(k)[None, :] < valid[:, None]
    out_boxes = ops.where(keep[..., None], ops.take_along_axis(cand, idx[..., None], axis=1), 0.0)
    out_scores = ops.where(keep, ops.take_along_axis(top_scores, idx, axis=1), 0.0)
    out_labels = ops.where(keep, ops.take_along_axis(ops.cast(labels, "int32"), idx, axis=1), -1)
    return out_boxes, out_scores, out_labels, valid


def decode(anchors, level_counts, outputs_or_parts, num_classes, image_hw, scale_factor=None,
           nms_pre=1000, score_threshold=0.05, iou_threshold=0.5, max_per_image=100):
    """Detections of a batch (mmdet ``AnchorHead._get_bboxes_single`` with ``rescale``): anchors
    [A, 4], the model output [B, A, C + 4] (or (logits, deltas)), ``image_hw`` [B, 2] the resized
    image (h, w) before padding (boxes clipped to it), ``scale_factor`` [B, 2] (w, h) resize
    factors (boxes divided by them) -> :func:`per_class_nms`'s four tensors."""
    if isinstance(outputs_or_parts, (tuple, list)):
        logits, deltas = outputs_or_parts
    else:
        logits = outputs_or_parts[..., :num_classes]
        deltas = outputs_or_parts[..., num_classes:num_classes + 4]
    a, d, s = top_anchors(anchors, deltas, logits, level_counts, nms_pre)
    boxes = delta_to_boxes(a, d, image_hw)
    if scale_factor is not None:
        factor = ops.tile(ops.cast(scale_factor, "float32"), (1, 2))[:, None, :]
        boxes = boxes / factor
    return per_class_nms(boxes, s, score_threshold, iou_threshold, max_per_image)


@keras.saving.register_keras_serializable(package="hrnet_tf")
class PerClassNMS(keras.layers.Layer):
    """Fix 2, the ``prediction_decoder`` of :class:`HRNetRetinaNetDetector`: mmdet's test
    settings (``nms_pre`` per level, score > 0.05, per-class NMS at IoU 0.5, 100 boxes). Called
    by ``decode_predictions`` with the raw deltas and logits (keras-hub's decoder gets boxes
    decoded without mmdet's clamp and clip)."""

    def __init__(self, bounding_box_format="xyxy", nms_pre=1000, score_threshold=0.05,
                 iou_threshold=0.5, max_detections=100, **kwargs):
        super().__init__(**kwargs)
        self.bounding_box_format = bounding_box_format
        self.nms_pre = int(nms_pre)
        self.score_threshold = float(score_threshold)
        self.iou_threshold = float(iou_threshold)
        self.max_detections = int(max_detections)
        self.built = True

    def call(self, anchors, box_deltas, class_logits, image_hw, level_counts=None):
        level_counts = level_counts or [int(anchors.shape[0])]
        boxes, scores, labels, valid = decode(
            anchors, level_counts, (class_logits, box_deltas), class_logits.shape[-1], image_hw,
            None, self.nms_pre, self.score_threshold, self.iou_threshold, self.max_detections)
        found = labels >= 0  # keras-hub's convention: -1 past num_detections
        return {"boxes": ops.where(ops.expand_dims(found, -1), boxes, -1.0),
                "confidence": ops.where(found, scores, -1.0), "labels": labels,
                "num_detections": valid}

    def get_config(self):
        return {**super().get_config(), "bounding_box_format": self.bounding_box_format,
                "nms_pre": self.nms_pre, "score_threshold": self.score_threshold,
                "iou_threshold": self.iou_threshold, "max_detections": self.max_detections}


def focal_loss(alpha=0.25, gamma=2.0):
    """Fix 3: keras's focal loss applies ``alpha`` only with ``apply_class_balancing=True``."""
    return keras.losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=alpha,
                                                gamma=gamma, from_logits=True, reduction="sum")


@keras.saving.register_keras_serializable(package="hrnet_tf")
class HRNetRetinaNetDetector(keras_hub.models.RetinaNetObjectDetector):
    """keras-hub's ``RetinaNetObjectDetector`` with the three fixes (module docstring):
    the classification prior bias, :class:`PerClassNMS` decoding, and :meth:`compile`'s
    class-balanced focal loss. Built by :func:`retinanet_detector`."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        probability = 0.01
        cls_bias = self.classification_head.prediction_layer.bias
        cls_bias.assign(ops.full(cls_bias.shape, prior_bias(probability)))
        box_bias = self.box_head.prediction_layer.bias
        box_bias.assign(ops.zeros(box_bias.shape))
        self.classification_head.use_prior_probability = True
        self.box_head.use_prior_probability = False
        self.compile()  # keras-hub's Task compiles before num_classes is set

    def compile(self, optimizer="auto", box_loss="auto", classification_loss="auto",
                metrics=None, **kwargs):
        """keras-hub's compile, with mmdet's losses for ``"auto"``: focal (alpha 0.25 applied,
        gamma 2) and L1 on the deltas (``RetinaHead`` ``loss_bbox=L1Loss``; keras-hub: Huber).
        keras-hub's losses average over the last axis (the classes; the 4 deltas) where mmdet
        sums: ``loss_weights`` ``{"cls_logits": num_classes, "bbox_regression": 4}`` (the default
        here) gives mmdet's scale."""
        if classification_loss == "auto":
            classification_loss = focal_loss()
        if box_loss == "auto":
            box_loss = keras.losses.MeanAbsoluteError(reduction="sum")
        if getattr(self, "num_classes", None):
            kwargs.setdefault("loss_weights", {"cls_logits": float(self.num_classes),
                                               "bbox_regression": 4.0})
        super().compile(optimizer=optimizer, box_loss=box_loss,
                        classification_loss=classification_loss, metrics=metrics, **kwargs)

    def decode_predictions(self, predictions, data):
        images = data[0] if isinstance(data, (list, tuple)) else data
        height, width = ops.shape(images)[1], ops.shape(images)[2]
        levels = self.anchor_generator(images)
        counts = [int(v.shape[0]) for v in levels.values()]
        anchors = ops.concatenate(list(levels.values()), axis=0)
        batch = ops.shape(images)[0]
        image_hw = ops.tile(ops.convert_to_tensor([[height, width]], "float32"), (batch, 1))
        return self.prediction_decoder(anchors, predictions["bbox_regression"],
                                       predictions["cls_logits"], image_hw, level_counts=counts)


def retinanet_detector(width=32, num_classes=80, image_shape=(512, 512, 3), *, backbone=None,
                       anchors=None, pos_iou_threshold=0.5, neg_iou_threshold=0.4,
                       low_quality_matches=True, nms_pre=1000, score_threshold=0.05,
                       iou_threshold=0.5, max_detections=100, out_channels=256,
                       stacked_convs=4, **backbone_kwargs):
    """keras-hub's RetinaNet on HRNetV2p with the fixes: an :class:`HRNetRetinaNetDetector` on
    an :class:`HRNetV2pBackbone` (or ``backbone``), boxes ``xyxy`` in input pixels, mmdet's
    anchors (:data:`ANCHORS`), assigner (:func:`label_encoder`) and test settings.

        >>> detector = retinanet_detector("tiny", 3, (128, 128, 3))  # doctest: +SKIP
        >>> detector.compile(optimizer="adam")                         # doctest: +SKIP
        >>> detector.fit(images, {"boxes": boxes, "labels": labels})   # doctest: +SKIP
        >>> detector.predict(images)["boxes"]                          # doctest: +SKIP
    """
    if backbone is None:
        backbone = HRNetV2pBackbone(width, image_shape, out_channels=out_channels,
                                    **backbone_kwargs)
    generator = anchor_generator(anchors)
    return HRNetRetinaNetDetector(
        backbone=backbone, num_classes=int(num_classes), bounding_box_format="xyxy",
        anchor_generator=generator,
        label_encoder=label_encoder(generator, pos_iou_threshold, neg_iou_threshold,
                                    low_quality_matches),
        pre_logits_num_conv_layers=int(stacked_convs),
        prediction_decoder=PerClassNMS("xyxy", nms_pre, score_threshold, iou_threshold,
                                       max_detections))


__all__ = [
    "ANCHORS",
    "HRNetRetinaNetDetector",
    "HRNetV2pBackbone",
    "LowQualityMatcher",
    "MatchingLabelEncoder",
    "PerClassNMS",
    "RetinaHead",
    "anchor_generator",
    "check_image_size",
    "decode",
    "delta_to_boxes",
    "focal_loss",
    "label_encoder",
    "per_class_nms",
    "prior_bias",
    "retina_heads",
    "retinanet_detector",
    "trunk",
]
