"""Train HRNet-Wxx-C on ImageNet (or any folder / TFRecord classification dataset).

    python train/classify.py --config configs/classification/w18.yaml --data-dir /data/imagenet
    python train/classify.py            # a 1-minute synthetic demo with the tiny network
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from hrnet_tf.classification import ClassificationTask  # noqa: E402
from hrnet_tf.training.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(ClassificationTask()))
