"""HRNet models: stage specifications, the trunk, heads, the public constructors and HRNetModel."""

from hrnet_tf.models import ocr as _ocr  # noqa: F401 (registers the OCR layers for load_model)
from hrnet_tf.models.fold_bn import count_batch_norms, fold_batch_norm, inference_model
from hrnet_tf.models.hrnet import (
    MODEL_KINDS,
    HRNetClassifier,
    HRNetFCOS,
    HRNetOCR,
    HRNetRetinaNet,
    HRNetV1,
    HRNetV2,
    HRNetV2Landmarks,
    HRNetV2p,
    build_model,
    feature_extractor,
    from_preset,
    load_or_build,
    load_weights,
    retinanet_detector,
)
from hrnet_tf.models.litehrnet import LiteHRNet
from hrnet_tf.models.model import HRNetModel, ModelInfo, load_model
from hrnet_tf.models.specs import PRESETS, WIDTHS, HRNetSpec, StageSpec, resolve_spec

__all__ = [
    "MODEL_KINDS",
    "PRESETS",
    "WIDTHS",
    "HRNetClassifier",
    "HRNetFCOS",
    "HRNetModel",
    "HRNetOCR",
    "HRNetRetinaNet",
    "HRNetSpec",
    "HRNetV1",
    "HRNetV2",
    "HRNetV2Landmarks",
    "HRNetV2p",
    "LiteHRNet",
    "ModelInfo",
    "StageSpec",
    "build_model",
    "count_batch_norms",
    "fold_batch_norm",
    "feature_extractor",
    "from_preset",
    "inference_model",
    "load_model",
    "load_or_build",
    "load_weights",
    "resolve_spec",
    "retinanet_detector",
]
