"""Evaluate a detector (FCOS or RetinaNet) on a COCO-format split: the twelve COCO bbox stats
and the results json.

    python -m hrnet_tf.detection.evaluate --weights runs/detect/synthetic_shapes/model.keras
    python -m hrnet_tf.detection.evaluate --weights runs/fcos_w32/model.keras --data-dir /data/coco \\
        --out runs/fcos_w32/eval

The experiment is ``--config FILE``, else the ``config.yaml`` that training wrote beside
``--weights``. Writes ``OUT/metrics.json`` (``AP``, ``AP50``, ... ``ARl``, ``skipped``) and
``OUT/bbox_results.json`` (COCO results format). A thin command over
:class:`~hrnet_tf.detection.evaluator.DetectionEvaluator` and :func:`hrnet_tf.evaluation.evaluate`.
"""

import argparse
import json
import os
import sys

from hrnet_tf.errors import ConfigError


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m hrnet_tf.detection.evaluate",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", required=True, help="a trained detector OUT/model.keras")
    parser.add_argument("--config", help="detection YAML experiment (default: config.yaml beside "
                        "--weights)")
    parser.add_argument("--data-dir", help="dataset root (sets data.dir)")
    parser.add_argument("--out", help="default: eval/ beside --weights")
    parser.add_argument("--set", dest="overrides", action="append", nargs="+", default=[],
                        metavar="KEY=VALUE", help="override any config key")
    return parser


def _main(argv):
    from hrnet_tf.detection.predict import load_detector
    from hrnet_tf.detection.sources import load_split
    from hrnet_tf.detection.task import DetectionConfig, DetectionTask, data_root, split_files
    from hrnet_tf.evaluation import evaluate
    from hrnet_tf.training.config import config_path, load_config
    from hrnet_tf.training.task import TaskData

    args = build_parser().parse_args(argv)
    config_file = args.config
    if not config_file:
        config_file = os.path.join(os.path.dirname(os.path.abspath(args.weights)), "config.yaml")
        if not os.path.isfile(config_file):
            raise ConfigError(f"pass --config FILE (no config.yaml beside {args.weights})")
    overrides = [item for group in args.overrides for item in group]
    if args.data_dir:
        overrides.append(f"data.dir={args.data_dir}")
    config = load_config(config_path(config_file), DetectionConfig, overrides)
    task = DetectionTask()
    task.validate(config)
    model = load_detector(args.weights)
    root = data_root(config.data)
    val = load_split(*split_files(config, root, "val"), max_images=config.data.max_val_images)
    out = args.out or os.path.join(os.path.dirname(os.path.abspath(args.weights)), "eval")
    metrics, skips = evaluate(model, task.build_evaluator(config, TaskData(val=val)), out)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2, sort_keys=True)
    for line in [val.report("val"), *skips.lines()]:
        if line:
            print(line)
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in metrics.items()}))
    print(f"wrote {out}/metrics.json", file=sys.stderr)


def main(argv=None):
    from hrnet_tf.cli import run

    return run(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
