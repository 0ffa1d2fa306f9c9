"""Command line of the exporter (``python -m hrnet_tf.export``).

Examples:
    python -m hrnet_tf.export --model-path runs/pose/model.keras --format saved_model \\
        --out saved_models/pose_w32
    python -m hrnet_tf.export --model-path runs/pose/model.keras --format tflite --quantize int8 \\
        --representative-data data/coco/val2017 --out saved_models/pose_w32_int8
    python -m hrnet_tf.export --model-path runs/seg/model.keras --format onnx \\
        --input-size 512x1024 --out saved_models/seg_small_v2
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def parse_size(text):
    """"256x192" -> (256, 192) (height x width)."""
    try:
        height, width = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"size must be HEIGHTxWIDTH, e.g. 256x192; got {text!r}"
        ) from None
    return height, width


def build_parser():
    from hrnet_tf.export.api import FORMATS
    from hrnet_tf.export.tasks import TASKS
    from hrnet_tf.export.tflite import QUANTIZE_MODES

    parser = argparse.ArgumentParser(
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
                        help="default: detected from the model (hrnet_v1 pose, hrnet_v2 "
                        "segmentation, *_c classification)")
    parser.add_argument("--input-size", type=parse_size, metavar="HxW",
                        help="fix the input size of a model built with (None, None, 3)")
    parser.add_argument("--no-fold-bn", action="store_true",
                        help="keep BatchNorm layers (default: fold them into the convolutions)")
    parser.add_argument("--calibrate-bn", action="store_true",
                        help="re-estimate BN statistics on the data first (random-init demos only)")
    parser.add_argument("--threads", type=int, default=2, help="threads for the checks")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    import keras

    import hrnet_tf  # noqa: F401 (registers the custom layers for loading)
    from hrnet_tf.export.api import export_model, load_image_dir
    from hrnet_tf.export.tasks import (
        calibrate_batch_norm,
        model_input_size,
        normalize_uint8,
        sample_images,
    )

    if not os.path.isfile(args.model_path):
        sys.exit(f"error: --model-path: no such file: {args.model_path}")
    try:
        model = keras.saving.load_model(args.model_path, compile=False)
    except Exception as e:  # noqa: BLE001 - one clear line for any unreadable model file
        sys.exit(f"error: --model-path {args.model_path}: cannot load Keras model: {e}")

    size = args.input_size
    if size is None and None not in model_input_size(model):
        size = tuple(int(v) for v in model_input_size(model))
    images = None
    if args.representative_data:
        if size is None:
            sys.exit("error: --representative-data with a dynamic-size model needs --input-size")
        try:
            images, skipped = load_image_dir(args.representative_data, size)
        except (FileNotFoundError, ValueError) as e:
            sys.exit(f"error: {e}")
        if skipped:
            print(f"skipped {len(skipped)} unreadable image(s) in {args.representative_data}, "
                  f"e.g. {skipped[0]}")
    elif args.quantize == "int8":
        print("warning: int8 without --representative-data calibrates on synthetic images; "
              "expect a poor accuracy report")
        images = sample_images(32, size or (256, 256))
    if args.calibrate_bn:
        calibration = images if images is not None else sample_images(16, size or (256, 256))
        calibrate_batch_norm(model, normalize_uint8(calibration).numpy())
    try:
        export_model(
            model,
            args.out,
            args.format,
            quantize=args.quantize,
            task=args.task,
            representative_images=images,
            input_size=args.input_size,
            fold_bn=not args.no_fold_bn,
            num_threads=args.threads,
        )
    except ValueError as e:
        sys.exit(f"error: {e}")


if __name__ == "__main__":
    main()
