"""HRNet models: stage specifications, the trunk, heads, the public constructors and HRNetModel."""

from hrnet_tf.models.hrnet import (
    MODEL_KINDS,
    HRNetClassifier,
    HRNetV1,
    HRNetV2,
    HRNetV2p,
    build_model,
    feature_extractor,
    from_preset,
    load_or_build,
    load_weights,
)
from hrnet_tf.models.litehrnet import LiteHRNet
from hrnet_tf.models.model import HRNetModel, ModelInfo, load_model
from hrnet_tf.models.specs import PRESETS, WIDTHS, HRNetSpec, StageSpec, resolve_spec

__all__ = [
    "MODEL_KINDS",
    "PRESETS",
    "WIDTHS",
    "HRNetClassifier",
    "HRNetModel",
    "HRNetSpec",
    "HRNetV1",
    "HRNetV2",
    "HRNetV2p",
    "LiteHRNet",
    "ModelInfo",
    "StageSpec",
    "build_model",
    "feature_extractor",
    "from_preset",
    "load_model",
    "load_or_build",
    "load_weights",
    "resolve_spec",
]
