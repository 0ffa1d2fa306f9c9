"""Where graph-mode time goes: per-op-type share of one model's forward pass, or of a training step.

The model is built as in benchmarks/inference.py (random init, BN folded as in our exports), frozen
to constants and run in a TF session with full tracing, so the numbers are those of the kernels
Grappler actually schedules (fused Conv2D + bias + ReLU, etc.). Needs nothing beyond TensorFlow.

``--train`` profiles forward + backward in training mode instead (BN not folded, batch statistics):
the model runs through ``stateless_call`` with its weights as constants, so the graph holds the
kernels of the step and no variable updates; ``--keras-bn`` uses Keras' BatchNorm ops instead of
hrnet_tf's fused kernel.

    python benchmarks/profile_ops.py --model seg_w18s1 --batch 8
    python benchmarks/profile_ops.py --model pose_w32 --batch 1 --runs 5 --threads 2
    python benchmarks/profile_ops.py --model cls_w18s1 --batch 16 --train [--keras-bn]
"""

import argparse
import collections
import os
import statistics
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

from inference import MODELS, build_model  # noqa: E402  (the same model table as the timings)


def op_times(model, input_hw, batch, runs, threads, train=False):
    """{op type: [seconds per run, ...]} from ``runs`` traced session runs (after one warm-up)."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    spec = tf.TensorSpec([batch, *input_hw, 3], tf.float32)
    if train:
        frozen = _training_step(model).get_concrete_function(spec)
    else:
        frozen = convert_variables_to_constants_v2(
            tf.function(lambda x: model(x, training=False)).get_concrete_function(spec)
        )
    return _traced_op_times(frozen, spec, runs, threads)


def _training_step(model):
    """Forward + backward in training mode with every weight a constant (no variable updates)."""
    import tensorflow as tf

    trainable_values = [v.numpy() for v in model.trainable_variables]
    non_trainable_values = [v.numpy() for v in model.non_trainable_variables]

    @tf.function
    def step(x):
        # made inside the function: Const nodes (eager tensors would be captured as placeholders)
        trainable = [tf.constant(v) for v in trainable_values]
        non_trainable = [tf.constant(v) for v in non_trainable_values]
        with tf.GradientTape() as tape:
            tape.watch(trainable)
            outputs, new_statistics = model.stateless_call(trainable, non_trainable, x,
                                                           training=True)
            loss = tf.reduce_mean(tf.square(outputs))
        return [loss, *tape.gradient(loss, trainable), *new_statistics]

    return step


def _traced_op_times(frozen, spec, runs, threads):
    import numpy as np
    import tensorflow as tf

    input_name, output_names = frozen.inputs[0].name, [t.name for t in frozen.outputs]
    graph = tf.Graph()
    with graph.as_default():
        tf.graph_util.import_graph_def(frozen.graph.as_graph_def(), name="")
    config = tf.compat.v1.ConfigProto(
        intra_op_parallelism_threads=threads, inter_op_parallelism_threads=threads
    )
    x = np.random.default_rng(0).normal(size=spec.shape).astype(np.float32)
    feeds = {input_name: x}
    per_type = collections.defaultdict(list)
    with tf.compat.v1.Session(graph=graph, config=config) as session:
        session.run(output_names, feeds)
        for _ in range(runs):
            options = tf.compat.v1.RunOptions(trace_level=tf.compat.v1.RunOptions.FULL_TRACE)
            metadata = tf.compat.v1.RunMetadata()
            session.run(output_names, feeds, options=options, run_metadata=metadata)
            totals = collections.Counter()
            for device in metadata.step_stats.dev_stats:
                for node in device.node_stats:
                    # "name = OpType(inputs)": the kernel Grappler ran, fused nodes included
                    kind = node.timeline_label.split(" = ")[-1].split("(")[0] or node.node_name
                    totals[kind] += node.op_end_rel_micros / 1e6
            for kind, seconds in totals.items():
                per_type[kind].append(seconds)
    return per_type


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="seg_w18s1", choices=sorted(MODELS))
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--train", action="store_true", help="forward + backward, training mode")
    parser.add_argument("--keras-bn", action="store_true",
                        help="with --train: Keras' BatchNorm ops, not the fused kernel")
    args = parser.parse_args()

    from hrnet_tf.layers.batch_norm import BatchNorm
    from hrnet_tf.models import fold_batch_norm

    model = build_model(args.model)
    if not args.train:
        model = fold_batch_norm(model)  # folded, as in our exports
    BatchNorm.fused = not args.keras_bn
    per_type = op_times(model, MODELS[args.model][2], args.batch, args.runs, args.threads,
                        train=args.train)
    medians = {kind: statistics.median(v) for kind, v in per_type.items()}
    total = sum(medians.values())
    what = "training step" + (" (Keras BatchNorm)" if args.keras_bn else "") if args.train else \
        "inference"
    print(f"{args.model} {what}, batch {args.batch}, {args.threads} threads, median of {args.runs} "
          f"traced runs; kernel time summed over ops {total * 1e3:.0f} ms")
    for kind, seconds in sorted(medians.items(), key=lambda kv: -kv[1])[: args.top]:
        print(f"  {kind:28s} {seconds * 1e3:9.1f} ms  {100 * seconds / total:5.1f}%")


if __name__ == "__main__":
    main()
