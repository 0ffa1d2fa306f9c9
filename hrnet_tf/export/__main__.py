"""Command line of the exporter (``python -m hrnet_tf.export``).

Examples:
    python -m hrnet_tf.export --model-path runs/pose/model.keras --format saved_model \\
        --out saved_models/pose_w32
    python -m hrnet_tf.export --model-path runs/pose/model.keras --format tflite --quantize int8 \\
        --representative-data data/coco/val2017 --out saved_models/pose_w32_int8
    python -m hrnet_tf.export --model-path runs/seg/model.keras --format onnx \\
        --input-size 512x1024 --out saved_models/seg_small_v2
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before hrnet_tf loads TensorFlow

from hrnet_tf.cli import ArgumentParser, run  # noqa: E402


def build_parser():
    from hrnet_tf.export.api import FORMATS
    from hrnet_tf.export.tasks import TASKS
    from hrnet_tf.export.tflite import QUANTIZE_MODES
    from hrnet_tf.models.cli_args import parse_size

    parser = ArgumentParser(
        prog="python -m hrnet_tf.export",
        description="Export an hrnet_tf Keras model to SavedModel, TFLite or ONNX and check it "
        "against the Keras model (report written next to the export).",
    )
    parser.add_argument("--model-path", required=True, help="a .keras file (model.save)")
    parser.add_argument("--format", required=True, choices=FORMATS)
    parser.add_argument("--out", required=True,
                        help="saved_models/NAME: a directory (saved_model) or NAME.tflite/.onnx")
    parser.add_argument("--quantize", default="none", choices=QUANTIZE_MODES,
                        help="TFLite only (default none = float32)")
    parser.add_argument("--representative-data", metavar="DIR",
                        help="images for int8 calibration and the accuracy check")
    parser.add_argument("--task", default="auto", choices=("auto", *TASKS),
                        help="hrnet_tf models know their task (model.info): 'raw' exports only the "
                        "raw signature; for a plain Keras model, the signature to add (default raw)")
    parser.add_argument("--input-size", type=parse_size, metavar="HxW",
                        help="fix the input size of a model built with (None, None, 3)")
    parser.add_argument("--no-fold-bn", action="store_true",
                        help="keep BatchNorm layers (default: fold them into the convolutions)")
    parser.add_argument("--calibrate-bn", action="store_true",
                        help="re-estimate BN statistics on the data first (random-init demos only)")
    parser.add_argument("--threads", type=int, default=2, help="threads for the checks")
    return parser


def _main(argv):
    args = build_parser().parse_args(argv)
    from hrnet_tf.errors import ConfigError
    from hrnet_tf.export.api import check_options, export_input_size, export_model, load_image_dir
    from hrnet_tf.export.tasks import calibrate_batch_norm, check_task, normalize_uint8, sample_images
    from hrnet_tf.models.model import load_keras_file

    # Everything the arguments can get wrong is checked before the slow part starts.
    check_options(args.format, args.quantize)
    model = load_keras_file(args.model_path)  # hrnet_tf models come back with their info
    task = check_task(args.task, model)
    size = export_input_size(model, args.format, task, args.input_size)
    images = None
    if args.representative_data:
        if size is None:
            raise ConfigError("--representative-data with a model that takes any image size needs "
                              "--input-size HxW")
        images, skipped = load_image_dir(args.representative_data, size)
        if skipped:
            print(f"skipped {len(skipped)} unreadable image(s) in {args.representative_data}: "
                  + "; ".join(skipped[:5]) + (" ..." if len(skipped) > 5 else ""))
    elif args.quantize == "int8":
        print("warning: int8 without --representative-data calibrates on synthetic images; "
              "expect a poor accuracy report", file=sys.stderr)
        images = sample_images(32, size)
    if args.calibrate_bn:
        calibration = images if images is not None else sample_images(16, size or (256, 256))
        calibrate_batch_norm(model, normalize_uint8(calibration, model).numpy())
    export_model(
        model,
        args.out,
        args.format,
        quantize=args.quantize,
        task=task,
        representative_images=images,
        input_size=args.input_size,
        fold_bn=not args.no_fold_bn,
        num_threads=args.threads,
    )


def main(argv=None):
    """``python -m hrnet_tf.export``; returns the exit status (2 for a user error, one line)."""
    return run(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
