"""Segment image files: a color label map and an overlay per image.

    python -m hrnet_tf.segmentation.predict street.png --weights runs/segment/synthetic_tiny/model.keras
    python -m hrnet_tf.segmentation.predict a.jpg b.jpg --weights hrnet_w48_cityscapes.pth \\
        --width 48 --dataset cityscapes --mode multiscale --scales 0.75 1 1.25 --flip --out preds
    python -m hrnet_tf.segmentation.predict a.png --model ocr --dataset cityscapes \\
        --weights hrnet_ocr_cs_8162_torch11.pth --mode multiscale --scales 1 1.5 --flip

For each IMAGE writes ``OUT/<name>_color.png`` (classes in the dataset palette),
``OUT/<name>_overlay.png`` (the color map blended over the image) and, for Cityscapes,
``OUT/<name>_labelIds.png`` (label ids for the benchmark server). ``--weights`` takes the
``model.keras`` written by training (its dataset and classes come with it), or Keras / official
PyTorch weights for the model given by ``--width``, ``--num-classes`` and ``--dataset``.
The inference is the evaluation's (:mod:`hrnet_tf.segmentation.codec`): ``--flip`` on a LIP model
swaps the left/right channels of the mirrored pass, LIP images run at the 473x473 test size, and
multi-scale windows are the dataset's official test size (``--test-size``, Cityscapes 1024x2048)
under its official rule. ``--model ocr`` builds HRNet-OCR for official OCR weights (its ``out``
head predicts; score resizes with align_corners, as the OCR branch).
"""

import argparse
import os
import sys

import numpy as np

from hrnet_tf.errors import ConfigError, DataError
from hrnet_tf.segmentation import labels as L
from hrnet_tf.segmentation.sources import DATASETS, dataset_info


def overlay(image_rgb, color, alpha=0.5):
    """``alpha`` * color + (1 - alpha) * image, uint8.

    >>> overlay(np.zeros((1, 1, 3), np.uint8), np.full((1, 1, 3), 200, np.uint8)).tolist()
    [[[100, 100, 100]]]
    """
    blended = alpha * color.astype(np.float32) + (1 - alpha) * image_rgb.astype(np.float32)
    return np.clip(np.round(blended), 0, 255).astype(np.uint8)


def model_dataset(model, dataset=None):
    """The ``DatasetInfo`` describing ``model``'s output (classes, palette, LIP flip pairs), from
    ``model.info.labels`` (filled by training); ``dataset`` names it for a model that does not
    say (official weights), and must agree with one that does.

    >>> import hrnet_tf
    >>> model_dataset(hrnet_tf.HRNetV2("tiny", num_classes=20), "lip").flip_pairs
    ((14, 15), (16, 17), (18, 19))
    """
    labels = dict(getattr(getattr(model, "info", None), "labels", None) or {})
    from hrnet_tf.segmentation.codec import output_classes

    num_classes = output_classes(model)
    known = labels.get("dataset")
    if dataset and known and dataset != known:
        raise ConfigError(f"--dataset {dataset}: the model says it segments {known!r}")
    name = known or dataset or "generic"
    names = labels.get("class_names")
    if name not in DATASETS or name == "synthetic":
        name = "generic"
    if name != "generic":
        return dataset_info(name, num_classes=num_classes)
    if names is not None and len(names) != num_classes:
        names = None
    return dataset_info("generic", num_classes=num_classes, class_names=names)


def segment_image(forward, image, info, mode="whole", scales=(1.0,), flip=False,
                  crop_size=None, base_size=None, normalization=None, input_size=None,
                  align_corners=False, stride=None):
    """int32 train ids [H, W] of one uint8 RGB image, by the evaluation's inference
    (``crop_size``: the test size, default ``info.test_size``; ``info.protocol``'s rule)."""
    from hrnet_tf.data.images import normalize
    from hrnet_tf.data.normalization import IMAGENET
    from hrnet_tf.segmentation.codec import predict_labels, resize_uint8

    height, width = image.shape[:2]
    test_size = tuple(crop_size or info.test_size or info.crop_size)
    if input_size is None and info.resize_to_crop_first:
        input_size = test_size
    normalization = normalization or IMAGENET
    x = image[None]
    if input_size is not None and info.resize_to_crop_first:  # LIP: uint8 resize first
        x, input_size = resize_uint8(x, input_size), None
        output_size = (height, width)
    else:
        output_size = (height, width) if input_size is not None else None
    x = normalize(x, normalization)
    pad_value = np.asarray(normalize(np.zeros((1, 1, 1, 3), np.uint8), normalization))[0, 0, 0]
    return predict_labels(
        forward, x, mode, scales, flip, test_size, base_size, stride,
        flip_pairs=info.flip_pairs, input_size=input_size, output_size=output_size,
        protocol=info.protocol, pad_value=pad_value, align_corners=align_corners,
    )


def _check_image_file(path):
    from hrnet_tf.data.images import image_file_problem

    if not os.path.isfile(path):
        raise DataError(f"image not found: {path}")
    problem = image_file_problem(path)
    if problem:
        raise DataError(f"{path}: {problem}")


def segment_file(forward, path, out_dir, info, alpha=0.5, **options):
    """Segments one image file (``options`` as :func:`segment_image`); returns the paths written."""
    from hrnet_tf.data.images import read_image_numpy, write_png
    from hrnet_tf.segmentation.evaluator import file_stem

    try:
        rgb = read_image_numpy(path)
    except (FileNotFoundError, ValueError) as e:
        raise DataError(str(e)) from None
    train_ids = segment_image(forward, rgb, info, **options)
    color = L.colorize(train_ids, info.colors)
    stem = file_stem(path)
    written = [os.path.join(out_dir, f"{stem}_color.png"),
               os.path.join(out_dir, f"{stem}_overlay.png")]
    write_png(written[0], color)
    write_png(written[1], overlay(rgb, color, alpha))
    if info.benchmark_label_ids:
        written.append(os.path.join(out_dir, f"{stem}_labelIds.png"))
        write_png(written[-1], L.train_ids_to_label_ids(train_ids))
    return written


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m hrnet_tf.segmentation.predict", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("images", nargs="+", metavar="IMAGE")
    parser.add_argument("--weights", help="model.keras from training, .weights.h5 or .pth")
    parser.add_argument("--width", default="48", help="HRNet width when --weights is not .keras")
    parser.add_argument("--num-classes", type=int, default=None,
                        help="classes when --weights is not .keras (default: the dataset's)")
    parser.add_argument("--dataset", default=None, choices=[d for d in DATASETS if d != "synthetic"],
                        help="what a model that does not say segments (default cityscapes): "
                        "palette, class count, LIP flips")
    parser.add_argument("--out", default="predictions")
    parser.add_argument("--mode", choices=("whole", "sliding", "multiscale"), default="whole")
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0])
    parser.add_argument("--flip", action="store_true")
    parser.add_argument("--model", choices=("hrnetv2", "ocr"), default="hrnetv2",
                        help="architecture when --weights is not .keras (ocr: HRNet-OCR)")
    parser.add_argument("--test-size", default=None, metavar="HxW",
                        help="sliding-window / test size (default: the dataset's official "
                        "TEST.IMAGE_SIZE, Cityscapes 1024x2048)")
    parser.add_argument("--crop-size", type=int, nargs=2, default=None, metavar=("H", "W"),
                        help="the same as --test-size H W (kept for old command lines)")
    parser.add_argument("--stride", default=None, metavar="HxW",
                        help="window stride (default: the test size on Cityscapes, 2/3 of it "
                        "elsewhere)")
    parser.add_argument("--base-size", type=int, default=None,
                        help="multiscale: long side at scale 1 (official TEST.BASE_SIZE; "
                        "default: the image's own)")
    parser.add_argument("--alpha", type=float, default=0.5, help="overlay opacity")
    return parser


def _main(argv):
    import hrnet_tf
    from hrnet_tf.evaluation import forward_function
    from hrnet_tf.models import load_or_build
    from hrnet_tf.models.cli_args import parse_width
    from hrnet_tf.segmentation.codec import fixed_input_size, model_align_corners
    from hrnet_tf.segmentation.evaluate import parse_hw

    args = build_parser().parse_args(argv)
    test_size = parse_hw(args.test_size, "--test-size") if args.test_size else args.crop_size
    stride = parse_hw(args.stride, "--stride") if args.stride else None
    for path in args.images:  # before the model is loaded: a typo costs nothing
        _check_image_file(path)

    def build():
        dataset = args.dataset or "cityscapes"
        if args.num_classes is None and dataset == "generic":
            raise ConfigError("--dataset generic needs --num-classes")
        num_classes = args.num_classes or dataset_info(dataset).num_classes
        constructor = hrnet_tf.HRNetOCR if args.model == "ocr" else hrnet_tf.HRNetV2
        model = constructor(parse_width(args.width), num_classes=num_classes)
        model.info.labels = {"dataset": dataset}
        return model

    model = load_or_build(args.weights, "segmentation", build)
    info = model_dataset(model, args.dataset)
    forward = forward_function(model)
    options = dict(mode=args.mode, scales=args.scales, flip=args.flip, crop_size=test_size,
                   base_size=args.base_size, normalization=model.info.normalization,
                   input_size=fixed_input_size(model), align_corners=model_align_corners(model),
                   stride=stride)
    for path in args.images:
        print(" ".join(segment_file(forward, path, args.out, info, args.alpha, **options)))


def main(argv=None):
    from hrnet_tf.cli import run

    return run(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
