"""Evaluation: confusion-matrix mIoU over a dataset split, prediction PNGs, benchmark files.

    python -m hrnet_tf.segmentation.evaluate \\
        --config configs/segmentation/cityscapes_w48_512x1024.yaml \\
        --weights OUT/model.keras --data-dir /data/cityscapes --out OUT/eval \\
        [--mode whole|sliding|multiscale] [--scales 0.5 0.75 1 1.25 1.5 1.75] [--flip] \\
        [--save-predictions]

writes ``OUT/eval/metrics.json`` (``mIoU``, ``per_class``, ...), and with ``--save-predictions``
``predictions/<name>_color.png`` in the dataset palette and, for Cityscapes,
``labelIds/<name>.png`` holding label ids for the official benchmark server.
"""

import argparse
import json
import os
import sys

import cv2
import numpy as np
import tensorflow as tf

from hrnet_tf.segmentation import labels as L
from hrnet_tf.segmentation.inference import predict_train_ids
from hrnet_tf.segmentation.metrics import confusion_matrix, miou_report
from hrnet_tf.segmentation.pipeline import bad_sample_message, eval_dataset, normalize


def _stem(path):
    name = os.path.basename(path)
    return os.path.splitext(name)[0]


def write_prediction_files(train_ids, image_path, out_dir, info):
    """Saves the color map (and Cityscapes label ids) of one prediction; returns the paths."""
    stem = _stem(image_path)
    written = []
    color_dir = os.path.join(out_dir, "predictions")
    os.makedirs(color_dir, exist_ok=True)
    color = L.colorize(train_ids, info.colors)
    path = os.path.join(color_dir, f"{stem}_color.png")
    cv2.imwrite(path, cv2.cvtColor(color, cv2.COLOR_RGB2BGR))
    written.append(path)
    if info.benchmark_label_ids:
        id_dir = os.path.join(out_dir, "labelIds")
        os.makedirs(id_dir, exist_ok=True)
        path = os.path.join(id_dir, f"{stem}.png")
        cv2.imwrite(path, L.train_ids_to_label_ids(train_ids))
        written.append(path)
    return written


def evaluate_pairs(model, pairs, info, out_dir=None, mode="whole", scales=(1.0,), flip=False,
                   crop_size=None, base_size=None, stride=None, on_bad="error",
                   save_predictions=False, max_images=0):
    """mIoU report of ``model`` on ``pairs``; writes ``out_dir/metrics.json`` when given.

    Bad samples raise (one line) or, with ``on_bad="skip"``, are counted in ``skipped``.
    LIP-style datasets (``info.resize_to_crop_first``) are run at the crop size and the scores
    resized to the label size, as the official LIP test does.
    """
    crop_size = tuple(crop_size or info.crop_size)
    confusion = np.zeros((info.num_classes, info.num_classes), np.int64)
    skipped, evaluated = 0, 0
    iterator = eval_dataset(pairs, info, on_bad).as_numpy_iterator()
    while True:
        try:
            image, label, ok, problem, image_path = next(iterator)
        except StopIteration:
            break
        except tf.errors.InvalidArgumentError as e:
            raise ValueError(bad_sample_message(e)) from None
        if not ok:
            skipped += 1
            print(f"skipped bad sample: {problem.decode()}", file=sys.stderr)
            continue
        x = normalize(image)[None]
        if info.resize_to_crop_first:
            x = tf.image.resize(x, crop_size, method="bilinear")
        train_ids = predict_train_ids(
            model, x, mode, scales, flip, crop_size, base_size, stride, info.flip_pairs,
            output_size=label.shape,
        )
        confusion += confusion_matrix(label, train_ids, info.num_classes, info.ignore_label)
        if save_predictions and out_dir:
            write_prediction_files(train_ids, image_path.decode(), out_dir, info)
        evaluated += 1
        if max_images and evaluated >= max_images:
            break
    report = miou_report(confusion, info.class_names)
    report.update(num_images=evaluated, skipped=skipped, mode=mode, scales=list(scales),
                  flip=bool(flip))
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
        with open(os.path.join(out_dir, "metrics.json"), "w") as f:
            json.dump(report, f, indent=2)
    return report


def load_model(weights, config=None):
    """A ``.keras`` model file as saved by training, or weights loaded into the configured model."""
    import keras

    if weights and weights.endswith(".keras"):
        if not os.path.isfile(weights):
            raise FileNotFoundError(f"model file not found: {weights}")
        return keras.saving.load_model(weights, compile=False)
    if config is None:
        raise ValueError("weights other than a .keras model need --config to build the model")
    from hrnet_tf.segmentation.task import SegmentationTask

    model = SegmentationTask().build_model(config)
    if weights:
        from hrnet_tf.models import load_weights

        load_weights(model, weights)
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m hrnet_tf.segmentation.evaluate", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--config", required=True, help="segmentation YAML config")
    parser.add_argument("--weights", help="OUT/model.keras, .weights.h5 or official .pth")
    parser.add_argument("--data-dir", help="dataset root (overrides data.dir)")
    parser.add_argument("--split", default=None, help="split to evaluate (default data.val_split)")
    parser.add_argument("--out", default="eval_out")
    parser.add_argument("--mode", choices=("whole", "sliding", "multiscale"), default=None)
    parser.add_argument("--scales", type=float, nargs="+", default=None)
    parser.add_argument("--flip", action="store_true", default=None)
    parser.add_argument("--save-predictions", action="store_true")
    parser.add_argument("--max-images", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)

    from hrnet_tf.segmentation.datasets import DatasetError
    from hrnet_tf.segmentation.task import SegmentationConfig, dataset_of, load_pairs
    from hrnet_tf.training.config import ConfigError, load_config

    try:
        config = load_config(args.config, SegmentationConfig, args.set)
        if args.data_dir:
            config.data.dir = args.data_dir
        info = dataset_of(config)
        pairs, _ = load_pairs(config, args.split or config.data.val_split)
        model = load_model(args.weights, config)
        report = evaluate_pairs(
            model, pairs, info, args.out,
            mode=args.mode or config.eval.mode,
            scales=args.scales or config.eval.scales,
            flip=config.eval.flip if args.flip is None else args.flip,
            base_size=config.eval.base_size or None,
            on_bad=config.data.on_bad,
            save_predictions=args.save_predictions,
            max_images=args.max_images or config.eval.max_images,
        )
    except (ConfigError, DatasetError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"mIoU {report['mIoU']:.4f} over {report['num_images']} images "
          f"({report['skipped']} skipped); {os.path.join(args.out, 'metrics.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
