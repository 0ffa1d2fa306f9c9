"""Throughput of the segmentation input pipeline and loss at the official Cityscapes sizes.

    python benchmarks/seg_pipeline.py [--images 12] [--batch 3] [--steps 20]

Writes generated 1024x2048 scenes (Cityscapes layout) to a temporary folder, then times
(1) the training tf.data pipeline (decode, label mapping, random scale 0.5-2.1, pad, 512x1024
crop, flip, normalize) in samples/s, and (2) the plain and OHEM losses on a batch of 19-class
stride-4 logits (upsampling to 512x1024 included), in ms per batch.
"""

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from hrnet_tf.segmentation.loss import SegmentationLoss  # noqa: E402
from hrnet_tf.segmentation.pipeline import train_dataset  # noqa: E402
from hrnet_tf.segmentation.sources import dataset_info, list_pairs  # noqa: E402
from hrnet_tf.segmentation.synthetic import write_synthetic_cityscapes  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=12)
    parser.add_argument("--batch", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()

    root = tempfile.mkdtemp(prefix="seg_bench_")
    write_synthetic_cityscapes(root, num_train=args.images, num_val=0, size=(1024, 2048))
    pairs, _ = list_pairs("cityscapes", root, "train")
    info = dataset_info("cityscapes")

    samples, start = 0, None
    for epoch in range(100):
        for images, _ in train_dataset(pairs, info, args.batch, seed=epoch):
            if start is None:  # the first batch includes start-up
                start = time.perf_counter()
                continue
            samples += int(images.shape[0])
        if samples >= args.steps * args.batch:
            break
    seconds = time.perf_counter() - start
    print(f"pipeline: {samples / seconds:.2f} samples/s ({args.batch}x512x1024 crops from "
          f"1024x2048 PNGs, {os.cpu_count()} CPUs)")

    rng = np.random.default_rng(0)
    logits = tf.constant(rng.normal(size=(args.batch, 128, 256, 19)).astype(np.float32))
    labels = tf.constant(rng.integers(0, 19, (args.batch, 512, 1024)).astype(np.int32))
    for name, loss in [("cross-entropy", SegmentationLoss(19, info.class_weights)),
                       ("OHEM", SegmentationLoss(19, info.class_weights, use_ohem=True))]:
        fn = tf.function(loss.__call__)
        fn(labels, logits)
        t = time.perf_counter()
        for _ in range(5):
            fn(labels, logits).numpy()
        print(f"{name}: {(time.perf_counter() - t) / 5 * 1000:.0f} ms per batch of {args.batch}")


if __name__ == "__main__":
    main()
