"""Training throughput of HRNet-Wxx-C: images/s of the trainer's step, with and without XLA, beside
PyTorch on the same machine: timm's ``hrnet_w18`` when timm is importable, else the official-structure
PyTorch HRNet of ``benchmarks/torch_hrnet.py`` (same network, same key names; needs only torch).

    python benchmarks/train_classifier.py                   # W18-C, 224x224, batch 16, CPU
    python benchmarks/train_classifier.py --width 32 --steps 10 --batch 32

Not a test: numbers depend on the machine and its load. The step is the one ``Trainer`` runs
(forward, backward, gradient all-reduce, L2 weight decay, SGD with Nesterov momentum) on
in-memory random images, so data loading is not measured.
"""

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# PyTorch's OpenMP threads spin-wait by default and stall badly on a shared, loaded CPU.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _tf_images_per_second(width, size, batch, steps, warmup, jit):
    import numpy as np
    import tensorflow as tf

    from hrnet_tf.classification import ClassificationConfig, ClassificationTask
    from hrnet_tf.training.config import load_config
    from hrnet_tf.training.task import TaskData
    from hrnet_tf.training.trainer import Trainer

    class RandomImages(ClassificationTask):
        def train_dataset(self, config, data, input_context=None, epoch=0):
            rng = np.random.default_rng(0)
            images = rng.normal(size=(batch, size, size, 3)).astype(np.float32)
            labels = rng.integers(0, 1000, batch).astype(np.int32)
            return tf.data.Dataset.from_tensors((images, labels)).repeat()

    config = load_config(
        None,
        ClassificationConfig,
        [
            f"model.width={width}",
            f"data.image_size={size}",
            f"train.batch_size={batch}",
            f"train.jit_compile={str(jit).lower()}",
        ],
    )
    messages = []
    trainer = Trainer(RandomImages(), config, tempfile.mkdtemp(), log=messages.append)
    trainer.data = TaskData(num_train=batch)  # the in-memory images stand in for a dataset
    trainer._build(steps_per_epoch=1000)
    step = trainer._make_step(batch)
    if jit and not trainer.jit_compiled:
        return None, messages[-1] if messages else "XLA could not compile the step"
    iterator = iter(trainer._epoch_dataset(0, 0))
    for _ in range(warmup):
        float(step(iterator)[0])
    start = time.perf_counter()
    for _ in range(steps):
        float(step(iterator)[0])
    return batch * steps / (time.perf_counter() - start), None


def _torch_images_per_second(width, size, batch, steps, warmup):
    """PyTorch eager, channels_last, SGD + Nesterov + weight decay as in the official recipe."""
    try:
        import torch
    except ImportError:
        return None, None, "PyTorch column skipped: torch is not importable"
    torch.manual_seed(0)
    torch.set_num_threads(os.cpu_count() or 1)
    try:
        import timm

        model, source = timm.create_model(f"hrnet_w{width}", num_classes=1000), f"timm hrnet_w{width}"
    except Exception:  # timm missing, or it fails to import without torchvision
        from benchmarks.torch_hrnet import HRNet
        from hrnet_tf.models.specs import resolve_spec

        model, source = HRNet(resolve_spec(width), "classification", 1000), "official-structure HRNet"
    model = model.train().to(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4)
    images = torch.randn(batch, 3, size, size).to(memory_format=torch.channels_last)
    labels = torch.randint(0, 1000, (batch,))
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(images), labels)
        loss.backward()
        optimizer.step()
        return float(loss.detach())

    for _ in range(warmup):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return batch * steps / (time.perf_counter() - start), source, None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", default="18")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args(argv)

    import tensorflow as tf

    device = "GPU" if tf.config.list_physical_devices("GPU") else f"CPU ({os.cpu_count()} cores)"
    print(
        f"HRNet-W{args.width}-C training, {args.size}x{args.size}, batch {args.batch}, "
        f"{args.steps} timed steps after {args.warmup} warm-up, {device}"
    )
    rows = {}
    for jit in (False, True):
        ips, note = _tf_images_per_second(args.width, args.size, args.batch, args.steps, args.warmup, jit)
        label = f"hrnet_tf, jit_compile={jit}"
        rows[label] = ips
        print(f"  {label:32s} " + (f"{ips:8.2f} images/s" if ips else f"n/a ({note})"), flush=True)
    ips, source, note = _torch_images_per_second(args.width, args.size, args.batch, args.steps, args.warmup)
    label = f"PyTorch eager ({source})" if source else "PyTorch eager"
    print(f"  {label:32s} " + (f"{ips:8.2f} images/s" if ips else f"n/a ({note})"))
    for jit in (False, True):
        ours = rows[f"hrnet_tf, jit_compile={jit}"]
        if ips and ours:
            print(f"  time ratio hrnet_tf (jit_compile={jit}) / PyTorch: {ips / ours:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
