"""Inference latency and throughput: hrnet_tf (graph mode, XLA), SavedModel, TFLite, ONNX Runtime,
side by side with PyTorch eager and ONNX Runtime on a PyTorch export when torch is installed.

    python benchmarks/inference.py                          # every model, batch 1 and 8, 2 threads
    python benchmarks/inference.py --models pose_w18s1 --batch-sizes 1 --max-seconds 5

Models are randomly initialized (BN statistics calibrated on synthetic images, which matters for int8
only); speed does not depend on the weights. All backends of one model and batch size are timed in
interleaved rounds (one call each per round), so that load from other processes hits them alike;
each cell is the median over the rounds (the minimum is kept too); throughput = batch / median.
The PyTorch model is the same network (benchmarks/torch_hrnet.py, the official structure) loaded
with the Keras weights; its outputs are checked against the Keras model before timing
(``max_rel_diff`` in the results).

Results go to ``benchmarks/results/<timestamp>.json`` and a Markdown table on stdout.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# PyTorch's OpenMP threads spin-wait by default; on a machine shared with other processes (ours: 2
# cores, load 6-8) a descheduled thread then stalls every op, and eager latency swings 10x from run to
# run (measured: 0.06-1.4 s for W18-small-v1 pose). Passive waiting makes it stable and is what the
# OpenMP spec recommends for oversubscribed machines. TF, TFLite and ONNX Runtime do not use OpenMP.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import numpy as np  # noqa: E402

# name: (constructor, width, input (h, w), outputs)
MODELS = {
    "cls_w18s1": ("HRNetClassifier", "18-small-v1", (128, 128), 1000),
    "pose_w18s1": ("HRNetV1", "18-small-v1", (256, 192), 17),
    "pose_w18s2": ("HRNetV1", "18-small-v2", (256, 192), 17),
    "pose_w32": ("HRNetV1", 32, (256, 192), 17),
    "pose_lite18": ("LiteHRNet", "18", (256, 192), 17),
    "pose_lite30": ("LiteHRNet", "30", (256, 192), 17),
    "cls_w32": ("HRNetClassifier", 32, (224, 224), 1000),
    "seg_w18s1": ("HRNetV2", "18-small-v1", (512, 1024), 19),
    "seg_w18s2": ("HRNetV2", "18-small-v2", (512, 1024), 19),
}


def build_model(name):
    """The randomly initialized (BN not yet calibrated) Keras model of MODELS[name]."""
    import hrnet_tf

    ctor, width, size, outputs = MODELS[name]
    kwargs = ({"num_outputs": outputs} if ctor in ("HRNetV1", "LiteHRNet")
              else {"num_classes": outputs})
    return getattr(hrnet_tf, ctor)(width, input_shape=(*size, 3), **kwargs)


BACKENDS = (
    "keras_graph",
    "keras_graph_folded",
    "keras_forward",
    "keras_xla_folded",
    "saved_model",
    "tflite_fp32",
    "tflite_fp16",
    "tflite_int8",
    "ort_ours",
    "torch_eager",
    "torch_eager_nchw",
    "ort_torch",
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated subset")
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated subset")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--min-runs", type=int, default=3)
    parser.add_argument("--max-runs", type=int, default=20)
    parser.add_argument("--max-seconds", type=float, default=12.0,
                        help="timing budget per backend (rounds stop once min-runs are done)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    parser.add_argument("--relative-to", metavar="MODEL",
                        help="also tabulate every model's latency relative to MODEL's, per backend")
    parser.add_argument("--table", metavar="RESULTS_JSON",
                        help="only print the Markdown tables of an earlier results file")
    return parser.parse_args(argv)


def time_interleaved(runners, args):
    """Times ``[(backend, fn, extra), ...]`` in rounds (each fn once per round, after warm-up).

    Returns one row per backend: median and minimum latency over the rounds, or a failure note.
    Stops after ``max_runs`` rounds, or once ``min_runs`` are done and the rounds took longer than
    ``max_seconds`` per backend.
    """
    rows, live = [], []
    for backend, fn, extra in runners:
        try:
            for _ in range(args.warmup):
                fn()
            live.append((backend, fn, extra, []))
        except Exception as e:  # noqa: BLE001 - one failed backend must not stop the rest
            rows.append({"backend": backend,
                         "note": f"failed: {type(e).__name__}: {str(e).splitlines()[0][:120]}"})
    started = time.perf_counter()
    for round_index in range(args.max_runs):
        for _, fn, _, times in live:
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        elapsed = time.perf_counter() - started
        if round_index + 1 >= args.min_runs and elapsed > args.max_seconds * max(1, len(live)):
            break
    for backend, _, extra, times in live:
        median = statistics.median(times)
        rows.append({"backend": backend, "latency_ms": 1000 * median,
                     "min_latency_ms": 1000 * min(times), "runs": len(times), **extra})
    return rows


def torch_available():
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def torch_reference(keras_model):
    """Our PyTorch port of the official HRNet (benchmarks/torch_hrnet.py) with the Keras weights.

    timm's HRNet would be the natural choice, but timm needs torchvision, which does not import
    next to the CPU build of torch here (``operator torchvision::nms does not exist``); the port has
    the official structure and key names, and its outputs are checked against Keras below.
    """
    from torch_hrnet import torch_twin

    return torch_twin(keras_model), "benchmarks/torch_hrnet.py"


def main(argv=None):
    args = parse_args(argv)
    if args.table:
        results = json.loads(Path(args.table).read_text())["results"]
        batches = sorted({r["batch"] for r in results})
        print(markdown_table(results, batches, args.relative_to))
        return
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras

    from hrnet_tf.export import calibrate_batch_norm, detect_task, fold_batch_norm, normalize_uint8
    from hrnet_tf.export.onnx import export_onnx, make_session
    from hrnet_tf.export.saved_model import export_saved_model
    from hrnet_tf.export.tasks import sample_images
    from hrnet_tf.export.tflite import convert_to_tflite, make_interpreter, xnnpack_partitions

    models = [m for m in args.models.split(",") if m]
    backends = [b for b in args.backends.split(",") if b]
    unknown = [m for m in models if m not in MODELS] + [b for b in backends if b not in BACKENDS]
    if unknown:
        sys.exit(f"error: unknown model/backend {unknown}; models {list(MODELS)}, backends {BACKENDS}")
    have_torch = torch_available()
    if have_torch:
        import torch

        torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out_path = Path(args.out) / f"inference-{stamp}.json"
    meta = {
        "date": stamp,
        "threads": args.threads,
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "torch": torch.__version__ if have_torch else None,
        "command": " ".join([sys.executable.split("/")[-1], *sys.argv]),
    }
    results = []

    def record(row):
        results.append(row)
        out_path.write_text(json.dumps({"meta": meta, "results": results}, indent=1))
        lat = row.get("latency_ms")
        if lat:
            row["throughput"] = row["batch"] * 1000 / lat
        note = (f"{lat:9.1f} ms (min {row['min_latency_ms']:.1f})  {row['throughput']:7.2f} img/s"
                if lat else row.get("note", ""))
        print(f"{row['model']:11s} {row['backend']:19s} b{row['batch']:<2d} {note}", flush=True)

    for name in models:
        size = MODELS[name][2]
        keras.utils.set_random_seed(0)
        model = build_model(name)
        task = detect_task(model)  # from model.info: the SavedModel gets the task's signature
        calib = sample_images(4, size)
        calibrate_batch_norm(model, normalize_uint8(calib, model).numpy(), steps=2, batch_size=2)
        folded = fold_batch_norm(model)
        tmp = Path(tempfile.mkdtemp(prefix=f"bench_{name}_"))
        inputs = {b: normalize_uint8(sample_images(b, size, seed=b), model).numpy()
                  for b in args.batch_sizes}

        # Backends are prepared first and timed together, one call each per round, so that load
        # from other processes on a shared machine hits every backend alike.
        pending = {b: [] for b in args.batch_sizes}

        def cell(backend, batch, fn, pending=pending, **extra):
            pending[batch].append((backend, fn, extra))

        def skip(backend, why, name=name):
            for batch in args.batch_sizes:
                record({"model": name, "backend": backend, "batch": batch, "note": why})

        for backend in backends:
            try:
                if backend == "keras_forward":
                    from hrnet_tf.evaluation import forward_function

                    fn = forward_function(model)
                    for b in args.batch_sizes:
                        x = tf.constant(inputs[b])
                        cell(backend, b, lambda fn=fn, x=x: tf.nest.flatten(fn(x))[0].numpy())
                elif backend.startswith("keras"):
                    net = model if backend == "keras_graph" else folded
                    fn = tf.function(lambda x, net=net: net(x, training=False),
                                     jit_compile=backend.startswith("keras_xla"))
                    for b in args.batch_sizes:
                        x = tf.constant(inputs[b])
                        cell(backend, b, lambda fn=fn, x=x: fn(x).numpy())
                elif backend == "saved_model":
                    export_saved_model(folded, tmp / "sm", task)
                    raw = tf.saved_model.load(str(tmp / "sm")).signatures["raw"]
                    for b in args.batch_sizes:
                        x = tf.constant(inputs[b])
                        cell(backend, b, lambda raw=raw, x=x: raw(image=x)["output"].numpy())
                elif backend.startswith("tflite"):
                    quantize = {"fp32": "none"}.get(backend[7:], backend[7:])
                    calibration = normalize_uint8(calib, model).numpy() if quantize == "int8" else None
                    for b in args.batch_sizes:
                        data = convert_to_tflite(folded, quantize, calibration, size, batch_size=b)
                        interpreter = make_interpreter(data, args.threads)
                        detail = interpreter.get_input_details()[0]
                        partitions = xnnpack_partitions(interpreter)  # allocates the tensors
                        interpreter.set_tensor(detail["index"], inputs[b])
                        cell(backend, b, interpreter.invoke, size_mb=len(data) / 1e6,
                             xnnpack_partitions=partitions)
                elif backend == "ort_ours":
                    path = export_onnx(folded, tmp / "ours.onnx", size)
                    session = make_session(path, args.threads)
                    feed_name = session.get_inputs()[0].name
                    for b in args.batch_sizes:
                        feed = {feed_name: inputs[b]}
                        cell(backend, b, lambda s=session, f=feed: s.run(None, f))
                elif backend in ("torch_eager", "torch_eager_nchw", "ort_torch"):
                    if not have_torch:
                        skip(backend, "torch not installed")
                        continue
                    net, source = torch_reference(model)
                    net = net.to(memory_format=torch.channels_last)
                    x1 = torch.from_numpy(inputs[args.batch_sizes[0]]).permute(0, 3, 1, 2)
                    with torch.inference_mode():
                        y = net(x1.contiguous(memory_format=torch.channels_last)).numpy()
                    y = y.transpose(0, 2, 3, 1) if y.ndim == 4 else y
                    want = np.asarray(model(inputs[args.batch_sizes[0]], training=False))
                    rel = float(np.abs(y - want).max() / np.abs(want).max())
                    if backend.startswith("torch_eager"):
                        layout = (torch.contiguous_format if backend.endswith("nchw")
                                  else torch.channels_last)
                        net = net.to(memory_format=layout)
                        for b in args.batch_sizes:
                            x = torch.from_numpy(inputs[b]).permute(0, 3, 1, 2).contiguous(
                                memory_format=layout)

                            def run(net=net, x=x):
                                with torch.inference_mode():
                                    return net(x)

                            cell(backend, b, run, source=source, max_rel_diff=rel)
                    else:
                        path = tmp / "torch.onnx"
                        dummy = torch.zeros(1, 3, *size)
                        torch.onnx.export(net.to(memory_format=torch.contiguous_format), dummy,
                                          str(path), input_names=["image"],
                                          dynamic_axes={"image": {0: "batch"}}, dynamo=False)
                        session = make_session(path, args.threads)
                        for b in args.batch_sizes:
                            feed = {"image": np.ascontiguousarray(inputs[b].transpose(0, 3, 1, 2))}
                            cell(backend, b, lambda s=session, f=feed: s.run(None, f),
                                 source=source, max_rel_diff=rel)
            except Exception as e:  # noqa: BLE001 - report and continue with the next backend
                skip(backend, f"failed: {type(e).__name__}: {(str(e).splitlines() or [''])[0][:160]}")
        for batch in args.batch_sizes:
            for row in time_interleaved(pending[batch], args):
                record({"model": name, "batch": batch, **row})
    print(f"\nwrote {out_path}\n")
    print(markdown_table(results, args.batch_sizes, args.relative_to))


RATIO_PAIRS = (
    ("keras_forward", "torch_eager"),
    ("keras_graph_folded", "torch_eager"),
    ("keras_xla_folded", "torch_eager"),
    ("keras_graph", "torch_eager"),
    ("tflite_fp32", "ort_ours"),
    ("tflite_fp32", "ort_torch"),
    ("tflite_int8", "tflite_fp32"),
    ("tflite_int8", "ort_ours"),
)


def markdown_table(results, batch_sizes, relative_to=None):
    """Median latency (ms) per model x backend for each batch size, plus the goal ratios computed
    from medians and from minima (the minimum is the less load-sensitive estimate); with
    ``relative_to`` (a model), every model's latency over that model's, per backend."""
    models = list(dict.fromkeys(r["model"] for r in results))
    backends = [b for b in BACKENDS if any(r["backend"] == b for r in results)]
    median = {(r["model"], r["backend"], r["batch"]): r.get("latency_ms") for r in results}
    minimum = {(r["model"], r["backend"], r["batch"]): r.get("min_latency_ms") for r in results}
    lines = []
    for batch in batch_sizes:
        lines.append(f"\nMedian latency in ms, batch {batch} (lower is better):\n")
        lines.append("| model | " + " | ".join(backends) + " |")
        lines.append("|---" * (len(backends) + 1) + "|")
        for m in models:
            row = [f"{median[(m, b, batch)]:.1f}" if median.get((m, b, batch)) else "-"
                   for b in backends]
            lines.append(f"| {m} | " + " | ".join(row) + " |")
    lines.append("\nRatios of latencies, median (min); goals: graph / torch <= 0.8, "
                 "tflite / ort <= 1.0:\n")
    lines.append("| model | batch | " + " | ".join(f"{a} / {b}" for a, b in RATIO_PAIRS) + " |")
    lines.append("|---" * (len(RATIO_PAIRS) + 2) + "|")
    for m in models:
        for batch in batch_sizes:
            row = []
            for a, b in RATIO_PAIRS:
                ka, kb = (m, a, batch), (m, b, batch)
                if median.get(ka) and median.get(kb):
                    row.append(f"{median[ka] / median[kb]:.2f} ({minimum[ka] / minimum[kb]:.2f})")
                else:
                    row.append("-")
            lines.append(f"| {m} | {batch} | " + " | ".join(row) + " |")
    if relative_to in models:
        lines.append(f"\nLatency relative to {relative_to} on the same backend, median (min):\n")
        lines.append("| model | batch | " + " | ".join(backends) + " |")
        lines.append("|---" * (len(backends) + 2) + "|")
        for m in models:
            for batch in batch_sizes:
                row = []
                for b in backends:
                    ka, kb = (m, b, batch), (relative_to, b, batch)
                    if median.get(ka) and median.get(kb):
                        row.append(f"{median[ka] / median[kb]:.2f} "
                                   f"({minimum[ka] / minimum[kb]:.2f})")
                    else:
                        row.append("-")
                lines.append(f"| {m} | {batch} | " + " | ".join(row) + " |")
    partitions = {(r["model"], r["backend"]): r["xnnpack_partitions"] for r in results
                  if "xnnpack_partitions" in r}
    if partitions:
        lines.append("\nXNNPACK partitions of the TFLite models (1 = the whole graph delegated): "
                     + ", ".join(f"{m} {b} {n}" for (m, b), n in partitions.items()))
    return "\n".join(lines)


if __name__ == "__main__":
    main()
