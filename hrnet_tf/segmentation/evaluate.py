"""Evaluate a segmentation model on a dataset split: mIoU, per-class IoU, prediction PNGs.

    python -m hrnet_tf.segmentation.evaluate --weights runs/segment/synthetic_tiny/model.keras
    python -m hrnet_tf.segmentation.evaluate --weights runs/w48/model.keras \\
        --data-dir /data/cityscapes --out runs/w48/ms_flip \\
        --mode multiscale --scales 0.5 0.75 1 1.25 1.5 1.75 --flip --save-predictions
    python -m hrnet_tf.segmentation.evaluate --dataset cityscapes --data-dir /data/cityscapes \\
        --weights hrnet_w48_cityscapes_cls19_1024x2048_trainset.pth
    python -m hrnet_tf.segmentation.evaluate --config configs/segmentation/cityscapes_ocr_w48_512x1024.yaml \\
        --data-dir /data/cityscapes --weights hrnet_ocr_cs_trainval_8227_torch11.pth

The multi-scale test is the official one (``tools/test.py``): windows of the test size
(``--test-size``, official ``TEST.IMAGE_SIZE``: Cityscapes 1024x2048, PASCAL-Context 480x480 or
520x520, LIP 473x473), the long side at scale 1 ``--base-size`` (``TEST.BASE_SIZE``), and the
dataset's rule (``--protocol``: Cityscapes shifts its last windows back, every other dataset pads).

The experiment is ``--config FILE``, else ``--dataset NAME``'s official one, else the
``config.yaml`` that training wrote beside ``--weights``, else the official experiment of the
dataset the model names. Writes ``OUT/metrics.json`` (``mIoU``, ``per_class``, ``skipped``, ...)
and, with ``--save-predictions``, ``OUT/predictions/<name>_color.png`` and, for Cityscapes,
``OUT/labelIds/<name>.png`` for the official benchmark server. A thin command over
:class:`~hrnet_tf.segmentation.evaluator.SegmentationEvaluator` and
:func:`hrnet_tf.evaluation.evaluate`.
"""

import argparse
import json
import os
import sys

from hrnet_tf.errors import ConfigError, ModelFileError


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m hrnet_tf.segmentation.evaluate", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--weights", help="OUT/model.keras, .weights.h5 or official .pth")
    parser.add_argument("--config", help="segmentation YAML experiment")
    parser.add_argument("--dataset", help="the dataset's official experiment (with --config: "
                        "sets data.dataset)")
    parser.add_argument("--data-dir", help="dataset root (sets data.dir)")
    parser.add_argument("--split", default=None, help="split to evaluate (default data.val_split)")
    parser.add_argument("--out", default=None, help="default: eval/ beside --weights")
    parser.add_argument("--mode", choices=("whole", "sliding", "multiscale"), default=None)
    parser.add_argument("--scales", type=float, nargs="+", default=None)
    parser.add_argument("--flip", action="store_true", default=None)
    parser.add_argument("--test-size", default=None, metavar="HxW",
                        help="sliding-window / test size (eval.test_size; default: the dataset's "
                        "official TEST.IMAGE_SIZE)")
    parser.add_argument("--base-size", type=int, default=None,
                        help="long side at scale 1 (eval.base_size, official TEST.BASE_SIZE)")
    parser.add_argument("--stride", default=None, metavar="HxW",
                        help="window stride (default: the test size on Cityscapes, 2/3 of it "
                        "elsewhere)")
    parser.add_argument("--protocol", choices=("cityscapes", "generic"), default=None,
                        help="multi-scale rule (default: the dataset's)")
    parser.add_argument("--save-predictions", action="store_true")
    parser.add_argument("--max-images", type=int, default=0)
    parser.add_argument("--set", dest="overrides", action="append", nargs="+", default=[],
                        metavar="KEY=VALUE", help="override any config key")
    return parser


def parse_hw(text, option):
    """``"1024x2048"`` (or one number for a square) -> (1024, 2048); ConfigError naming the
    option otherwise.

    >>> parse_hw("1024x2048", "--test-size"), parse_hw("473", "--test-size")
    ((1024, 2048), (473, 473))
    """
    parts = str(text).lower().replace(",", "x").split("x")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = []
    if len(values) not in (1, 2) or min(values) < 1:
        raise ConfigError(f"{option} {text!r}: expected HxW, e.g. 1024x2048")
    return values[0], values[-1]


def experiment_file(task, args, model):
    """The YAML experiment to evaluate with (see the module docstring)."""
    if args.config:
        return args.config
    if args.dataset:
        return task.config_file(args.dataset)
    if args.weights:
        beside = os.path.join(os.path.dirname(os.path.abspath(args.weights)), "config.yaml")
        if os.path.isfile(beside):
            return beside
    dataset = (model.info.labels or {}).get("dataset") if model is not None else None
    if dataset is None:
        raise ConfigError("pass --config FILE or --dataset NAME (the model does not name its "
                          "dataset)")
    return task.config_file(dataset)


def _main(argv):
    from hrnet_tf.evaluation import evaluate
    from hrnet_tf.models import load_or_build
    from hrnet_tf.segmentation.codec import fixed_input_size, model_align_corners, output_classes
    from hrnet_tf.segmentation.task import SegmentationTask, dataset_of, evaluator_of
    from hrnet_tf.training.config import load_config

    args = build_parser().parse_args(argv)
    task = SegmentationTask()
    keras_file = bool(args.weights) and args.weights.endswith(".keras")
    # A model file says what it segments, which may choose the experiment; other weights need
    # the experiment to build their model.
    model = load_or_build(args.weights, "segmentation", None) if keras_file else None
    overrides = []
    if args.config and args.dataset:
        overrides.append(f"data.dataset={args.dataset}")
    if args.data_dir:
        overrides.append(f"data.dir={args.data_dir}")
    if args.mode:
        overrides.append(f"eval.mode={args.mode}")
    if args.scales:
        overrides.append(f"eval.scales=[{','.join(str(s) for s in args.scales)}]")
    if args.flip is not None:
        overrides.append(f"eval.flip={str(args.flip).lower()}")
    for key, value in (("test_size", args.test_size), ("stride", args.stride)):
        if value:
            h, w = parse_hw(value, f"--{key.replace('_', '-')}")
            overrides.append(f"eval.{key}=[{h},{w}]")
    if args.base_size is not None:
        overrides.append(f"eval.base_size={args.base_size}")
    if args.protocol:
        overrides.append(f"eval.protocol={args.protocol}")
    if args.save_predictions:
        overrides.append("eval.save_predictions=true")
    if args.max_images:
        overrides.append(f"eval.max_images={args.max_images}")
    overrides += [item for group in args.overrides for item in group]
    config = load_config(experiment_file(task, args, model), task.config_class, overrides)
    task.validate(config)
    info = dataset_of(config)

    if model is None:
        model = load_or_build(args.weights, "segmentation", lambda: task.build_model(config))
    classes = output_classes(model)
    if classes != info.num_classes:
        raise ModelFileError(f"{args.weights}: the model predicts {classes} classes, dataset "
                             f"{config.data.dataset!r} has {info.num_classes}")

    pairs, unpaired = task.list_split(config, args.split or config.data.val_split)
    evaluator = evaluator_of(config, pairs, input_size=fixed_input_size(model),
                             normalization=model.info.normalization,
                             align_corners=model_align_corners(model))
    out = args.out or (os.path.join(os.path.dirname(args.weights), "eval") if args.weights
                       else "eval")
    metrics, skips = evaluate(model, evaluator, out)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2)
    for file, why in unpaired:
        skips.add(file, why)
    for line in skips.lines():
        print(line)
    print(f"mIoU {metrics['mIoU']:.4f} over {metrics['num_images']} images "
          f"({metrics['skipped']} skipped); {os.path.join(out, 'metrics.json')}")


def main(argv=None):
    from hrnet_tf.cli import run

    return run(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
