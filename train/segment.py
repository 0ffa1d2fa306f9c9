"""Train HRNetV2 semantic segmentation (see docs/segmentation.md).

    python train/segment.py --dataset cityscapes --data-dir /data/cityscapes
    python train/segment.py --config configs/segmentation/cityscapes_w48_512x1024.yaml \
        --data-dir /data/cityscapes --out runs/w48 [--set key=value ...] [--strategy mirrored]
    python train/segment.py --dataset synthetic       # CPU demo on generated scenes

Exit status: 0 done; 2 bad configuration or data (one line on stderr); 3 training diverged.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# Runnable from a source checkout without installing the package.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from hrnet_tf.segmentation.task import SegmentationTask  # noqa: E402
from hrnet_tf.training.cli import main  # noqa: E402


def run(argv=None):
    try:
        return main(SegmentationTask(), argv)
    except Exception as e:  # a bad sample found inside tf.data: report its one line
        import tensorflow as tf

        from hrnet_tf.segmentation.pipeline import bad_sample_message

        if isinstance(e, tf.errors.InvalidArgumentError) and "assertion failed" in str(e):
            print(f"error: {bad_sample_message(e)}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(run())
