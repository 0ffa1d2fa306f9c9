"""python -m hrnet_tf.convert SRC DST [--model KIND --width W ...]

Converts an official PyTorch HRNet checkpoint (.pth/.pt with torch, or .safetensors) into Keras weights
(``DST.weights.h5``) or a whole Keras model (``DST.keras``).

Examples:
    python -m hrnet_tf.convert hrnetv2_w18_imagenet_pretrained.pth w18_c.weights.h5 --width 18
    python -m hrnet_tf.convert pose_hrnet_w32_256x192.pth pose_w32.keras --model pose --width 32
    python -m hrnet_tf.convert hrnet_w48_cityscapes_cls19_1024x2048_trainset.pth seg_w48.keras \\
        --model segmentation --width 48 --num-classes 19
"""

import argparse
import sys

from hrnet_tf.cli import ArgumentParser, run
from hrnet_tf.errors import ModelFileError
from hrnet_tf.models.cli_args import add_model_arguments, model_from_args


def _main(argv):
    parser = ArgumentParser(
        prog="python -m hrnet_tf.convert",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("src", help="official checkpoint: .pth, .pt, .bin or .safetensors")
    parser.add_argument("dst", help="output: NAME.weights.h5 (weights) or NAME.keras (whole model)")
    add_model_arguments(parser)
    parser.add_argument(
        "--layout",
        default="official",
        help="key names of the checkpoint: official (default), timm, mmpose, mmpose1, mmseg_fcn, mmdet",
    )
    parser.add_argument(
        "--non-strict",
        action="store_true",
        help="load the matching tensors and list the rest instead of failing",
    )
    args = parser.parse_args(argv)
    if not args.dst.endswith((".weights.h5", ".keras")):
        parser.error(f"dst must end with .weights.h5 or .keras, got {args.dst!r}")

    from hrnet_tf.convert.checkpoints import read_state_dict
    from hrnet_tf.convert.layouts import to_official
    from hrnet_tf.convert.torch_weights import WeightConversionError, load_torch_state_dict

    # A bad file or layout fails before the slow build.
    state = to_official(read_state_dict(args.src), args.layout)
    model = model_from_args(args)
    try:
        report = load_torch_state_dict(model, state, strict=not args.non_strict)
    except WeightConversionError as e:
        if e.report is None:
            raise
        print(e.report.describe())  # every key, for the user to compare with the model options
        raise ModelFileError(
            f"{args.src} does not fit {model.name} ({e.report.summary()}); the list is above, "
            "--non-strict loads what fits"
        ) from None
    print(report.describe())
    if args.dst.endswith(".keras"):
        model.save(args.dst)
    else:
        model.save_weights(args.dst)
    print(f"wrote {args.dst} ({model.name}, {model.count_params():,} parameters)")


def main(argv=None):
    return run(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
