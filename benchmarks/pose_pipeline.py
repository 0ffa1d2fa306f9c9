"""Pose training pipeline throughput: our tf.data pipeline vs the official per-sample cv2/numpy
pipeline (``JointsDataset.__getitem__`` re-derived in hrnet_tf/testing/pose_reference.py), run in the
same process on the same images.

    python benchmarks/pose_pipeline.py [--data-dir DIR] [--samples 512] [--size 256x192]

Uses ``DIR`` in the COCO layout (val2017 ground-truth boxes), or ../shared/testdata/coco_mini, or
else a generated synthetic set of 640x480 images. Prints samples/s of both and their ratio, and the
CPU time per sample of both (all threads; the official loop runs in one): on a shared machine the
CPU times move less than the rates.
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from hrnet_tf.data.normalization import IMAGENET_MEAN, IMAGENET_STD  # noqa: E402


def official_sample(record, rng, pipeline, ref):
    """One training sample the official way: cv2 read, random draws, warp, targets, normalise."""
    codec, aug = pipeline.codec, pipeline.augmentation
    image = cv2.imread(str(record["image_path"]), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    joints, vis = record["joints"].astype(np.float64), record["visible"].copy()
    center, scale = record["center"].copy(), record["scale"].copy()
    if vis.sum() > aug.num_joints_half_body and rng.random() < aug.prob_half_body:
        c, s = ref.half_body_transform(joints, vis, codec.keypoints.upper_body_ids,
                                       rng.normal(), codec.aspect_ratio)
        if c is not None:
            center, scale = c, s
    sf, rf = aug.scale_factor, aug.rotation_factor
    scale = scale * np.clip(rng.normal() * sf + 1, 1 - sf, 1 + sf)
    rot = np.clip(rng.normal() * rf, -rf * 2, rf * 2) if rng.random() <= 0.6 else 0
    flip = aug.flip and rng.random() <= 0.5
    crop, target, weight = ref.crop_sample(
        image, joints, vis, center, scale, rot, flip, codec.keypoints.flip_pairs,
        codec.image_size, codec.heatmap_size, codec.sigma)
    crop = (crop / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
    return crop.astype(np.float32), target, weight


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir")
    parser.add_argument("--samples", type=int, default=1024)
    parser.add_argument("--size", default="256x192", help="input HxW")
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args(argv)

    from hrnet_tf.pose.coco import load_coco
    from hrnet_tf.pose.codec import PoseCodec
    from hrnet_tf.pose.pipeline import PosePipeline
    from hrnet_tf.pose.synthetic import ensure_synthetic
    from hrnet_tf.testing import pose_reference as ref

    root = args.data_dir or os.path.join(ROOT, "..", "shared", "testdata", "coco_mini")
    if not os.path.isdir(root):
        root = ensure_synthetic("/tmp/hrnet_pose_bench", 1, 64, (640, 480))
    height, width = (int(v) for v in args.size.split("x"))
    codec = PoseCodec((width, height), sigma=2.0 if height <= 256 else 3.0)
    records = load_coco(root, "val2017", codec.aspect_ratio)
    repeats = int(np.ceil(args.samples / records.size))
    records = records.subset(np.tile(np.arange(records.size), repeats)[:args.samples])
    pipeline = PosePipeline(codec)

    import tensorflow as tf

    ds = pipeline.train_dataset(records, args.batch_size, seed=0, drop_remainder=False)
    batches = iter(ds)
    next(batches)  # traced, threads started: time the steady state, as the loop below
    start, cpu_start = time.perf_counter(), time.process_time()
    count = sum(int(images.shape[0]) for images, _ in batches)
    ours = count / (time.perf_counter() - start)
    ours_cpu = (time.process_time() - cpu_start) / count

    rng = np.random.default_rng(0)
    rows = [{k: v[i] for k, v in records.as_dict().items()} for i in range(records.size)]
    start, cpu_start = time.perf_counter(), time.process_time()
    for row in rows:
        official_sample(row, rng, pipeline, ref)
    official = len(rows) / (time.perf_counter() - start)
    official_cpu = (time.process_time() - cpu_start) / len(rows)

    print(f"data: {root} ({records.size} samples, {args.size}); "
          f"{os.cpu_count()} CPU cores visible, TF {tf.__version__}")
    print(f"tf.data pipeline (AUTOTUNE):          {ours:8.1f} samples/s")
    print(f"official cv2/numpy per-sample loop:   {official:8.1f} samples/s")
    print(f"ratio tf.data / official:             {ours / official:8.2f}x")
    # CPU time per sample (all threads): what a sample costs whatever the machine's load
    print(f"CPU ms per sample, tf.data / official: {1e3 * ours_cpu:6.2f} / {1e3 * official_cpu:6.2f}"
          f" = {ours_cpu / official_cpu:.2f}")


if __name__ == "__main__":
    main()
