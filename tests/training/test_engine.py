"""The training engine end to end: resume after SIGKILL, MirroredStrategy against one device, two
MultiWorkerMirroredStrategy workers (subprocesses: a process to kill, virtual devices, a cluster),
divergence, mixed precision and checkpoints (in-process)."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).with_name("tiny_task.py")
REPO = SCRIPT.parents[2]
COMMON = ["train.deterministic=true", "train.epochs=3", "model.sync_bn=true"]


def _env(**extra):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(REPO)}
    env.pop("TF_CONFIG", None)
    env.update(extra)
    return env


def _run(out, *args, digest=None, timeout=240, env=None):
    cmd = [sys.executable, str(SCRIPT), "--out", str(out), *args]
    if digest:
        cmd += ["--digest", str(digest)]
    return subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, env=env or _env(), cwd=REPO
    )


def _ok(result):
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def _latest_checkpoint_step(ckpt_dir):
    index = ckpt_dir / "checkpoint"
    if not index.exists():
        return -1
    match = re.search(r'model_checkpoint_path: "ckpt-(\d+)"', index.read_text())
    return int(match.group(1)) if match else -1


@pytest.mark.slow
def test_killed_and_resumed_run_equals_uninterrupted(tmp_path):
    settings = ["--set", *COMMON, "train.checkpoint_every_steps=4", "train.keep_checkpoints=2",
                "data.batch_delay_ms=60"]
    _ok(_run(tmp_path / "straight", *settings, digest=tmp_path / "straight.npy"))

    out = tmp_path / "killed"
    cmd = [sys.executable, str(SCRIPT), "--out", str(out), *settings]
    proc = subprocess.Popen(cmd, env=_env(), cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 180
    while _latest_checkpoint_step(out / "checkpoints") < 12 and time.time() < deadline:
        assert proc.poll() is None, "the run ended before it could be killed"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = _latest_checkpoint_step(out / "checkpoints")
    assert 12 <= killed_at < 36, killed_at  # 12 steps/epoch x 3 epochs: killed mid-run

    resumed = _ok(_run(out, *settings, digest=tmp_path / "resumed.npy"))
    assert "resuming from" in resumed.stdout
    np.testing.assert_array_equal(np.load(tmp_path / "resumed.npy"),
                                  np.load(tmp_path / "straight.npy"))

    # what a run leaves behind
    assert (out / "config.yaml").exists() and (out / "model.keras").exists()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["acc"] > 0.6  # 3 classes: well above chance
    kept = sorted(p.name for p in (out / "checkpoints").glob("ckpt-*.index"))
    assert kept == ["ckpt-32.index", "ckpt-36.index"]  # keep_checkpoints=2, last at the end
    assert list((out / "logs").glob("events.out.tfevents.*"))


@pytest.mark.slow
def test_mirrored_on_two_cpus_matches_one_device(tmp_path):
    settings = ["--set", *COMMON, "train.epochs=2"]
    _ok(_run(tmp_path / "one", *settings, digest=tmp_path / "one.npy"))
    mirrored = _ok(_run(tmp_path / "two", "--strategy", "mirrored", "--virtual-devices", "2",
                        *settings, digest=tmp_path / "two.npy"))
    assert "2 replica(s)" in mirrored.stdout
    one, two = np.load(tmp_path / "one.npy"), np.load(tmp_path / "two.npy")
    # Same global batch, synchronized BN: equal up to float summation order.
    np.testing.assert_allclose(two, one, rtol=1e-4, atol=1e-5)


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.mark.slow
def test_two_workers_end_with_identical_weights(tmp_path):
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs = []
    for index in range(2):
        tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        cmd = [sys.executable, str(SCRIPT), "--out", str(tmp_path / "out"), "--strategy",
               "multiworker", "--digest", str(tmp_path / f"worker{index}.npy"), "--set", *COMMON,
               "train.epochs=2", "train.checkpoint_every_steps=5"]
        procs.append(subprocess.Popen(cmd, env=_env(TF_CONFIG=tf_config), cwd=REPO,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True))
    try:
        outputs = [p.communicate(timeout=240)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, text in zip(procs, outputs, strict=True):
        assert p.returncode == 0, text[-3000:]
    assert "2 replica(s)" in outputs[0]
    w0, w1 = np.load(tmp_path / "worker0.npy"), np.load(tmp_path / "worker1.npy")
    np.testing.assert_array_equal(w0, w1)
    out = tmp_path / "out"
    assert (out / "model.keras").exists() and (out / "metrics.json").exists()
    assert not list((out / "checkpoints").glob(".worker*"))  # the other worker's copies are gone


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, capsys):
    import tensorflow as tf

    from tests.training.tiny_task import main

    status = main(["--out", str(tmp_path), "--set", "model.nan_after_steps=5",
                   "train.checkpoint_every_steps=2"])
    err = capsys.readouterr().err.strip()
    assert status == 3
    assert err.count("\n") == 0 and "loss is nan" in err and "global step 6" in err
    latest = tf.train.latest_checkpoint(str(tmp_path / "checkpoints"))
    assert latest.endswith("ckpt-4") and "ckpt-4" in err
    reader = tf.train.load_checkpoint(latest)
    for name in reader.get_variable_to_shape_map():
        value = reader.get_tensor(name)
        if np.issubdtype(np.asarray(value).dtype, np.floating):
            assert np.isfinite(value).all(), name
    assert not (tmp_path / "model.keras").exists()


def test_batch_not_divisible_by_replicas_is_one_line(tmp_path):
    # A subprocess: the two virtual CPUs must be configured before TensorFlow first runs, which in
    # the test process has long happened.
    result = _run(tmp_path, "--strategy", "mirrored", "--virtual-devices", "2", "--set",
                  "train.batch_size=7")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "error: train.batch_size=7 is not divisible by the 2 replicas"
    )


def test_mixed_precision_and_jit_compile(tmp_path):
    import keras

    from hrnet_tf.training.config import load_config
    from hrnet_tf.training.trainer import Trainer
    from tests.training.tiny_task import TinyConfig, TinyTask

    task = TinyTask()
    for policy, jit in (("float16", False), ("bfloat16", True)):
        config = load_config(None, TinyConfig, [f"train.mixed_precision={policy}",
                                                f"train.jit_compile={str(jit).lower()}"])
        trainer = Trainer(task, config, tmp_path / policy, log=lambda line: None)
        metrics = trainer.fit()
        conv = trainer.model.layers[1]
        assert conv.compute_dtype == policy and conv.variable_dtype == "float32"
        assert keras.config.dtype_policy().name == "float32"  # the global policy is restored
        assert trainer.jit_compiled == jit
        assert metrics["acc"] > 0.6, (policy, metrics)
        if policy == "float16":
            assert type(trainer.optimizer).__name__ == "LossScaleOptimizer"


def test_checkpoints_restore_every_variable_of_an_hrnet(tmp_path):
    """BN statistics inside nested layers (fusion paths) come back too: TensorFlow's object graph
    does not reach them, so the keeper saves the flat variable lists."""
    import keras

    import hrnet_tf
    from hrnet_tf.training.checkpoints import CheckpointKeeper

    def keeper_of(model):
        optimizer = keras.optimizers.SGD(0.1, momentum=0.9)
        optimizer.build(model.trainable_variables)
        return CheckpointKeeper(tmp_path, model, optimizer), optimizer

    model = hrnet_tf.HRNetV1("tiny", input_shape=(64, 64, 3))
    keeper, optimizer = keeper_of(model)
    rng = np.random.default_rng(0)
    for variable in [*model.weights, *optimizer.variables]:
        variable.assign(rng.normal(size=variable.shape).astype(variable.dtype))
    keeper.save(7, 1, 2)

    fresh = hrnet_tf.HRNetV1("tiny", input_shape=(64, 64, 3))
    fresh_keeper, fresh_optimizer = keeper_of(fresh)
    assert fresh_keeper.restore() is not None and fresh_keeper.position() == (7, 1, 2)
    nested_stats = [w for w in model.weights if "fuse_layers" in w.path and "moving" in w.path]
    assert nested_stats
    for want, got in zip([*model.weights, *optimizer.variables],
                         [*fresh.weights, *fresh_optimizer.variables], strict=True):
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want), err_msg=want.path)
