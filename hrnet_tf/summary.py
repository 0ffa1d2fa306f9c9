"""Model size in the official definitions: trainable parameters and GFLOPs.

The official HRNet repositories report "GFLOPs" as the multiply-accumulates of convolution and linear
layers only, divided by 1024**3 (``lib/utils/modelsummary.py``); `count_gflops` follows that, so its
figures compare directly with the papers' tables. The count comes from the traced TensorFlow graph at
the given input size; nothing is executed.

    python -m hrnet_tf.summary --model pose --width 32 --input-size 256x192
"""

import argparse
import sys

import numpy as np


def count_parameters(model, trainable_only=True):
    """Trainable parameters (BN moving statistics excluded), as the official tables count them."""
    weights = model.trainable_weights if trainable_only else model.weights
    return int(sum(np.prod(w.shape) for w in weights))


def _static(shape):
    dims = shape.as_list()
    if any(d is None for d in dims):
        raise ValueError(f"cannot count FLOPs of a dynamic shape {dims}")
    return dims


def count_macs(model, input_size, batch_size=1):
    """Multiply-accumulates of Conv2D/Dense (MatMul) ops for an input of ``input_size`` = (H, W)."""
    import tensorflow as tf

    spec = tf.TensorSpec([batch_size, *input_size, model.inputs[0].shape[-1]], tf.float32)
    graph = tf.function(lambda x: model(x, training=False)).get_concrete_function(spec).graph
    total = 0
    for op in graph.get_operations():
        if op.type in ("Conv2D", "DepthwiseConv2dNative"):
            out = _static(op.outputs[0].shape)
            kh, kw, cin, cout = _static(op.inputs[1].shape)
            per_output = kh * kw * (cin if op.type == "Conv2D" else 1)
            total += int(np.prod(out)) * per_output
        elif op.type in ("MatMul", "BatchMatMulV2"):
            a = _static(op.inputs[0].shape)
            out = _static(op.outputs[0].shape)
            k = a[-2] if op.get_attr("transpose_a" if op.type == "MatMul" else "adj_x") else a[-1]
            total += int(np.prod(out)) * k
    return total


def count_gflops(model, input_size, batch_size=1):
    """The official "GFLOPs": conv + linear multiply-accumulates / 1024**3."""
    return count_macs(model, input_size, batch_size) / 1024**3


DEFAULT_SIZES = {
    "classifier": (224, 224),
    "pose": (256, 192),
    "v1": (256, 192),
    "segmentation": (1024, 2048),
    "v2": (1024, 2048),
    "detection": (800, 1344),
    "v2p": (800, 1344),
}


def main(argv=None):
    from hrnet_tf.cli import run

    return run(_main, argv)


def _main(argv):
    from hrnet_tf.cli import ArgumentParser
    from hrnet_tf.models.cli_args import add_model_arguments, model_from_args

    parser = ArgumentParser(
        prog="python -m hrnet_tf.summary",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_model_arguments(parser)
    args = parser.parse_args(argv)
    size = args.input_size or DEFAULT_SIZES[args.model.lower()]
    # Pose and classifier trunks are built at their input size; the others are size-agnostic.
    model = model_from_args(args, input_size=size)
    params = count_parameters(model)
    gflops = count_gflops(model, size)
    print(
        f"{model.name}: {params:,} trainable parameters ({params / 1e6:.2f}M), "
        f"{gflops:.2f} GFLOPs at {size[0]}x{size[1]}"
    )


if __name__ == "__main__":
    sys.exit(main())
