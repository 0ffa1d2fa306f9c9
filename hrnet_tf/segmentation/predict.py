"""Segment images: a color label map and an overlay per image.

    python -m hrnet_tf.segmentation.predict street.png --weights runs/segment/w48/model.keras
    python -m hrnet_tf.segmentation.predict a.jpg b.jpg --weights hrnet_w48_cityscapes.pth \\
        --width 48 --dataset cityscapes --mode multiscale --scales 0.75 1 1.25 --flip --out preds

For each IMAGE writes ``OUT/<name>_color.png`` (classes in the dataset palette, the Cityscapes
one by default), ``OUT/<name>_overlay.png`` (the color map blended over the image) and, for
Cityscapes, ``OUT/<name>_labelIds.png`` (label ids for the benchmark server). ``--weights``
takes the ``model.keras`` written by training (the model is rebuilt from it), or Keras / official
PyTorch weights for the model given by ``--width`` and ``--num-classes``.
"""

import argparse
import os
import sys

import cv2
import numpy as np

from hrnet_tf.segmentation import labels as L


def overlay(image_rgb, color, alpha=0.5):
    """``alpha`` * color + (1 - alpha) * image, uint8.

    >>> overlay(np.zeros((1, 1, 3), np.uint8), np.full((1, 1, 3), 200, np.uint8)).tolist()
    [[[100, 100, 100]]]
    """
    blended = alpha * color.astype(np.float32) + (1 - alpha) * image_rgb.astype(np.float32)
    return np.clip(np.round(blended), 0, 255).astype(np.uint8)


def build_model(weights, width, num_classes):
    import keras

    import hrnet_tf

    if weights and weights.endswith(".keras"):
        if not os.path.isfile(weights):
            raise FileNotFoundError(f"model file not found: {weights}")
        return keras.saving.load_model(weights, compile=False)
    model = hrnet_tf.HRNetV2(width, num_classes=num_classes)
    if weights:
        hrnet_tf.load_weights(model, weights)
    else:
        print("warning: no --weights given; the model is randomly initialized and its output "
              "is meaningless", file=sys.stderr)
    return model


def segment_file(model, path, out_dir, colors, mode="whole", scales=(1.0,), flip=False,
                 crop_size=(512, 1024), base_size=None, alpha=0.5, label_ids=False):
    """Segments one image file; returns the written paths."""
    from hrnet_tf.segmentation.inference import predict_train_ids
    from hrnet_tf.segmentation.pipeline import normalize

    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    if bgr is None:
        raise FileNotFoundError(f"{path}: not found or not an image")
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    train_ids = predict_train_ids(
        model, normalize(rgb)[None], mode, scales, flip, crop_size, base_size
    )
    color = L.colorize(train_ids, colors)
    stem = os.path.splitext(os.path.basename(path))[0]
    os.makedirs(out_dir, exist_ok=True)
    written = [os.path.join(out_dir, f"{stem}_color.png"),
               os.path.join(out_dir, f"{stem}_overlay.png")]
    cv2.imwrite(written[0], cv2.cvtColor(color, cv2.COLOR_RGB2BGR))
    cv2.imwrite(written[1], cv2.cvtColor(overlay(rgb, color, alpha), cv2.COLOR_RGB2BGR))
    if label_ids:
        written.append(os.path.join(out_dir, f"{stem}_labelIds.png"))
        cv2.imwrite(written[-1], L.train_ids_to_label_ids(train_ids))
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m hrnet_tf.segmentation.predict", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("images", nargs="+", metavar="IMAGE")
    parser.add_argument("--weights", help="model.keras from training, .weights.h5 or .pth")
    parser.add_argument("--width", default="48", help="HRNet width when --weights is not .keras")
    parser.add_argument("--num-classes", type=int, default=None,
                        help="classes when --weights is not .keras (default: the dataset's)")
    parser.add_argument("--dataset", default="cityscapes",
                        choices=("cityscapes", "pascal_context", "pascal_context_60", "lip",
                                 "other"),
                        help="palette and class count; 'other' uses a generic palette")
    parser.add_argument("--out", default="predictions")
    parser.add_argument("--mode", choices=("whole", "sliding", "multiscale"), default="whole")
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0])
    parser.add_argument("--flip", action="store_true")
    parser.add_argument("--crop-size", type=int, nargs=2, default=[512, 1024],
                        metavar=("H", "W"), help="sliding-window size")
    parser.add_argument("--alpha", type=float, default=0.5, help="overlay opacity")
    args = parser.parse_args(argv)

    defaults = {"cityscapes": 19, "pascal_context": 59, "pascal_context_60": 60, "lip": 20}
    width = int(args.width) if str(args.width).isdigit() else args.width
    try:
        num_classes = args.num_classes or defaults.get(args.dataset)
        if num_classes is None and not (args.weights or "").endswith(".keras"):
            raise ValueError("--dataset other needs --num-classes")
        model = build_model(args.weights, width, num_classes)
        num_classes = int(model.output_shape[-1])
        is_cityscapes = args.dataset == "cityscapes" and num_classes == 19
        colors = L.CITYSCAPES_PALETTE if is_cityscapes else L.palette(num_classes)
        for path in args.images:
            written = segment_file(
                model, path, args.out, colors, args.mode, args.scales, args.flip,
                tuple(args.crop_size), alpha=args.alpha, label_ids=is_cityscapes,
            )
            print(" ".join(written))
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.exit(main())
