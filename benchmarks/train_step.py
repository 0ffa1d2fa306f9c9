"""Training step time of hrnet_tf beside PyTorch eager on the same network, in one run.

    python benchmarks/train_step.py                               # the three cases of the goals
    python benchmarks/train_step.py --cases pose_w32 --rounds 3 --steps 2
    python benchmarks/train_step.py --memory --cases pose_w32     # peak memory of one step
    python benchmarks/train_step.py --json benchmarks/results/train-step.json

Columns (each one forward + backward + SGD-with-Nesterov update on one in-memory random batch):

* ``trainer``: the step ``hrnet_tf.training.Trainer`` runs (gradient all-reduce, L2 weight decay,
  loss scaling hooks), with hrnet_tf's fused BatchNorm;
* ``trainer_keras_bn``: the same with ``BatchNorm.fused = False`` (Keras' own BatchNorm ops):
  what the fused kernel gains;
* ``keras_fit``: ``model.compile(SGD) + model.train_on_batch`` on the same hrnet_tf model, as users
  who write their own Keras loop run it (``--xla`` adds ``keras_fit_xla``: ``jit_compile=True``);
* ``torch_eager``: ``benchmarks/torch_hrnet.py`` (the official structure) in train mode,
  channels_last, ``torch.optim.SGD(nesterov=True, weight_decay)``, on CUDA when there is one;
* for GPUs (``benchmarks/gpu.sh``): ``trainer_fp16`` (``train.mixed_precision=float16``),
  ``trainer_xla`` / ``trainer_fp16_xla`` (``train.jit_compile=true``), ``torch_amp`` (autocast
  float16 + GradScaler). A column the machine cannot run is skipped with its reason.

Method: every column is built first, then timed in interleaved rounds (each column ``--steps``
steps per round, after warm-up), so that load from other processes hits them alike; the table
gives median and minimum step times and the ratios to PyTorch. ``--memory`` runs each framework in
its own process and reports the peak resident memory of a step above the memory held before it.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# As train/*.py run: oneDNN kernels (TF_ENABLE_ONEDNN_OPTS=0 measures TensorFlow's default on AMD).
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
# PyTorch's OpenMP threads spin-wait by default and stall badly on a shared, loaded CPU.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# name: (task, width, input height, input width, batch); the goals of the speed issue.
CASES = {
    "cls_w18s1": ("classification", "18-small-v1", 128, 128, 16),
    "cls_w18": ("classification", "18", 224, 224, 16),
    "pose_w32": ("pose", "32", 256, 192, 8),
    "pose_w32_b32": ("pose", "32", 256, 192, 32),  # benchmarks/gpu.sh
    "tiny": ("pose", "tiny", 64, 64, 2),  # the dry run of the tests
}
COLUMNS = ("trainer", "trainer_keras_bn", "keras_fit", "torch_eager")
NUM_CLASSES, NUM_JOINTS = 1000, 17


class NotAvailable(Exception):
    """A column this machine cannot run (no CUDA for AMP, no XLA kernel)."""


def _config(case, mixed_precision="none", jit_compile=False):
    from hrnet_tf.classification import ClassificationConfig
    from hrnet_tf.pose.task import PoseConfig
    from hrnet_tf.training.config import load_config

    task, width, height, image_width, batch = CASES[case]
    common = [f"model.width={width}", f"train.batch_size={batch}",
              f"train.jit_compile={str(jit_compile).lower()}",
              f"train.mixed_precision={mixed_precision}"]
    if task == "classification":
        return load_config(None, ClassificationConfig, [*common, f"data.image_size={height}",
                                                        f"model.num_classes={NUM_CLASSES}"])
    return load_config(None, PoseConfig, [*common, f"data.image_size=[{height},{image_width}]",
                                          "train.optimizer=sgd", "train.weight_decay=0.0001"])


def _random_batch(case, seed=0):
    """NumPy (images, targets) of the task's pipeline structure."""
    import numpy as np

    task, _, height, width, batch = CASES[case]
    rng = np.random.default_rng(seed)
    images = rng.normal(size=(batch, height, width, 3)).astype(np.float32)
    if task == "classification":
        return images, rng.integers(0, NUM_CLASSES, batch).astype(np.int32)
    heatmaps = rng.uniform(size=(batch, height // 4, width // 4, NUM_JOINTS)).astype(np.float32)
    return images, {"heatmaps": heatmaps, "target_weight": np.ones((batch, NUM_JOINTS), np.float32)}


def _task(case):
    from hrnet_tf.classification import ClassificationTask
    from hrnet_tf.pose.task import PoseTask

    return ClassificationTask() if CASES[case][0] == "classification" else PoseTask()


def trainer_step(case, fused_bn=True, mixed_precision="none", jit_compile=False):
    """A function running one trainer step (and the trainer's model, for memory)."""
    import tempfile

    import tensorflow as tf

    from hrnet_tf.layers.batch_norm import BatchNorm
    from hrnet_tf.training.task import TaskData
    from hrnet_tf.training.trainer import Trainer

    batch = _random_batch(case)
    base = type(_task(case))

    class InMemory(base):
        def train_dataset(self, config, data, input_context=None, epoch=0):
            return tf.data.Dataset.from_tensors(batch).repeat()

    config = _config(case, mixed_precision, jit_compile)
    trainer = Trainer(InMemory(), config, tempfile.mkdtemp(), log=lambda line: None)
    trainer.data = TaskData(num_train=CASES[case][4])
    trainer._build(steps_per_epoch=1000)
    step = trainer._make_step(CASES[case][4])
    if jit_compile and not trainer.jit_compiled:
        raise NotAvailable("XLA cannot compile the step here")
    iterator = iter(trainer._epoch_dataset(0, 0))

    def run():
        previous, BatchNorm.fused = BatchNorm.fused, fused_bn  # read while tracing the step
        try:
            return float(step(iterator)[0])
        finally:
            BatchNorm.fused = previous

    return run


def keras_fit_step(case, jit_compile=False):
    import keras

    task = _task(case)
    config = _config(case)
    model = task.build_model(config)
    images, targets = _random_batch(case)
    if CASES[case][0] == "classification":
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    else:
        loss, targets = "mse", targets["heatmaps"]
    optimizer = keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True, weight_decay=1e-4)
    model.compile(optimizer=optimizer, loss=loss, jit_compile=jit_compile)
    return lambda: float(model.train_on_batch(images, targets))


def torch_step(case, amp=False):
    """PyTorch eager on CUDA when there is one (``amp``: autocast float16 + GradScaler), else CPU."""
    import torch

    from benchmarks.torch_hrnet import HRNet
    from hrnet_tf.models.specs import resolve_spec

    task, width, _, _, _ = CASES[case]
    torch.manual_seed(0)
    torch.set_num_threads(os.cpu_count() or 1)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if amp and device == "cpu":
        raise NotAvailable("PyTorch AMP needs CUDA")
    outputs = NUM_CLASSES if task == "classification" else NUM_JOINTS
    model = HRNet(resolve_spec(width), task, outputs).train()
    model = model.to(device, memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True,
                                weight_decay=1e-4)
    images, targets = _random_batch(case)
    x = torch.from_numpy(images).permute(0, 3, 1, 2).to(device)
    x = x.contiguous(memory_format=torch.channels_last)
    if task == "classification":
        y, loss_fn = torch.from_numpy(targets).long().to(device), torch.nn.CrossEntropyLoss()
    else:
        y = torch.from_numpy(targets["heatmaps"]).permute(0, 3, 1, 2).contiguous().to(device)
        loss_fn = torch.nn.MSELoss()
    scaler = torch.amp.GradScaler(device, enabled=amp)

    def run():
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device, dtype=torch.float16, enabled=amp):
            loss = loss_fn(model(x).float(), y)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        return float(loss.detach())  # waits for the device, so the step is timed whole

    return run


BUILDERS = {
    "trainer": trainer_step,
    "trainer_fp16": lambda case: trainer_step(case, mixed_precision="float16"),
    "trainer_xla": lambda case: trainer_step(case, jit_compile=True),
    "trainer_fp16_xla": lambda case: trainer_step(case, mixed_precision="float16",
                                                  jit_compile=True),
    "trainer_keras_bn": lambda case: trainer_step(case, fused_bn=False),
    "keras_fit": keras_fit_step,
    "keras_fit_xla": lambda case: keras_fit_step(case, jit_compile=True),
    "torch_eager": torch_step,
    "torch_amp": lambda case: torch_step(case, amp=True),
}


def time_case(case, columns, rounds, steps, warmup):
    """({column: [step seconds]}, {column: [step CPU seconds]}) over interleaved rounds.

    CPU time (all threads of this process) is kept beside wall time: on a shared machine it moves
    less with other processes' load, though spinning threads count in it.
    """
    import numpy as np

    runs = {}
    for column in columns:
        try:
            runs[column] = BUILDERS[column](case)
        except (ImportError, NotAvailable) as e:  # torch missing, no CUDA, no XLA kernel
            print(f"  {column}: skipped ({e})", flush=True)
    for run in runs.values():
        for _ in range(warmup):
            loss = run()
            if not np.isfinite(loss):
                raise RuntimeError(f"{case}: non-finite loss {loss} in warm-up")
    times = {column: [] for column in runs}
    cpu_times = {column: [] for column in runs}
    for _ in range(rounds):
        for column, run in runs.items():
            for _ in range(steps):
                start, cpu_start = time.perf_counter(), time.process_time()
                run()
                times[column].append(time.perf_counter() - start)
                cpu_times[column].append(time.process_time() - cpu_start)
    return times, cpu_times


def _peak_rss_mb():
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 2**20


def _current_rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def memory_of(case, column):
    """Runs in a fresh process: (MB held before the first step, peak MB during 3 steps)."""
    code = (
        "import json, sys; sys.path.insert(0, '.'); from benchmarks import train_step as b; "
        f"run = b.BUILDERS[{column!r}]({case!r}); before = b._current_rss_mb(); "
        "[run() for _ in range(3)]; print(json.dumps([before, b._peak_rss_mb()]))"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _summary(times):
    import numpy as np

    return {c: (float(np.median(t)), float(np.min(t))) for c, t in times.items()}


def print_table(case, summary, what="wall"):
    torch_median, torch_min = summary.get("torch_eager", (None, None))
    task, width, height, image_width, batch = CASES[case]
    print(f"{case}: {task} W{width} {height}x{image_width} batch {batch}, {what} time per step")
    for column, (median, minimum) in summary.items():
        ratio = ""
        if torch_median and column != "torch_eager":
            ratio = f"   / torch_eager: {median / torch_median:.2f} ({minimum / torch_min:.2f})"
        print(f"  {column:18s} median {1e3 * median:9.1f} ms  min {1e3 * minimum:9.1f} ms  "
              f"{batch / median:8.1f} images/s{ratio}", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="cls_w18s1,cls_w18,pose_w32",
                        help=f"comma-separated, of {', '.join(CASES)}")
    parser.add_argument("--columns", default=",".join(COLUMNS),
                        help=f"comma-separated, of {', '.join(BUILDERS)}")
    parser.add_argument("--xla", action="store_true", help="add keras_fit_xla")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=2, help="timed steps per column per round")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--memory", action="store_true",
                        help="peak memory of trainer and torch_eager steps, one process each")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    cases = args.cases.split(",")
    columns = args.columns.split(",") + (["keras_fit_xla"] if args.xla else [])
    for name in [*cases, *columns]:
        if name not in CASES and name not in BUILDERS:
            parser.error(f"unknown case or column {name!r}")

    import tensorflow as tf

    results = {"command": " ".join(["python benchmarks/train_step.py", *(argv or sys.argv[1:])]),
               "TF_ENABLE_ONEDNN_OPTS": os.environ["TF_ENABLE_ONEDNN_OPTS"],
               "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
               "tensorflow": tf.__version__, "cases": {}}
    for case in cases:
        if args.memory:
            memory = {c: memory_of(case, c) for c in ("trainer", "torch_eager")}
            for column, (before, peak) in memory.items():
                print(f"{case} {column:12s} held before {before:8.0f} MB  peak {peak:8.0f} MB  "
                      f"step {peak - before:8.0f} MB", flush=True)
            results["cases"][case] = {"memory_mb": memory}
            continue
        wall, cpu = time_case(case, columns, args.rounds, args.steps, args.warmup)
        summary, cpu_summary = _summary(wall), _summary(cpu)
        print_table(case, summary)
        print_table(case, cpu_summary, "CPU")
        results["cases"][case] = {"median_min_s": summary, "cpu_median_min_s": cpu_summary,
                                  "wall_s": wall, "cpu_s": cpu}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
