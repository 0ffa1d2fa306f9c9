"""Pose inference on one image: prints the keypoints as json and draws the skeleton.

    python -m hrnet_tf.pose.predict IMAGE --weights runs/pose/synthetic_tiny/model.keras \\
        [--box x,y,w,h | --boxes FILE.json | --detector DET.keras] [--out OUT.png] [--no-flip] \\
        [--threshold 0.2]

A trained ``model.keras`` knows its input size and keypoint set (``model.info.labels``); for
``.weights.h5`` or an official ``pose_hrnet_*.pth`` say which network with ``--width``,
``--input-size`` and ``--keypoints`` (only for those). ``--boxes`` reads a json list of
``[x, y, w, h]`` boxes or of COCO detections (``{"bbox": [...], "score": s}``). ``--detector
DET.keras`` finds the people first (:func:`hrnet_tf.detection.predict.detect_people`: the person
boxes scoring at least ``--det-threshold``, default 0.5). Without any of these the whole image is
one person box. The keypoints come from the same top-down inference as evaluation
and the SavedModel ``keypoints`` signature (:meth:`hrnet_tf.pose.codec.PoseCodec.estimate`: crop,
flip test, decoding).

Prints ``[{"box": [x, y, w, h], "score": s, "keypoints": [[x, y, maxval], ...]}, ...]`` and writes
the image with the skeleton drawn (default ``<IMAGE stem>_pose.png``).

As a library::

    >>> people = predict_image(model, rgb_image, [[10, 20, 80, 200]])  # doctest: +SKIP
    >>> people.shape                                                   # doctest: +SKIP
    (1, 17, 3)
"""

import argparse
import json
import sys

import numpy as np

from hrnet_tf.errors import ConfigError, DataError, ModelFileError
from hrnet_tf.pose.keypoints import KeypointSet

DEFAULT_WIDTH = "32"
DEFAULT_INPUT_SIZE = "256x192"
DEFAULT_KEYPOINTS = "coco"


def parse_box(text):
    """``"x,y,w,h"`` -> [x, y, w, h] floats (``ConfigError`` unless four numbers, w and h > 0).

    >>> parse_box("10,20,30.5,40")
    [10.0, 20.0, 30.5, 40.0]
    """
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 4 or values[2] <= 0 or values[3] <= 0:
        raise ConfigError(f"--box {text!r}: expected x,y,w,h with positive w and h")
    return values


def read_boxes(path):
    """Boxes [x, y, w, h] (and scores) from a json list of boxes or COCO detections."""
    from hrnet_tf.pose.sources import load_json

    items = load_json(path)
    boxes, scores = [], []
    for i, item in enumerate(items if isinstance(items, list) else [None]):
        box = item.get("bbox") if isinstance(item, dict) else item
        if not (isinstance(box, list) and len(box) == 4
                and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in box)):
            raise DataError(f"{path}: entry #{i} is not [x, y, w, h] or a dict with 'bbox'")
        boxes.append([float(v) for v in box])
        scores.append(float(item.get("score", 1.0)) if isinstance(item, dict) else 1.0)
    return boxes, scores


def predict_image(model, image, boxes, keypoints=None, flip_test=True, shift_heatmap=True,
                  forward=None):
    """Keypoints [N, J, 3] (x, y, maxval in image pixels) of the people in ``boxes`` (x, y, w, h)
    of a uint8 RGB image; ``keypoints`` (a set or its name) when the model does not record its
    own. For many images pass ``forward=hrnet_tf.evaluation.forward_function(model)`` once: it
    folds BatchNorm, which otherwise happens on every call."""
    from hrnet_tf.evaluation import forward_function
    from hrnet_tf.pose.codec import codec_for_model

    codec = codec_for_model(model, keypoints)
    if len(boxes) == 0:
        return np.zeros((0, model.outputs[0].shape[-1], 3), np.float32)
    people = codec.estimate(forward or forward_function(model), image, np.asarray(boxes, np.float32),
                            model.info.normalization, flip_test, shift_heatmap)
    return people.numpy()


def draw_skeleton(image, people, keypoints, threshold=0.2):
    """Draws limbs and joints (maxval > threshold) on a copy of an RGB image."""
    import cv2

    canvas = np.ascontiguousarray(image).copy()
    thickness = max(1, int(round(max(canvas.shape[:2]) / 300)))
    for kp in people:
        for limb_index, (a, b) in enumerate(keypoints.skeleton):
            if kp[a, 2] > threshold and kp[b, 2] > threshold:
                hue = int(180 * limb_index / max(1, len(keypoints.skeleton)))
                color = cv2.cvtColor(np.uint8([[[hue, 220, 255]]]), cv2.COLOR_HSV2RGB)[0, 0]
                cv2.line(canvas, tuple(int(v) for v in kp[a, :2]),
                         tuple(int(v) for v in kp[b, :2]), tuple(int(c) for c in color),
                         thickness + 1, cv2.LINE_AA)
        for x, y, score in kp:
            if score > threshold:
                cv2.circle(canvas, (int(x), int(y)), thickness + 2, (255, 255, 255), -1,
                           cv2.LINE_AA)
    return canvas


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m hrnet_tf.pose.predict",
                                     description="HRNetV1 pose estimation on one image.")
    parser.add_argument("image")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--box", help="person box x,y,w,h (pixels)")
    group.add_argument("--boxes", help="json file of boxes or COCO person detections")
    group.add_argument("--detector", help="a detector model.keras (train/detect.py): find the "
                       "people first (category 'person', or the detector's only class)")
    parser.add_argument("--det-threshold", type=float, default=0.5,
                        help="with --detector: lowest person score kept (default 0.5)")
    parser.add_argument("--weights", default="",
                        help="a trained model.keras, or .weights.h5 / official .pth")
    parser.add_argument("--width", help=f"with non-.keras weights: HRNet width ({DEFAULT_WIDTH})")
    parser.add_argument("--input-size",
                        help=f"with non-.keras weights: HxW ({DEFAULT_INPUT_SIZE})")
    parser.add_argument("--keypoints", help="with non-.keras weights (or a .keras model that does "
                        f"not record it): keypoint set coco or mpii ({DEFAULT_KEYPOINTS})")
    parser.add_argument("--threshold", type=float, default=0.2, help="joint score to draw")
    parser.add_argument("--out", help="output PNG (default <image stem>_pose.png)")
    parser.add_argument("--no-flip", action="store_true", help="disable the flip test")
    return parser


def _parse_input_size(text):
    try:
        size = tuple(int(v) for v in text.lower().split("x"))
    except ValueError:
        size = ()
    if len(size) != 2 or min(size) <= 0:
        raise ConfigError(f"--input-size {text!r}: expected HxW, e.g. 256x192")
    return size


def _keypoint_set(name, where):
    try:
        return KeypointSet.from_config(name)
    except ValueError as e:
        raise ConfigError(f"{where}: {e}") from None


def load_pose_model(args):
    """(model, keypoint set) for the command's ``--weights`` and network options."""
    import hrnet_tf
    from hrnet_tf.models import load_or_build
    from hrnet_tf.models.cli_args import parse_width

    if args.weights.endswith(".keras"):
        given = [flag for flag, value in (("--width", args.width),
                                          ("--input-size", args.input_size)) if value]
        if given:
            raise ConfigError(f"{given[0]}: {args.weights} is a .keras model, which knows its "
                              "network; --width and --input-size are for .weights.h5/.pth weights")
    keypoints = _keypoint_set(args.keypoints or DEFAULT_KEYPOINTS, "--keypoints")
    size = _parse_input_size(args.input_size or DEFAULT_INPUT_SIZE)

    def build():
        model = hrnet_tf.HRNetV1(parse_width(args.width or DEFAULT_WIDTH),
                                 num_outputs=keypoints.num_joints, input_shape=(*size, 3))
        model.info.labels = {"keypoints": keypoints.to_config()}
        return model

    model = load_or_build(args.weights, "pose", build)
    recorded = (model.info.labels or {}).get("keypoints")
    if recorded is not None:
        if args.keypoints and args.weights.endswith(".keras"):
            raise ConfigError(f"--keypoints: {args.weights} records its keypoint set "
                              f"({KeypointSet.from_config(recorded).name})")
        keypoints = KeypointSet.from_config(recorded)
    elif not args.keypoints:
        raise ModelFileError(f"{args.weights}: the model does not record its keypoint set; "
                             "pass --keypoints coco|mpii")
    if model.outputs[0].shape[-1] != keypoints.num_joints:
        raise ModelFileError(f"{args.weights}: the model has {model.outputs[0].shape[-1]} "
                             f"heatmaps, the keypoint set {keypoints.name!r} "
                             f"{keypoints.num_joints} joints")
    if None in model.inputs[0].shape[1:3]:
        raise ModelFileError(f"{args.weights}: the model has no fixed input size "
                             "(top-down pose crops to one)")
    return model, keypoints


def _main(argv):
    from hrnet_tf.cli import read_photo, write_drawing

    args = build_parser().parse_args(argv)
    image = read_photo(args.image)
    if args.box:
        boxes, scores = [parse_box(args.box)], [1.0]
    elif args.boxes:
        boxes, scores = read_boxes(args.boxes)
    elif args.detector:
        from hrnet_tf.detection.predict import detect_people

        boxes, scores = detect_people(args.detector, image, args.det_threshold)
    else:
        boxes, scores = [[0.0, 0.0, float(image.shape[1]), float(image.shape[0])]], [1.0]
    model, keypoints = load_pose_model(args)
    people = predict_image(model, image, boxes, keypoints, flip_test=not args.no_flip)
    out = write_drawing(draw_skeleton(image, people, keypoints, args.threshold), args.image,
                        "pose", args.out)
    report = [{"box": [round(v, 2) for v in box], "score": round(score, 4),
               "keypoints": [[round(float(v), 2) for v in joint] for joint in kp]}
              for box, score, kp in zip(boxes, scores, people, strict=True)]
    print(json.dumps(report))
    print(f"wrote {out}", file=sys.stderr)


def main(argv=None):
    from hrnet_tf.cli import run

    return run(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
