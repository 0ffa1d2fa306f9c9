"""Pose inference on one image: draws the skeleton, prints the keypoints as json.

    python -m hrnet_tf.pose.predict IMAGE [--box x,y,w,h | --boxes FILE.json] [--weights W]
        [--width 32] [--input-size 256x192] [--keypoints coco] [--out OUT.png] [--no-flip]

``--weights`` takes a trained ``model.keras`` (input size and joints are read from it), a Keras
``.weights.h5`` or an official ``pose_hrnet_*.pth`` (then ``--width``/``--input-size`` say which
network). ``--boxes`` reads a json list of ``[x, y, w, h]`` boxes or of COCO detections
(``{"bbox": [...], "score": s}``). Without a box the whole image is one person box.

Prints ``[{"box": [x, y, w, h], "score": s, "keypoints": [[x, y, maxval], ...]}, ...]`` and writes
the image with the skeleton drawn (default ``<IMAGE stem>_pose.png``).

As a library::

    >>> people = predict_image(model, codec, rgb_image, [[10, 20, 80, 200]])  # doctest: +SKIP
"""

import argparse
import json
import os
import sys

import numpy as np

from hrnet_tf.pose.keypoints import KeypointSet


def parse_box(text):
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 4 or values[2] <= 0 or values[3] <= 0:
        raise ValueError(f"--box {text!r}: expected x,y,w,h with positive w and h")
    return values


def read_boxes(path):
    """Boxes [x, y, w, h] (and scores) from a json list of boxes or COCO detections."""
    try:
        with open(path) as f:
            items = json.load(f)
    except FileNotFoundError:
        raise ValueError(f"boxes file not found: {path}") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: malformed json ({e.msg} at line {e.lineno})") from None
    boxes, scores = [], []
    for i, item in enumerate(items if isinstance(items, list) else [None]):
        box = item.get("bbox") if isinstance(item, dict) else item
        if not (isinstance(box, list) and len(box) == 4):
            raise ValueError(f"{path}: entry #{i} is not [x, y, w, h] or a dict with 'bbox'")
        boxes.append([float(v) for v in box])
        scores.append(float(item.get("score", 1.0)) if isinstance(item, dict) else 1.0)
    return boxes, scores


def predict_image(model, codec, image, boxes, flip_test=True, shift_heatmap=True):
    """Keypoints [N, J, 3] (x, y, maxval) of the people in ``boxes`` of an RGB uint8 image."""
    import tensorflow as tf

    from hrnet_tf.data import affine
    from hrnet_tf.pose.pipeline import normalize

    if len(boxes) == 0:
        return np.zeros((0, codec.num_joints, 3), np.float32)
    centers, scales = zip(*(codec.box_to_center_scale(b) for b in boxes), strict=True)
    crops = tf.stack([
        normalize(affine.warp_affine(image, affine.similarity_matrix(c, s, 0.0, codec.image_size),
                                     codec.image_size))
        for c, s in zip(centers, scales, strict=True)])
    heatmaps = model(crops, training=False).numpy()
    if flip_test:
        flipped = model(tf.reverse(crops, axis=[2]), training=False).numpy()
        heatmaps = codec.flip_average(heatmaps, flipped, shift_heatmap)
    return codec.decode(heatmaps, np.array(centers), np.array(scales))


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


def load_model(weights, width, input_size, num_joints):
    import keras

    import hrnet_tf

    if weights and weights.endswith(".keras"):
        if not os.path.isfile(weights):
            raise ValueError(f"weights file not found: {weights}")
        return keras.saving.load_model(weights, compile=False)
    model = hrnet_tf.HRNetV1(width, num_outputs=num_joints, input_shape=(*input_size, 3))
    if weights:
        hrnet_tf.load_weights(model, weights)
    else:
        print("warning: no --weights given: the network is untrained, keypoints are random",
              file=sys.stderr)
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m hrnet_tf.pose.predict",
                                     description="HRNetV1 pose estimation on one image.")
    parser.add_argument("image")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--box", help="person box x,y,w,h (pixels)")
    group.add_argument("--boxes", help="json file of boxes or COCO person detections")
    parser.add_argument("--weights", default="", help="model.keras, .weights.h5 or official .pth")
    parser.add_argument("--width", default="32", help="HRNet width when not read from .keras")
    parser.add_argument("--input-size", default="256x192", help="HxW when not read from .keras")
    parser.add_argument("--keypoints", default="coco", help="keypoint set: coco or mpii")
    parser.add_argument("--sigma", type=float, default=2.0)
    parser.add_argument("--threshold", type=float, default=0.2, help="joint score to draw")
    parser.add_argument("--out", help="output PNG (default <image stem>_pose.png)")
    parser.add_argument("--no-flip", action="store_true", help="disable the flip test")
    args = parser.parse_args(argv)

    try:
        return _run(args)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def _run(args):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import cv2

    from hrnet_tf.pose.codec import PoseCodec

    keypoints = KeypointSet.from_config(args.keypoints)
    bgr = cv2.imread(args.image, cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    if bgr is None:
        raise ValueError(f"cannot read image: {args.image}")
    image = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    if args.box:
        boxes, scores = [parse_box(args.box)], [1.0]
    elif args.boxes:
        boxes, scores = read_boxes(args.boxes)
    else:
        boxes, scores = [[0.0, 0.0, float(image.shape[1]), float(image.shape[0])]], [1.0]
    width = int(args.width) if str(args.width).isdigit() else args.width
    try:
        size = tuple(int(v) for v in args.input_size.lower().split("x"))
        assert len(size) == 2
    except (ValueError, AssertionError):
        raise ValueError(f"--input-size {args.input_size!r}: expected HxW, e.g. 256x192") from None
    model = load_model(args.weights, width, size, keypoints.num_joints)
    height_in, width_in = model.input_shape[1:3]
    if model.output_shape[-1] != keypoints.num_joints:
        raise ValueError(f"{args.weights}: the model has {model.output_shape[-1]} joints, "
                         f"--keypoints {args.keypoints} has {keypoints.num_joints}")
    codec = PoseCodec((width_in, height_in), sigma=args.sigma, keypoints=keypoints)
    people = predict_image(model, codec, image, boxes, flip_test=not args.no_flip)
    out = args.out or f"{os.path.splitext(os.path.basename(args.image))[0]}_pose.png"
    cv2.imwrite(out, cv2.cvtColor(draw_skeleton(image, people, keypoints, args.threshold),
                                  cv2.COLOR_RGB2BGR))
    report = [{"box": [round(v, 2) for v in box], "score": round(score, 4),
               "keypoints": [[round(float(v), 2) for v in joint] for joint in kp]}
              for box, score, kp in zip(boxes, scores, people, strict=True)]
    print(json.dumps(report))
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
