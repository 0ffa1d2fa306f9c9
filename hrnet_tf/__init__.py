"""hrnet_tf: HRNet (High-Resolution Network) for Keras 3 / TensorFlow.

import hrnet_tf
model = hrnet_tf.HRNetV2(width=48, num_classes=19)
model = hrnet_tf.load_model("runs/segment/cityscapes_w48_512x1024/model.keras")
x = hrnet_tf.preprocess_input(rgb_uint8_images)
"""

__version__ = "0.1.0"

import os  # noqa: E402
import sys  # noqa: E402

# TensorFlow's C++ start-up lines (CUDA probing, CPU features) would otherwise precede every
# command's output and its one-line errors; set TF_CPP_MIN_LOG_LEVEL yourself to see them.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# The commands (`python -m hrnet_tf.<task>.evaluate|predict`, `python -m hrnet_tf.export`, ...;
# train/*.py do the same) run TensorFlow's oneDNN kernels, which TF leaves off on AMD CPUs: here
# training steps take 0.64x and batch-8 inference 0.44-0.8x the time, and batch 1 is as fast as
# without because their forward function holds the weights as constants (benchmarks/README.md).
# Not for a plain `import hrnet_tf`: under oneDNN Keras' own `predict` re-orders variable filters
# on every call (batch 1 took 2x the time). While `python -m` imports the packages of the module it
# runs, sys.argv[0] is "-m". TF reads the variable once, when it loads.
if sys.argv[:1] == ["-m"] and "tensorflow" not in sys.modules:
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

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
