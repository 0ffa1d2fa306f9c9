"""hrnet_tf: HRNet (High-Resolution Network) for Keras 3 / TensorFlow.

import hrnet_tf
model = hrnet_tf.HRNetV2(width=48, num_classes=19)
model = hrnet_tf.load_model("runs/segment/cityscapes_w48_512x1024/model.keras")
x = hrnet_tf.preprocess_input(rgb_uint8_images)
"""

__version__ = "0.1.0"

import os  # noqa: E402

# TensorFlow's C++ start-up lines (CUDA probing, CPU features) would otherwise precede every
# command's output and its one-line errors; set TF_CPP_MIN_LOG_LEVEL yourself to see them.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from hrnet_tf.data.normalization import preprocess_input  # noqa: E402
from hrnet_tf.models import (  # noqa: E402
    WIDTHS,
    HRNetClassifier,
    HRNetFCOS,
    HRNetModel,
    HRNetOCR,
    HRNetRetinaNet,
    HRNetSpec,
    HRNetV1,
    HRNetV2,
    HRNetV2Landmarks,
    HRNetV2p,
    LiteHRNet,
    ModelInfo,
    StageSpec,
    from_preset,
    inference_model,
    load_model,
    load_weights,
    retinanet_detector,
)

__all__ = [
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
    "__version__",
    "from_preset",
    "inference_model",
    "load_model",
    "load_weights",
    "preprocess_input",
    "retinanet_detector",
]
