"""Train and evaluate FCOS HRNetV2p detection (docs/detection.md) (options: --help)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # an uninstalled checkout
from hrnet_tf.cli import train  # noqa: E402

sys.exit(train("detect"))
