"""Detection on one image: prints the boxes as json and draws them.

    python -m hrnet_tf.detection.predict IMAGE --weights runs/detect/synthetic_shapes/model.keras \\
        [--threshold 0.3] [--out OUT.png]

Prints ``[{"box": [x, y, w, h], "score": s, "label": "<category name>", "category_id": <id>}, ...]``
in image pixels (the box convention of ``python -m hrnet_tf.pose.predict``), best first, and writes
the image with the boxes drawn (default ``<IMAGE stem>_detections.png``). The model is a trained
``model.keras`` (it records its categories, resize scale and FCOS test settings); the inference is
the evaluation's (:mod:`hrnet_tf.detection.pipeline` resize and padding,
:meth:`hrnet_tf.detection.codec.FCOSCoder.decode`).

As a library::

    >>> detections = detect_image(model, rgb_image, score_threshold=0.3)   # doctest: +SKIP
    >>> detections[0]["label"], detections[0]["box"]                        # doctest: +SKIP
    ('person', [12.0, 30.5, 60.2, 140.0])
"""

import argparse
import json
import sys

import numpy as np

from hrnet_tf.errors import ModelFileError

DETECTORS = ("HRNetFCOS", "HRNetRetinaNet")


def check_detector(model, where):
    if model.info.task != "detection" or model.info.architecture not in DETECTORS:
        raise ModelFileError(f"{where}: not a detector (FCOS or RetinaNet; a {model.info.task} "
                             f"{model.info.architecture} model)")
    if None in model.inputs[0].shape[1:3]:
        raise ModelFileError(f"{where}: the detector has no fixed input size")


def detect_image(model, image, score_threshold=0.0, forward=None):
    """Detections of a uint8 RGB image: dicts with ``box`` [x, y, w, h] (image pixels), ``score``,
    ``label`` (category name), ``category_id``, best first."""
    import tensorflow as tf

    from hrnet_tf.detection.codec import detect
    from hrnet_tf.detection.metrics import to_coco_results
    from hrnet_tf.evaluation import forward_function

    labels = model.info.labels or {}
    num_classes = int(labels.get("num_classes", model.outputs[0].shape[-1] - 5))
    names = list(labels.get("category_names") or [str(i) for i in range(num_classes)])
    ids = list(labels.get("category_ids") or range(1, num_classes + 1))
    boxes, scores, classes, valid = detect(forward or forward_function(model), model,
                                           tf.constant(image))
    n = int(valid)
    classes = classes[:n].numpy()
    found = to_coco_results(0, boxes[:n].numpy(), scores[:n].numpy(), classes, ids)
    out = []
    for item, label in zip(found, classes, strict=True):
        if item["score"] >= score_threshold:
            out.append({"box": item["bbox"], "score": item["score"], "label": names[int(label)],
                        "category_id": item["category_id"]})
    return out


def draw_boxes(image, detections):
    """The boxes and their labels drawn on a copy of an RGB image."""
    import cv2

    canvas = np.ascontiguousarray(image).copy()
    thickness = max(1, int(round(max(canvas.shape[:2]) / 400)))
    for d in detections:
        x, y, w, h = d["box"]
        hue = (int(d["category_id"]) * 47) % 180
        color = tuple(int(c) for c in cv2.cvtColor(np.uint8([[[hue, 230, 255]]]),
                                                   cv2.COLOR_HSV2RGB)[0, 0])
        cv2.rectangle(canvas, (int(x), int(y)), (int(x + w), int(y + h)), color, thickness)
        cv2.putText(canvas, f"{d['label']} {d['score']:.2f}", (int(x), max(10, int(y) - 3)),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.35 * thickness, color, 1, cv2.LINE_AA)
    return canvas


def load_detector(path):
    from hrnet_tf.models import load_model

    if not path:
        raise ModelFileError("--weights: pass a trained detector (OUT/model.keras of "
                             "train/detect.py)")
    if not path.endswith(".keras"):
        raise ModelFileError(f"{path}: pass a .keras detector (it records its categories and "
                             "input size); convert mmdet checkpoints with python -m "
                             "hrnet_tf.convert first")
    model = load_model(path)
    check_detector(model, path)
    return model


def detect_people(path, image, threshold=0.5):
    """(boxes [x, y, w, h], scores) of the people a detector ``model.keras`` finds in an RGB
    image: its category "person", or its only category; ``threshold`` the lowest score kept."""
    model = load_detector(path)
    names = list((model.info.labels or {}).get("category_names") or [])
    if "person" in names:
        person = "person"
    elif len(names) == 1:
        person = names[0]
    else:
        raise ModelFileError(f"{path}: the detector has no 'person' category (it detects "
                             f"{', '.join(names[:5])}{', ...' if len(names) > 5 else ''})")
    found = [d for d in detect_image(model, image, threshold) if d["label"] == person]
    return [d["box"] for d in found], [d["score"] for d in found]


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m hrnet_tf.detection.predict",
                                     description="FCOS or RetinaNet HRNetV2p detection on one image.")
    parser.add_argument("image")
    parser.add_argument("--weights", default="", help="a trained detector model.keras")
    parser.add_argument("--threshold", type=float, default=0.3,
                        help="lowest score printed and drawn (default 0.3)")
    parser.add_argument("--out", help="output PNG (default <image stem>_detections.png)")
    return parser


def _main(argv):
    from hrnet_tf.cli import read_photo, write_drawing

    args = build_parser().parse_args(argv)
    image = read_photo(args.image)
    model = load_detector(args.weights)
    detections = detect_image(model, image, args.threshold)
    out = write_drawing(draw_boxes(image, detections), args.image, "detections", args.out)
    print(json.dumps(detections))
    print(f"wrote {out}", file=sys.stderr)


def main(argv=None):
    from hrnet_tf.cli import run

    return run(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
