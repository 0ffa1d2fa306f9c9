"""Public constructors: HRNetV1 (pose), HRNetV2 (segmentation), HRNetV2p (detection), classifier."""

import os

import keras

from hrnet_tf.convert import checkpoints
from hrnet_tf.errors import ConfigError, ModelFileError
from hrnet_tf.layers.common import ConvBN
from hrnet_tf.layers.resize import check_method
from hrnet_tf.models.backbone import hrnet_trunk
from hrnet_tf.models.fcos import FCOSHead
from hrnet_tf.models.heads import (
    HRFPN,
    SegmentationHead,
    UpsampleConcat,
    classification_head,
    pose_head,
)
from hrnet_tf.models.model import HRNetModel, load_model, model_info, require_keras_hub
from hrnet_tf.models.specs import spec_name


def _inputs(input_shape, input_tensor=None):
    """(model inputs, the tensor the trunk starts from), as keras.applications takes them: a
    ``keras.Input``, or any intermediate tensor whose graph becomes part of the model."""
    if input_tensor is not None:
        if input_tensor.shape[-1] != 3:
            raise ConfigError(f"input_tensor must have 3 channels, got shape {input_tensor.shape}")
        sources = keras.utils.get_source_inputs(input_tensor)
        return (sources[0] if len(sources) == 1 else sources), input_tensor
    if input_shape is None or len(input_shape) != 3 or input_shape[-1] != 3:
        raise ConfigError(f"input_shape must be (height, width, 3), got {input_shape!r}")
    image = keras.Input(shape=tuple(input_shape), name="image")
    return image, image


def _trunk(width, input_shape, input_tensor, upsample_method, **trunk_kwargs):
    """(model inputs, list of stage-4 outputs) for a constructor."""
    from hrnet_tf.models.specs import resolve_spec

    inputs, x = _inputs(input_shape, input_tensor)
    features = hrnet_trunk(x, resolve_spec(width), upsample_method=check_method(upsample_method),
                           **trunk_kwargs)
    return inputs, features


def load_weights(model, weights, strict=True):
    """Loads ``weights`` into ``model``: a file (Keras ``.weights.h5``/``.keras``, official
    ``.pth``/``.safetensors``: :func:`hrnet_tf.convert.load_weights`) or a preset name
    (``python -m hrnet_tf.presets``: downloaded, verified and converted once, then cached).
    ``strict=False`` loads what fits, e.g. an ImageNet trunk into a pose model."""
    from hrnet_tf.presets.weights import is_preset_name, load_preset

    if isinstance(weights, str) and is_preset_name(weights):
        return load_preset(model, weights, CONSTRUCTORS, strict=strict)
    return checkpoints.load_weights(model, weights, strict=strict)


def from_preset(name, **overrides):
    """The network of preset ``name`` with its weights (keras-hub's ``from_preset``).

    ``overrides`` change constructor arguments that keep the weights valid, e.g. ``input_shape``
    or ``name``; arguments that change the weights (``width``, ``num_classes``) are refused.

        >>> model = hrnet_tf.from_preset("hrnet_w32_coco_256x192")  # doctest: +SKIP
        >>> model.info.labels["keypoints"]  # doctest: +SKIP
        'coco'
    """
    from hrnet_tf.presets.weights import available_preset, build_preset_model, load_preset

    preset = available_preset(name)
    model = build_preset_model(preset, CONSTRUCTORS, **overrides)
    load_preset(model, name, CONSTRUCTORS,
                check_input_shape=False if "input_shape" in overrides else None)
    for key, value in {**preset.labels, "preset": preset.name}.items():
        model.info.labels.setdefault(key, value)
    return model


def load_or_build(weights, task, build):
    """The model a command (predict, evaluate) runs: one rule for every task.

    ``weights`` ending in ``.keras`` is loaded with :func:`load_model` and must be a ``task`` model;
    other weights (``.weights.h5``, official ``.pth``/``.safetensors``, a preset name) go into
    ``build()`` (the command's ``--width`` etc.); no weights gives ``build()`` with a warning.
    """
    import sys

    if weights and os.fspath(weights).endswith(".keras"):
        model = load_model(weights)
        if model.info.task != task:
            raise ModelFileError(f"{weights}: a {model.info.task} model, not a {task} model")
        return model
    model = build()
    if weights:
        load_weights(model, weights)
    else:
        print("warning: no --weights given: the network is untrained, its output is meaningless",
              file=sys.stderr)
    return model


def _finish(inputs, outputs, name, weights, info):
    model = HRNetModel(inputs, outputs, info=info, name=name)
    if weights is not None:
        load_weights(model, weights)
    return model


def HRNetV1(
    width=32,
    num_outputs=17,
    input_shape=(256, 192, 3),
    *,
    weights=None,
    name=None,
    final_conv_kernel=1,
    upsample_method="nearest",
    bn_momentum=0.9,
    sync_bn=False,
    input_tensor=None,
):
    """HRNetV1, the pose-estimation network: heatmaps from the stride-4 branch only.

    Args:
      width: 18, 30, 32, 40, 44, 48, 64, "18-small-v1", "18-small-v2", or a stage specification.
      num_outputs: heatmap channels (17 COCO joints, 16 MPII); None returns the stride-4 features.
      input_shape: (height, width, 3), ImageNet-normalized RGB. Divisible by 32 with "nearest" fusion.
      weights: None, or a local ``.weights.h5`` / official ``.pth`` / ``.safetensors`` file.
      bn_momentum: Keras convention (PyTorch 0.1 -> 0.9). sync_bn: synchronized BN under tf.distribute.
    """
    inputs, features = _trunk(
        width,
        input_shape,
        input_tensor,
        upsample_method,
        multi_scale_output=False,
        bn_momentum=bn_momentum,
        sync_bn=sync_bn,
    )
    x = features[0]
    if num_outputs is not None:
        x = pose_head(x, num_outputs, final_conv_kernel)
    task = "features" if num_outputs is None else "pose"
    info = model_info(task, "HRNetV1", width, upsample_method, output_stride=4)
    return _finish(inputs, x, name or f"hrnet_v1_{spec_name(width)}", weights, info)


def HRNetV2(
    width=48,
    num_classes=19,
    input_shape=(None, None, 3),
    *,
    weights=None,
    name=None,
    upsample_method="bilinear",
    final_conv_kernel=1,
    bn_momentum=0.99,
    sync_bn=False,
    input_tensor=None,
):
    """HRNetV2, the segmentation network: all four resolutions upsampled to stride 4 and concatenated
    (15C channels), then ``last_layer`` (1x1 conv-BN-ReLU, conv to ``num_classes``); logits at stride 4.

    ``num_classes=None`` returns the 15C-channel features. ``upsample_method`` is used for fusion and
    concatenation: "bilinear" (official HRNetV2, any input size) or "bilinear_align_corners"
    (HRNet-OCR checkpoints). ``bn_momentum`` 0.99 is the official segmentation BN momentum (0.01 in
    PyTorch's convention).
    """
    inputs, features = _trunk(
        width, input_shape, input_tensor, upsample_method, bn_momentum=bn_momentum, sync_bn=sync_bn
    )
    x = UpsampleConcat(upsample_method, name="concat")(features)
    if num_classes is not None:
        x = SegmentationHead(x.shape[-1], num_classes, final_conv_kernel, bn_momentum, sync_bn,
                             name="last_layer")(x)
    task = "features" if num_classes is None else "segmentation"
    info = model_info(task, "HRNetV2", width, upsample_method, output_stride=4)
    return _finish(inputs, x, name or f"hrnet_v2_{spec_name(width)}", weights, info)


def HRNetV2p(
    width=18,
    input_shape=(None, None, 3),
    *,
    weights=None,
    name=None,
    out_channels=256,
    pooling="avg",
    upsample_method="nearest",
    bn_momentum=0.9,
    sync_bn=False,
    input_tensor=None,
    fpn_stride=1,
):
    """HRNetV2p, the detection backbone: HRNetV2 features and the HRFPN neck.

    Returns a model whose output is a dict of five ``out_channels`` levels "P2".."P6" (strides 4 to
    64; ``fpn_stride=2``: "P3".."P7", strides 8 to 128, mmdetection's FCOS configs), the
    ``pyramid_outputs`` convention of keras-hub detectors. The official detection trunk fuses with
    nearest upsampling by fixed factors, so image sizes must be multiples of 32 (detectors pad to
    that); pass ``upsample_method="bilinear"`` for arbitrary sizes.
    """
    inputs, features = _trunk(
        width, input_shape, input_tensor, upsample_method, bn_momentum=bn_momentum, sync_bn=sync_bn
    )
    pyramid = HRFPN(out_channels, pooling=pooling, stride=fpn_stride, name="neck")(features)
    info = model_info("detection", "HRNetV2p", width, upsample_method, output_stride=None)
    return _finish(inputs, pyramid, name or f"hrnet_v2p_{spec_name(width)}", weights, info)


def HRNetFCOS(
    width=32,
    num_classes=80,
    input_shape=(None, None, 3),
    *,
    weights=None,
    name=None,
    fpn_stride=2,
    out_channels=256,
    feat_channels=256,
    stacked_convs=4,
    gn_groups=32,
    head_conv_bias=False,
    norm_on_bbox=False,
    centerness_on_reg=False,
    pooling="avg",
    upsample_method="nearest",
    bn_momentum=0.9,
    sync_bn=False,
    input_tensor=None,
):
    """FCOS on HRNetV2p (mmdetection ``configs/hrnet/fcos_hrnetv2p_w32_gn-head_4x4_1x_coco.py``):
    the trunk, the HRFPN neck (``fpn_stride=2``: P3-P7, strides 8 to 128) and mmdet's GN head
    (:class:`hrnet_tf.models.fcos.FCOSHead`, layer ``bbox_head``).

    The output is one tensor [batch, points, num_classes + 5] (class logits, distances to the box
    sides in input pixels, centerness logit); :mod:`hrnet_tf.detection.codec` turns it into boxes.
    ``norm_on_bbox`` and ``centerness_on_reg`` are mmdet's FCOS options (off in the HRNet configs);
    ``head_conv_bias`` gives the tower convs a bias (off: mmdet's ``conv_bias='auto'`` with GN).
    Inputs must be multiples of 32 (the detection pipeline pads to that).
    """
    inputs, features = _trunk(
        width, input_shape, input_tensor, upsample_method, bn_momentum=bn_momentum, sync_bn=sync_bn
    )
    neck = HRFPN(out_channels, pooling=pooling, stride=fpn_stride, name="neck")
    pyramid = neck(features)
    strides = [2 ** (neck.first_level + i) for i in range(neck.num_outs)]
    head = FCOSHead(num_classes, strides, feat_channels=feat_channels, stacked_convs=stacked_convs,
                    groups=gn_groups, conv_bias=head_conv_bias, norm_on_bbox=norm_on_bbox,
                    centerness_on_reg=centerness_on_reg, name="bbox_head")
    outputs = head([pyramid[level] for level in neck.level_names()])
    info = model_info("detection", "HRNetFCOS", width, upsample_method, output_stride=None,
                      labels={"num_classes": int(num_classes), "strides": strides})
    return _finish(inputs, outputs, name or f"fcos_hrnetv2p_{spec_name(width)}", weights, info)


def HRNetRetinaNet(width=32, num_classes=80, input_shape=(896, 1408, 3), **kwargs):
    """RetinaNet on HRNetV2p from keras-hub's layers (the ``detection`` extra):
    :func:`hrnet_tf.models.retinanet.HRNetRetinaNet`; :func:`hrnet_tf.retinanet_detector` gives
    keras-hub's ``RetinaNetObjectDetector`` of the same network."""
    require_keras_hub()
    from hrnet_tf.models.retinanet import HRNetRetinaNet as build

    return build(width, num_classes, input_shape, **kwargs)


def retinanet_detector(width=32, num_classes=80, image_shape=(512, 512, 3), **kwargs):
    """keras-hub's ``RetinaNetObjectDetector`` on HRNetV2p with the fixes of
    :mod:`hrnet_tf.models.retinanet` (the ``detection`` extra)."""
    require_keras_hub()
    from hrnet_tf.models.retinanet_layers import retinanet_detector as build

    return build(width, num_classes, image_shape, **kwargs)


def HRNetClassifier(
    width=18,
    num_classes=1000,
    input_shape=(224, 224, 3),
    *,
    weights=None,
    name=None,
    head_conv_bias=True,
    include_top=True,
    upsample_method="nearest",
    bn_momentum=0.9,
    sync_bn=False,
    input_tensor=None,
):
    """HRNet-Wxx-C, the ImageNet classifier, with the official classification head.

    ``head_conv_bias=False`` matches the SSLD checkpoints (bias-free head convs). ``num_classes=None``
    returns the pooled 2048-d features; ``include_top=False`` the 2048-channel stride-32 map.
    """
    inputs, features = _trunk(
        width, input_shape, input_tensor, upsample_method, bn_momentum=bn_momentum, sync_bn=sync_bn
    )
    x = classification_head(
        features,
        num_classes,
        head_conv_bias=head_conv_bias,
        bn_momentum=bn_momentum,
        sync_bn=sync_bn,
        pooling=include_top,
    )
    task = "classification" if include_top and num_classes is not None else "features"
    info = model_info(task, "HRNetClassifier", width, upsample_method,
                      output_stride=None if include_top else 32)
    return _finish(inputs, x, name or f"hrnet_{spec_name(width)}_c", weights, info)


def feature_extractor(model):
    """The trunk of an hrnet_tf model: its input to the list of stage-4 outputs."""
    return model.feature_model()


__all__ = [
    "MODEL_KINDS",
    "HRNetClassifier",
    "HRNetOCR",
    "HRNetV1",
    "HRNetV2",
    "HRNetV2Landmarks",
    "HRNetV2p",
    "HRNetFCOS",
    "HRNetRetinaNet",
    "build_model",
    "feature_extractor",
    "from_preset",
    "load_or_build",
    "load_weights",
    "retinanet_detector",
]


def HRNetV2Landmarks(
    width=18,
    num_landmarks=98,
    input_shape=(256, 256, 3),
    *,
    weights=None,
    landmarks=None,
    name=None,
    upsample_method="bilinear",
    final_conv_kernel=1,
    bn_momentum=0.99,
    sync_bn=False,
):
    """The facial-landmark network of HRNet-Facial-Landmark-Detection (``lib/models/hrnet.py``):
    HRNetV2 (bilinear fusion, the 15C concatenation, ``last_layer`` = the official ``head``) with
    ``num_landmarks`` heatmaps at stride 4 and ``info.task == "landmarks"``; ``landmarks`` names
    the landmark set ``info.labels`` records (default: the official set with that many points).
    ``weights`` takes an official ``HR18-*.pth`` (``head.*`` keys renamed on loading). See
    :mod:`hrnet_tf.models.landmark_model`."""
    from hrnet_tf.models.landmark_model import mark_landmark_model

    if not isinstance(num_landmarks, int) or num_landmarks <= 0:
        raise ConfigError(f"num_landmarks must be a positive int, got {num_landmarks!r}")
    model = HRNetV2(width, num_classes=num_landmarks, input_shape=tuple(input_shape),
                    name=name or f"hrnet_v2_landmarks_{num_landmarks}",
                    upsample_method=upsample_method, final_conv_kernel=final_conv_kernel,
                    bn_momentum=bn_momentum, sync_bn=sync_bn)
    mark_landmark_model(model, landmarks)
    model.info = model.info.replace(architecture="HRNetV2Landmarks")  # presets check it
    if weights is not None:
        load_weights(model, weights)
    return model


CONSTRUCTORS = {
    "HRNetV1": HRNetV1,
    "HRNetV2": HRNetV2,
    "HRNetV2p": HRNetV2p,
    "HRNetClassifier": HRNetClassifier,
    "HRNetV2Landmarks": HRNetV2Landmarks,
    "HRNetFCOS": HRNetFCOS,
    "HRNetRetinaNet": HRNetRetinaNet,
}

MODEL_KINDS = {
    "classifier": HRNetClassifier,
    "pose": HRNetV1,
    "v1": HRNetV1,
    "segmentation": HRNetV2,
    "v2": HRNetV2,
    "detection": HRNetV2p,
    "v2p": HRNetV2p,
    "landmarks": HRNetV2Landmarks,
    "fcos": HRNetFCOS,
    "retinanet": HRNetRetinaNet,
}


def build_model(kind, **kwargs):
    """A model by task name ("classifier", "pose"/"v1", "segmentation"/"v2", "detection"/"v2p",
    "fcos")."""
    try:
        constructor = MODEL_KINDS[kind.lower()]
    except KeyError:
        raise ConfigError(f"unknown model kind {kind!r}; choose one of {sorted(MODEL_KINDS)}") from None
    return constructor(**kwargs)


def HRNetOCR(
    width=48,
    num_classes=19,
    input_shape=(None, None, 3),
    *,
    weights=None,
    name=None,
    upsample_method="bilinear_align_corners",
    bn_momentum=0.9,
    ocr_mid_channels=512,
    ocr_key_channels=256,
    dropout=0.05,
    sync_bn=False,
    input_tensor=None,
):
    """HRNet-OCR (official branch ``HRNet-OCR``, ``lib/models/seg_hrnet_ocr.py``): HRNetV2 features,
    soft object regions (``aux_head``), object-contextual representations (``conv3x3_ocr``,
    ``ocr_gather_head``, ``ocr_distri_head``) and ``cls_head``; see :mod:`hrnet_tf.models.ocr`.

    Returns a segmentation ``HRNetModel`` whose output is the dict ``{"aux": ..., "out": ...}`` of
    stride-4 logits: ``out`` is the prediction (official ``TEST.OUTPUT_INDEX`` -1), ``aux`` is
    trained beside it (``LOSS.BALANCE_WEIGHTS`` [0.4, 1]). Defaults are the official ones:
    ``MODEL.ALIGN_CORNERS`` True (``upsample_method="bilinear_align_corners"``), BN momentum 0.1
    (PyTorch; 0.9 here), ``MODEL.OCR`` MID_CHANNELS 512, KEY_CHANNELS 256, dropout 0.05. ``width``
    takes every official width and stage specifications, as the other constructors.
    """
    from hrnet_tf.models.ocr import SpatialGather, SpatialOCR, pytorch_default_init

    inputs, features = _trunk(
        width, input_shape, input_tensor, upsample_method, bn_momentum=bn_momentum, sync_bn=sync_bn
    )
    feats = UpsampleConcat(upsample_method, name="concat")(features)
    channels = feats.shape[-1]
    aux_head = SegmentationHead(channels, num_classes, 1, bn_momentum, sync_bn, name="aux_head")
    conv3x3_ocr = ConvBN(ocr_mid_channels, 3, 1, use_bias=True, bn_momentum=bn_momentum,
                         sync_bn=sync_bn, name="conv3x3_ocr")
    distri = SpatialOCR(ocr_mid_channels, ocr_key_channels, ocr_mid_channels, dropout,
                        bn_momentum, sync_bn, name="ocr_distri_head")
    cls_head = keras.layers.Conv2D(num_classes, 1, name="cls_head")
    aux = aux_head(feats)
    x = conv3x3_ocr(feats)
    context = SpatialGather(name="ocr_gather_head")([x, aux])
    out = cls_head(distri([x, context]))
    for head in (aux_head, conv3x3_ocr, distri, cls_head):  # official init_weights skips them
        pytorch_default_init(head)
    info = model_info("segmentation", "HRNetOCR", width, upsample_method, output_stride=4)
    return _finish(inputs, {"aux": aux, "out": out}, name or f"hrnet_ocr_{spec_name(width)}",
                   weights, info)


CONSTRUCTORS["HRNetOCR"] = HRNetOCR
MODEL_KINDS["ocr"] = HRNetOCR


# Lite-HRNet (issue 15): its own module, registered with the other constructors (presets, load).
from hrnet_tf.models.litehrnet import LiteHRNet  # noqa: E402

CONSTRUCTORS["LiteHRNet"] = LiteHRNet
