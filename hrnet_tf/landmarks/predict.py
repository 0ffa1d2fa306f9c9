"""Facial landmarks on one image: prints the points as json and draws them.

    python -m hrnet_tf.landmarks.predict IMAGE --box x,y,w,h \\
        --weights runs/landmarks/synthetic_faces/model.keras [--out OUT.png]
    python -m hrnet_tf.landmarks.predict face.jpg --box 120,80,200,200 --weights HR18-WFLW.pth

A trained ``model.keras`` knows its input size, landmark set and sigma (``model.info.labels``);
for ``.weights.h5`` or an official ``HR18-{WFLW,300W,COFW,AFLW}.pth`` say ``--landmarks
wflw|300w|cofw|aflw`` (default wflw; HRNetV2-W18 at 256x256, ``--width``/``--input-size`` to
change). ``--boxes`` reads a json list of ``[x, y, w, h]`` face boxes (or ``{"bbox": ...}``
detections). Without a box the whole image is the face box. A face box becomes the official crop
as a landmark box does: centre, scale ``max(w, h) / 200``, times 1.25. The points come from the
same inference as evaluation and the SavedModel ``landmarks`` signature
(:meth:`hrnet_tf.landmarks.codec.LandmarkCodec.estimate`, the official decoding unless
``--decoding float|dark``).

Prints ``[{"box": [x, y, w, h], "points": [[x, y], ...], "scores": [...]}, ...]`` and writes the
image with the points drawn (default ``<IMAGE stem>_landmarks.png``).

As a library::

    >>> points, scores = predict_image(model, rgb_image, [[10, 20, 80, 80]])  # doctest: +SKIP
    >>> points.shape                                                          # doctest: +SKIP
    (1, 98, 2)
"""

import argparse
import json
import sys

import numpy as np

from hrnet_tf.errors import ConfigError, ModelFileError

DEFAULT_WIDTH = "18"
DEFAULT_INPUT_SIZE = 256
DEFAULT_LANDMARKS = "wflw"


def predict_image(model, image, boxes, decoding="official", forward=None):
    """(points [N, L, 2] in image pixels, scores [N, L]) of the faces in ``boxes`` (x, y, w, h)
    of a uint8 RGB image. For many images pass ``forward=hrnet_tf.evaluation.forward_function(
    model)`` once: it folds BatchNorm, which otherwise happens on every call."""
    from hrnet_tf.evaluation import forward_function
    from hrnet_tf.landmarks.codec import codec_for_model

    codec = codec_for_model(model, decoding)
    count = int(model.outputs[0].shape[-1])
    if len(boxes) == 0:
        return np.zeros((0, count, 2), np.float32), np.zeros((0, count), np.float32)
    points, scores = codec.estimate(forward or forward_function(model), image,
                                    np.asarray(boxes, np.float32), model.info.normalization)
    return points.numpy(), scores.numpy()


def draw_points(image, faces, boxes=()):
    """Draws the points (and boxes) on a copy of an RGB image."""
    import cv2

    canvas = np.ascontiguousarray(image).copy()
    radius = max(1, int(round(max(canvas.shape[:2]) / 250)))
    for x, y, w, h in boxes:
        cv2.rectangle(canvas, (int(x), int(y)), (int(x + w), int(y + h)), (0, 200, 255), 1)
    for points in faces:
        for x, y in points:
            cv2.circle(canvas, (int(round(x)), int(round(y))), radius, (0, 255, 0), -1,
                       cv2.LINE_AA)
    return canvas


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m hrnet_tf.landmarks.predict",
                                     description="HRNetV2 facial landmarks on one image.")
    parser.add_argument("image")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--box", help="face box x,y,w,h (pixels)")
    group.add_argument("--boxes", help="json file of face boxes or detections")
    parser.add_argument("--weights", default="",
                        help="a trained model.keras, or .weights.h5 / official HR18-*.pth")
    parser.add_argument("--landmarks", help="with non-.keras weights: wflw, 300w, cofw or aflw "
                        f"({DEFAULT_LANDMARKS})")
    parser.add_argument("--width", help=f"with non-.keras weights: HRNet width ({DEFAULT_WIDTH})")
    parser.add_argument("--input-size", type=int,
                        help=f"with non-.keras weights: the square input side ({DEFAULT_INPUT_SIZE})")
    parser.add_argument("--decoding", default="official", choices=["official", "float", "dark"])
    parser.add_argument("--out", help="output PNG (default <image stem>_landmarks.png)")
    return parser


def load_landmark_model(args):
    """The model of the command's ``--weights`` and network options."""
    import hrnet_tf
    from hrnet_tf.landmarks.landmark_sets import LandmarkSet
    from hrnet_tf.models import load_or_build
    from hrnet_tf.models.cli_args import parse_width

    if args.weights.endswith(".keras"):
        given = [flag for flag, value in (("--width", args.width),
                                          ("--input-size", args.input_size),
                                          ("--landmarks", args.landmarks)) if value]
        if given:
            raise ConfigError(f"{given[0]}: {args.weights} is a .keras model, which knows its "
                              "network; the option is for .weights.h5/.pth weights")
    try:
        landmarks = LandmarkSet.from_config(args.landmarks or DEFAULT_LANDMARKS)
    except ValueError as e:
        raise ConfigError(f"--landmarks: {e}") from None
    side = args.input_size or DEFAULT_INPUT_SIZE
    if side <= 0 or side % 32:
        raise ConfigError(f"--input-size {side}: must be a positive multiple of 32")

    def build():
        return hrnet_tf.HRNetV2Landmarks(parse_width(args.width or DEFAULT_WIDTH),
                                         num_landmarks=landmarks.num_points,
                                         input_shape=(side, side, 3))

    model = load_or_build(args.weights, "landmarks", build)
    try:
        from hrnet_tf.landmarks.codec import codec_for_model

        codec_for_model(model)
    except ValueError as e:
        raise ModelFileError(f"{args.weights}: {e}") from None
    return model


def _main(argv):
    from hrnet_tf.cli import read_photo, write_drawing
    from hrnet_tf.pose.predict import parse_box, read_boxes

    args = build_parser().parse_args(argv)
    image = read_photo(args.image)
    if args.box:
        boxes = [parse_box(args.box)]
    elif args.boxes:
        boxes, _ = read_boxes(args.boxes)
    else:
        boxes = [[0.0, 0.0, float(image.shape[1]), float(image.shape[0])]]
    model = load_landmark_model(args)
    points, scores = predict_image(model, image, boxes, args.decoding)
    out = write_drawing(draw_points(image, points, boxes), args.image, "landmarks", args.out)
    report = [{"box": [round(v, 2) for v in box],
               "points": [[round(float(v), 2) for v in p] for p in face],
               "scores": [round(float(s), 4) for s in score]}
              for box, face, score in zip(boxes, points, scores, strict=True)]
    print(json.dumps(report))
    print(f"wrote {out}", file=sys.stderr)


def main(argv=None):
    from hrnet_tf.cli import run

    return run(_main, argv)


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["build_parser", "draw_points", "load_landmark_model", "main", "predict_image"]
