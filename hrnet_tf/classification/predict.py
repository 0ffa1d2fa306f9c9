"""Classify images: prints the top-k classes of each as JSON.

    python -m hrnet_tf.classification.predict IMAGE [IMAGE ...] --weights M.keras [--top 5]

``--weights`` takes a trained ``model.keras`` (input size, normalization and class names come with
it: ``model.info``), or a Keras ``.weights.h5`` / official ``hrnetv2_w*_imagenet_pretrained.pth``
(then ``--width``, ``--num-classes`` and ``--input-size`` say which network). Each image gets the
evaluation transform (shorter side to input / 0.875, centre crop), as in evaluation and in the
exported ``classify`` signature. Prints::

    [{"image": "cat.jpg", "top": [{"class": 281, "name": "n02123045", "probability": 0.91}, ...]}]

As a library::

    >>> answers = predict_images(model, [rgb_uint8_image], top=5)  # doctest: +SKIP
"""

import argparse
import json
import sys


def model_inputs(model, image):
    """One uint8 RGB image -> the network input ``[1, h, w, 3]`` of ``model``."""
    import tensorflow as tf

    from hrnet_tf.classification.codec import eval_settings
    from hrnet_tf.classification.pipeline import eval_image
    from hrnet_tf.data.images import normalize

    size, fraction, normalization = eval_settings(model)
    image = tf.convert_to_tensor(image, tf.uint8)
    if size is None:  # no fixed input size: the whole image, as the signature does
        return normalize(image, normalization)[None]
    return eval_image(image, size, fraction, normalization)[None]


def predict_images(model, images, top=5, forward=None):
    """The top ``top`` classes of each uint8 RGB image (a list of dicts per image, best first)."""
    from hrnet_tf.classification.codec import class_names_of, decode, probabilities
    from hrnet_tf.evaluation import forward_function

    forward = forward or forward_function(model)
    names = class_names_of(model)
    answers = []
    for image in images:
        probs = probabilities(forward(model_inputs(model, image)).numpy())[0]
        answers.append(decode(probs, names, top))
    return answers


def build_parser():
    from hrnet_tf.models.cli_args import parse_size, parse_width

    parser = argparse.ArgumentParser(
        prog="python -m hrnet_tf.classification.predict", description=__doc__.splitlines()[0]
    )
    parser.add_argument("images", nargs="+", metavar="IMAGE")
    parser.add_argument("--weights", help="model.keras, .weights.h5 or an official .pth")
    parser.add_argument("--top", type=int, default=5, help="classes per image (default 5)")
    parser.add_argument("--width", type=parse_width, default=18,
                        help="without a .keras file: the network width (default 18)")
    parser.add_argument("--num-classes", type=int, default=1000)
    parser.add_argument("--input-size", type=parse_size, default=(224, 224), help="N or HxW")
    parser.add_argument("--no-head-conv-bias", action="store_true",
                        help="classifier head convs without bias (SSLD checkpoints)")
    return parser


def _main(argv):
    args = build_parser().parse_args(argv)
    if args.top < 1:
        from hrnet_tf.errors import ConfigError

        raise ConfigError(f"--top {args.top}: must be at least 1")
    from hrnet_tf.data.images import read_image_numpy
    from hrnet_tf.errors import DataError
    from hrnet_tf.models import HRNetClassifier, load_or_build

    images = []
    for path in args.images:
        try:
            images.append(read_image_numpy(path))
        except (OSError, ValueError) as e:
            raise DataError(str(e)) from None

    def build():
        return HRNetClassifier(args.width, num_classes=args.num_classes,
                               input_shape=(*args.input_size, 3),
                               head_conv_bias=not args.no_head_conv_bias)

    model = load_or_build(args.weights, "classification", build)
    answers = predict_images(model, images, args.top)
    result = [{"image": path, "top": top} for path, top in zip(args.images, answers, strict=True)]
    print(json.dumps(result, indent=1))


def main(argv=None):
    from hrnet_tf.cli import run

    return run(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
