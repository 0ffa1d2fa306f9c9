"""hrnet_tf: HRNet (High-Resolution Network) for Keras 3 / TensorFlow.

import hrnet_tf
model = hrnet_tf.HRNetV2(width=48, num_classes=19)
"""

__version__ = "0.1.0"

from hrnet_tf.models import (  # noqa: E402
    WIDTHS,
    HRNetClassifier,
    HRNetSpec,
    HRNetV1,
    HRNetV2,
    HRNetV2p,
    StageSpec,
    load_weights,
)

__all__ = [
    "WIDTHS",
    "HRNetClassifier",
    "HRNetSpec",
    "HRNetV1",
    "HRNetV2",
    "HRNetV2p",
    "StageSpec",
    "__version__",
    "load_weights",
]
