"""HRNet models: stage specifications, the trunk, heads and the public constructors."""

from hrnet_tf.models.hrnet import (
    MODEL_KINDS,
    HRNetClassifier,
    HRNetV1,
    HRNetV2,
    HRNetV2p,
    build_model,
    feature_extractor,
    load_weights,
)
from hrnet_tf.models.specs import PRESETS, WIDTHS, HRNetSpec, StageSpec, resolve_spec

__all__ = [
    "MODEL_KINDS",
    "PRESETS",
    "WIDTHS",
    "HRNetClassifier",
    "HRNetSpec",
    "HRNetV1",
    "HRNetV2",
    "HRNetV2p",
    "StageSpec",
    "build_model",
    "feature_extractor",
    "load_weights",
    "resolve_spec",
]
