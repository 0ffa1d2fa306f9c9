"""The command-line contract every ``train/*.py`` script shares::

    python train/classify.py --config FILE [--data-dir DIR] [--out DIR] [--set key=value ...]
        [--strategy default|mirrored|multiworker|tpu] [--virtual-devices N]

A script is three lines::

    import sys
    from hrnet_tf.training.cli import main
    from hrnet_tf.classification import ClassificationTask
    sys.exit(main(ClassificationTask()))

Exit status: 0 done; 2 bad configuration or data (one line on stderr); 3 training diverged.
"""

import argparse
import os
import sys

from hrnet_tf.training.config import ConfigError, DataError, load_config
from hrnet_tf.training.distribute import STRATEGIES


def build_parser(task):
    parser = argparse.ArgumentParser(
        prog=f"train/{task.name}",
        description=f"Train the {task.name} task (see docs/training.md).",
    )
    parser.add_argument("--config", help="YAML experiment file (configs/...)")
    parser.add_argument("--data-dir", help="dataset root; sets data.dir")
    parser.add_argument("--out", help="output folder (default: runs/<task>/<config name>)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="override any config key, e.g. --set train.lr=0.1 train.epochs=5",
    )
    parser.add_argument("--strategy", choices=STRATEGIES, default="default")
    parser.add_argument(
        "--virtual-devices",
        type=int,
        default=0,
        metavar="N",
        help="split the CPU into N logical devices (MirroredStrategy without GPUs)",
    )
    task.add_arguments(parser)
    return parser


def resolve_config(task, args):
    """The configuration from ``--config`` (or the task's default), ``--data-dir`` and ``--set``."""
    overrides = []
    path = args.config
    if path is None:
        path = task.default_config()
        overrides += list(task.default_overrides())
    if args.data_dir:
        overrides.append(f"data.dir={args.data_dir}")
    overrides += [item for group in args.overrides for item in group]
    config = load_config(path, task.config_class, overrides)
    return task.apply_arguments(args, config), path


def default_out_dir(task, config_path):
    stem = os.path.splitext(os.path.basename(config_path))[0] if config_path else "default"
    return os.path.join("runs", task.name, stem)


def main(task, argv=None):
    """Parses ``argv``, builds the strategy, trains; returns the exit status."""
    args = build_parser(task).parse_args(argv)
    try:
        config, path = resolve_config(task, args)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    out_dir = args.out or default_out_dir(task, path)

    # Devices must be configured before TensorFlow runs its first op.
    from hrnet_tf.training.distribute import make_strategy
    from hrnet_tf.training.trainer import Trainer, TrainingDiverged

    try:
        strategy = make_strategy(args.strategy, args.virtual_devices)
        Trainer(task, config, out_dir, strategy).fit()
    except (ConfigError, DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except TrainingDiverged as e:
        print(f"error: {e}", file=sys.stderr)
        return 3
    return 0


__all__ = ["DataError", "build_parser", "main", "resolve_config"]
