"""Train and evaluate HRNetV1 top-down pose estimation (see docs/pose.md).

    python train/pose.py                                  # synthetic demo: data, training, COCO AP
    python train/pose.py --data-dir data/coco             # official W32 256x192 recipe on COCO
    python train/pose.py --config configs/pose/coco_w48_384x288.yaml --data-dir data/coco \
        [--out DIR] [--set key=value ...] [--strategy mirrored]

Exit status: 0 done; 2 bad configuration or data (one line on stderr); 3 training diverged.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# Runnable from a source checkout without installing the package.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from hrnet_tf.pose.task import COCO_CONFIG, PoseTask  # noqa: E402
from hrnet_tf.training.cli import main  # noqa: E402
from hrnet_tf.training.config import DataError  # noqa: E402


def run(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    has_config = any(a == "--config" or a.startswith("--config=") for a in argv)
    has_data = any(a == "--data-dir" or a.startswith("--data-dir=") for a in argv)
    if has_data and not has_config:
        # a data directory without a config means the paper's main recipe on real COCO
        argv = ["--config", COCO_CONFIG, *argv]
    try:
        return main(PoseTask(), argv)
    except DataError as e:  # found while reading the annotations, before training starts
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # an unreadable image found inside tf.data: report its one line
        import tensorflow as tf

        if isinstance(e, tf.errors.OpError):
            print(f"error: {e.message.splitlines()[0]}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(run())
