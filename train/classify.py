"""Train and evaluate HRNet-Wxx-C classification (docs/training.md) (options: --help)."""
import os
import sys

# oneDNN's convolution backprop kernels: about 0.6x the CPU time of a training step (read when
# TensorFlow loads, so before the import; benchmarks/README.md). Set it to 0 to compare.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # an uninstalled checkout
from hrnet_tf.cli import train  # noqa: E402

sys.exit(train("classify"))
