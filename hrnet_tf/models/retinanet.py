"""RetinaNet on HRNetV2p, built from keras-hub 0.32's layers (``pip install 'hrnet_tf[detection]'``).

Two ways to hold the same network, with the same layers and the same weight layout:

* :func:`HRNetRetinaNet` -> an :class:`~hrnet_tf.models.model.HRNetModel` (``info.task ==
  "detection"``, architecture ``"HRNetRetinaNet"``) that ``train/detect.py`` trains, evaluates and
  exports like every other model: the trunk and the HRFPN neck (stride-2 level convs, P3-P7) under
  the names of :func:`hrnet_tf.HRNetFCOS`, then keras-hub's ``PredictionHead`` twice
  (``classification_head``, ``box_head``), shared by the levels as in keras-hub's
  ``RetinaNetObjectDetector``; one output ``[batch, anchors, num_classes + 4]`` (class logits, then
  the ``center_xywh`` box deltas), anchors in keras-hub's ``AnchorGenerator`` order (levels, then
  rows, columns, then ratio-major, scale-minor: mmdet's ``AnchorGenerator`` order too).
* :func:`retinanet_detector` -> keras-hub's ``RetinaNetObjectDetector`` (an
  :class:`HRNetRetinaNetDetector`, its subclass) on :class:`HRNetV2pBackbone`, a
  ``keras_hub.models.FeaturePyramidBackbone``: ``detector.compile()``, ``detector.fit(ds)`` with
  ``{"boxes", "labels"}`` targets, ``detector.predict(images)``, ``detector.save("x.keras")``.
  :func:`to_keras_hub` turns a trained ``HRNetRetinaNet`` into one (weights copied by layer name)
  and :func:`from_keras_hub` back.

The three problems of keras-hub 0.32 (``retinanet_object_detector.py``), fixed here:

1. the prior-probability bias ``-log((1 - 0.01) / 0.01)`` is given to the *box* head
   (``use_prior_probability=True`` on ``box_head``) and not the classification head: here the
   classification head's logits layer starts at ``-log(99)`` and the box head's at 0 (mmdet
   ``RetinaHead.init_weights``: ``bias_init_with_prob(0.01)`` on ``retina_cls``);
2. the default ``NonMaxSuppression`` is class-agnostic (max over classes, argmax label) with
   confidence 0.5: here :class:`PerClassNMS` (mmdet ``multiclass_nms``: every (anchor, class) above
   0.05, NMS per class at IoU 0.5, the 100 best) after mmdet's per-level ``nms_pre`` and
   ``delta2bbox`` (deltas clamped at ``log(1000 / 16)``, boxes clipped to the image);
3. ``compile()``'s default ``BinaryFocalCrossentropy`` ignores ``alpha=0.25`` unless
   ``apply_class_balancing=True``: :meth:`HRNetRetinaNetDetector.compile` sets it.

Also: keras-hub's ``PredictionHead`` cannot be rebuilt from a saved functional config (its
``build`` adds a tuple to the list it gets back), so the functional model uses
:class:`RetinaHead`, a ``PredictionHead`` that builds from either; and keras-hub's
``RetinaNetLabelEncoder`` does not save its box matcher settings (:class:`MatchingLabelEncoder`
does).
"""

import keras

from hrnet_tf.models.heads import HRFPN
from hrnet_tf.models.model import HRNetModel, model_info
from hrnet_tf.models.retinanet_layers import (
    ANCHORS,
    MAX_LEVEL,
    MIN_LEVEL,
    TEST,
    HRNetRetinaNetDetector,
    HRNetV2pBackbone,
    PerClassNMS,
    check_image_size,
    retina_heads,
    retinanet_detector,
    trunk,
)
from hrnet_tf.models.specs import spec_name


def HRNetRetinaNet(
    width=32,
    num_classes=80,
    input_shape=(896, 1408, 3),
    *,
    weights=None,
    name=None,
    anchors=None,
    out_channels=256,
    feat_channels=256,
    stacked_convs=4,
    prior_probability=0.01,
    pooling="avg",
    upsample_method="nearest",
    bn_momentum=0.9,
    sync_bn=False,
):
    """RetinaNet on HRNetV2p as an ``HRNetModel`` (see the module docstring): output
    ``[batch, anchors, num_classes + 4]``. ``anchors`` overrides :data:`ANCHORS`; the input sides
    must be multiples of 128 (:func:`check_image_size`)."""
    check_image_size(input_shape[0], input_shape[1], "input_shape")
    inputs, features = trunk(width, input_shape, upsample_method, bn_momentum, sync_bn)
    neck = HRFPN(out_channels, pooling=pooling, stride=2, name="neck")
    pyramid = neck(features)
    classification, box = retina_heads(num_classes, anchors, feat_channels, stacked_convs,
                                       prior_probability)
    cls_out, box_out = [], []
    for level in neck.level_names():
        cls_out.append(keras.layers.Reshape((-1, int(num_classes)), name=f"cls_pred_{level}")(
            classification(pyramid[level])))
        box_out.append(keras.layers.Reshape((-1, 4), name=f"box_pred_{level}")(
            box(pyramid[level])))
    logits = keras.layers.Concatenate(axis=1, name="cls_logits")(cls_out)
    deltas = keras.layers.Concatenate(axis=1, name="bbox_regression")(box_out)
    outputs = keras.layers.Concatenate(axis=-1, name="outputs")([logits, deltas])
    strides = [2 ** (MIN_LEVEL + i) for i in range(MAX_LEVEL - MIN_LEVEL + 1)]
    info = model_info("detection", "HRNetRetinaNet", width, upsample_method, output_stride=None,
                      labels={"num_classes": int(num_classes), "strides": strides,
                              "anchors": {**ANCHORS, **(anchors or {})},
                              "architecture_options": {
                                  "out_channels": out_channels, "feat_channels": feat_channels,
                                  "stacked_convs": stacked_convs, "pooling": pooling}})
    model = HRNetModel(inputs, outputs, info=info,
                       name=name or f"retinanet_hrnetv2p_{spec_name(width)}")
    if weights is not None:
        from hrnet_tf.convert.checkpoints import load_weights

        load_weights(model, weights)
    return model


def _copy_weights(source_layers, target_layers):
    for name, target in target_layers.items():
        source = source_layers.get(name)
        if source is None or len(source.weights) != len(target.weights):
            raise ValueError(f"no layer {name!r} with the same weights to copy")
        for s, t in zip(source.weights, target.weights, strict=True):
            t.assign(s)


def _weighted(layers):
    return {layer.name: layer for layer in layers if layer.weights}


def to_keras_hub(model):
    """The keras-hub detector of a (trained) :func:`HRNetRetinaNet`, its weights copied; the test
    settings are the ones the model records (``info.labels["head"]``, else :data:`TEST`)."""
    labels = model.info.labels or {}
    options = labels.get("architecture_options") or {}
    head = {**TEST, **(labels.get("head") or {})}
    shape = tuple(model.inputs[0].shape[1:])
    info = model.info
    if options.get("feat_channels", 256) != 256:
        raise ValueError("keras-hub's RetinaNet heads have 256 channels; this model's have "
                         f"{options['feat_channels']}")
    detector = retinanet_detector(
        info.spec, int(labels["num_classes"]), shape, anchors=labels.get("anchors"),
        out_channels=options.get("out_channels", 256), stacked_convs=options.get(
            "stacked_convs", 4), pooling=options.get("pooling", "avg"),
        upsample_method=info.upsample_method, nms_pre=head["nms_pre"],
        score_threshold=head["score_threshold"], iou_threshold=head["iou_threshold"],
        max_detections=head["max_per_image"])
    source = _weighted(model.layers)
    _copy_weights(source, _weighted(detector.backbone.layers))
    _copy_weights(source, {"classification_head": detector.classification_head,
                           "box_head": detector.box_head})
    return detector


def from_keras_hub(detector, info=None):
    """The :func:`HRNetRetinaNet` of a keras-hub detector from :func:`retinanet_detector`, its
    weights copied (``info``: the ``ModelInfo`` labels to keep, e.g. categories)."""
    backbone = detector.backbone
    model = HRNetRetinaNet(backbone.width, detector.num_classes, backbone.image_shape,
                           anchors={"num_scales": detector.anchor_generator.num_scales,
                                    "aspect_ratios": list(detector.anchor_generator.aspect_ratios),
                                    "anchor_size": detector.anchor_generator.anchor_size},
                           out_channels=backbone.out_channels,
                           stacked_convs=detector.pre_logits_num_conv_layers,
                           pooling=backbone.pooling, upsample_method=backbone.upsample_method)
    target = _weighted(model.layers)
    _copy_weights(_weighted(detector.backbone.layers),
                  {k: v for k, v in target.items() if k not in ("classification_head",
                                                                "box_head")})
    _copy_weights({"classification_head": detector.classification_head,
                   "box_head": detector.box_head},
                  {k: target[k] for k in ("classification_head", "box_head")})
    if info:
        model.info.labels.update(info)
    return model


__all__ = [
    "ANCHORS",
    "HRNetRetinaNet",
    "HRNetRetinaNetDetector",
    "HRNetV2pBackbone",
    "PerClassNMS",
    "from_keras_hub",
    "retinanet_detector",
    "to_keras_hub",
]
