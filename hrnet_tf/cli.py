"""The command-line contract of every hrnet_tf command.

``run(main, argv)`` wraps a command's ``main``; exit status: 0 done; 2 a user error (bad
configuration, missing or bad data, a model file that does not fit: one line ``error: ...`` on
stderr, no traceback); 3 training diverged; 1 an internal failure (with its traceback).

``train(command, argv)`` is the whole of every ``train/*.py`` script::

    python train/<task>.py [--config FILE | --dataset NAME] [--data-dir DIR] [--out DIR]
        [--set key=value ...] [--strategy default|mirrored|multiworker|tpu] [--virtual-devices N]

Which experiment runs: ``--config FILE``; else ``--dataset NAME``'s official experiment; else, with
``--data-dir``, the task's main official recipe (ImageNet W18-C, COCO W32 256x192, Cityscapes W48);
else the synthetic demo (generated data, no download).
"""

import argparse
import os
import sys

from hrnet_tf.errors import DataError, HRNetError, UserError


def run(main, argv=None):
    """Calls ``main(argv)`` and turns the errors hrnet_tf raises on purpose into exit statuses."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        status = main(argv)
    except HRNetError as e:
        print(f"error: {e}", file=sys.stderr)
        return getattr(e, "exit_status", 1)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0 if status is None else int(status)


def read_photo(path):
    """A predict command's input image, uint8 RGB ``[H, W, 3]``; a missing or unreadable file is a
    ``DataError`` naming it."""
    from hrnet_tf.data.images import read_image_numpy

    try:
        return read_image_numpy(path)
    except (FileNotFoundError, ValueError) as e:
        raise DataError(str(e)) from None


def write_drawing(drawn, image_path, suffix, out=None):
    """Writes a predict command's RGB drawing as a PNG, ``out`` or ``<image stem>_<suffix>.png``,
    and returns its path; a path that cannot be written is a ``DataError`` naming it."""
    from hrnet_tf.data.images import write_png

    path = out or f"{os.path.splitext(os.path.basename(image_path))[0]}_{suffix}.png"
    try:
        write_png(path, drawn)
    except OSError as e:
        raise DataError(str(e)) from None
    return path


class ArgumentParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` whose usage errors are user errors: under :func:`run` a bad or
    missing argument prints one line ``error: <prog>: <problem>`` and exits with status 2
    (``--help`` still prints the help and exits 0)."""

    def error(self, message):
        raise UserError(f"{self.prog}: {message} (see --help)")


def build_train_parser(task):
    from hrnet_tf.training.distribute import STRATEGIES

    parser = argparse.ArgumentParser(
        prog=f"train/{task.name}.py",
        description=f"Train and evaluate the {task.name} task (docs/training.md).",
    )
    parser.add_argument("--config", help="YAML experiment file (configs/<task>/...)")
    parser.add_argument(
        "--dataset",
        choices=sorted(task.dataset_configs),
        help="the dataset's official experiment (with --config: sets data.dataset)",
    )
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
    return parser


def resolve_config(task, args):
    """(config, path of the experiment file) from the command-line arguments."""
    from hrnet_tf.training.config import load_config

    overrides = []
    if args.config:
        path = args.config
        if args.dataset:
            overrides.append(f"data.dataset={args.dataset}")
    elif args.dataset:
        path = task.config_file(args.dataset)
    elif args.data_dir:
        path = task.config_file(task.default_dataset)
    else:
        path = task.config_file("synthetic")
    if args.data_dir:
        overrides.append(f"data.dir={args.data_dir}")
    overrides += [item for group in args.overrides for item in group]
    config = load_config(path, task.config_class, overrides)
    task.validate(config)
    return config, path


def train(command, argv=None):
    """Runs ``train/<command>.py``; returns the exit status."""

    def main(argv):
        from hrnet_tf.registry import get_task

        task = get_task(command)
        args = build_train_parser(task).parse_args(argv)
        config, path = resolve_config(task, args)
        stem = os.path.splitext(os.path.basename(path))[0]
        out_dir = args.out or os.path.join("runs", task.name, stem)
        # Devices are configured before TensorFlow runs its first op.
        from hrnet_tf.training.distribute import make_strategy
        from hrnet_tf.training.trainer import Trainer

        strategy = make_strategy(args.strategy, args.virtual_devices)
        Trainer(task, config, out_dir, strategy).fit()

    return run(main, argv)


__all__ = ["ArgumentParser", "UserError", "build_train_parser", "resolve_config", "run", "train"]
