"""What ``seed`` promises with ``train.deterministic: true``, on a real folder of JPEGs of varied
sizes: a run killed with SIGKILL in the middle of epoch 2 and resumed ends with bit-identical
weights (BatchNorm statistics included) and metrics to an uninterrupted run started beside it.
That also holds two fresh runs to each other: the killed run computed its first epoch and a half
itself, so any nondeterminism would show. Subprocesses: determinism is process-wide and a kill
needs a process."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from .helpers import image_folder

REPO = Path(__file__).resolve().parents[2]
STEPS_PER_EPOCH = 8  # 32 images, batch 4


def _command(data, out):
    return [sys.executable, str(REPO / "train" / "classify.py"), "--data-dir", str(data),
            "--out", str(out), "--set", "model.width=tiny", "model.num_classes=2",
            "model.head=pooled", "data.image_size=32", "train.batch_size=4", "train.epochs=2",
            "train.lr=0.02", "train.lr_steps=[1]", "train.checkpoint_every_steps=3",
            "train.deterministic=true"]


def _start(data, out):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(REPO)}
    env.pop("TF_CONFIG", None)
    return subprocess.Popen(_command(data, out), cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _finish(proc):
    output = proc.communicate(timeout=600)[0]
    assert proc.returncode == 0, output[-3000:]
    return output


def _latest_step(out):
    index = out / "checkpoints" / "checkpoint"
    match = re.search(r'model_checkpoint_path: "ckpt-(\d+)"', index.read_text()) if (
        index.exists()) else None
    return int(match.group(1)) if match else -1


def _weights(out):
    import hrnet_tf

    model = hrnet_tf.load_model(out / "model.keras")
    return {w.path: np.asarray(w) for w in model.weights}


def _assert_same_run(a, b):
    wa, wb = _weights(a), _weights(b)
    assert list(wa) == list(wb)
    assert any("moving_variance" in path for path in wa)  # BN statistics are compared too
    for path in wa:
        np.testing.assert_array_equal(wb[path], wa[path], err_msg=path)
    assert json.loads((a / "metrics.json").read_text()) == json.loads(
        (b / "metrics.json").read_text())


@pytest.mark.slow
def test_seeded_runs_reproduce_and_a_killed_run_resumes_to_the_same_weights(tmp_path):
    data = image_folder(tmp_path / "data", num_classes=2, train_per_class=16, val_per_class=4,
                        size=(30, 34), max_size=(64, 72))
    first, killed = tmp_path / "first", tmp_path / "killed"
    uninterrupted = _start(data, first)
    victim = _start(data, killed)
    deadline = time.time() + 600
    while _latest_step(killed) <= STEPS_PER_EPOCH and time.time() < deadline:
        assert victim.poll() is None, "the run ended before it could be killed"
        time.sleep(0.01)
    victim.send_signal(signal.SIGKILL)
    victim.communicate()
    killed_at = _latest_step(killed)
    assert STEPS_PER_EPOCH < killed_at < 2 * STEPS_PER_EPOCH, killed_at  # inside epoch 2
    assert not (killed / "model.keras").exists()
    _finish(uninterrupted)

    resumed = _finish(_start(data, killed))
    assert f"resuming from {killed / 'checkpoints' / f'ckpt-{killed_at}'} (epoch 2," in resumed
    _assert_same_run(first, killed)
