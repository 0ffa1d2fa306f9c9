"""Command-line arguments that choose and build a model (convert, summary) and image sizes (export).

>>> parse_size("256x192"), parse_size("224")
((256, 192), (224, 224))
"""

import argparse

from hrnet_tf.models.hrnet import MODEL_KINDS, build_model


def parse_size(text):
    """ "224" -> (224, 224); "256x192" -> (256, 192) as (height, width). An ``argparse`` type: a bad
    value is a usage error naming it."""
    try:
        parts = [int(p) for p in str(text).lower().split("x")]
    except ValueError:
        parts = []
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2 or min(parts) <= 0:
        raise argparse.ArgumentTypeError(
            f"size must be N or HxW with positive integers (e.g. 256x192), got {text!r}"
        )
    return tuple(parts)


def parse_width(text):
    return int(text) if str(text).isdigit() else str(text)


def add_model_arguments(parser):
    parser.add_argument(
        "--model",
        default="classifier",
        choices=sorted(MODEL_KINDS),
        help="which network (default: classifier)",
    )
    parser.add_argument(
        "--width",
        default="18",
        type=parse_width,
        help="18, 30, 32, 40, 44, 48, 64, 18-small-v1, 18-small-v2 (default: 18)",
    )
    parser.add_argument(
        "--num-classes",
        type=int,
        default=None,
        help="classifier / segmentation classes (default: 1000 / 19)",
    )
    parser.add_argument("--num-joints", type=int, default=None, help="pose heatmaps (default: 17)")
    parser.add_argument("--ocr-mid-channels", type=int, default=None,
                        help="HRNet-OCR MODEL.OCR.MID_CHANNELS (default: 512)")
    parser.add_argument("--ocr-key-channels", type=int, default=None,
                        help="HRNet-OCR MODEL.OCR.KEY_CHANNELS (default: 256)")
    parser.add_argument(
        "--input-size",
        type=parse_size,
        default=None,
        help="HxW the model is built for (default: the task's usual size)",
    )
    parser.add_argument(
        "--no-head-conv-bias",
        action="store_true",
        help="classifier head convs without bias (SSLD checkpoints)",
    )
    parser.add_argument(
        "--upsample-method",
        default=None,
        choices=["nearest", "bilinear", "bilinear_align_corners"],
        help="fusion upsampling (default: the task's official one)",
    )


def model_from_args(args, input_size=None):
    kind = args.model.lower()
    kwargs = {"width": args.width}
    size = input_size or args.input_size
    if size is not None:
        kwargs["input_shape"] = (*size, 3)
    if args.upsample_method:
        kwargs["upsample_method"] = args.upsample_method
    if kind == "classifier":
        if args.num_classes is not None:
            kwargs["num_classes"] = args.num_classes
        kwargs["head_conv_bias"] = not args.no_head_conv_bias
    elif kind in ("segmentation", "v2", "ocr"):
        if args.num_classes is not None:
            kwargs["num_classes"] = args.num_classes
        for key in ("ocr_mid_channels", "ocr_key_channels"):
            if kind == "ocr" and getattr(args, key, None) is not None:
                kwargs[key] = getattr(args, key)
    elif kind in ("pose", "v1"):
        if args.num_joints is not None:
            kwargs["num_outputs"] = args.num_joints
    elif kind == "landmarks":
        if args.num_classes is not None:
            kwargs["num_landmarks"] = args.num_classes
    elif kind == "retinanet":
        if args.num_classes is not None:
            kwargs["num_classes"] = args.num_classes
    elif kind == "fcos":
        if args.num_classes is not None:
            kwargs["num_classes"] = args.num_classes
        from hrnet_tf.presets.table import MMDET_BGR

        model = build_model(kind, **kwargs)
        # the only FCOS checkpoints are mmdetection's: BGR input, caffe-style statistics
        model.info = model.info.replace(normalization=MMDET_BGR)
        return model
    return build_model(kind, **kwargs)
