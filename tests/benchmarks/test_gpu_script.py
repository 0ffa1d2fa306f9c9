"""benchmarks/gpu.sh works before a GPU exists: its dry run (tiny width, 2 steps, CPU)."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.slow
def test_gpu_script_dry_run(tmp_path):
    results = tmp_path / "gpu.json"
    env = {**os.environ, "RESULTS": str(results), "PYTHON": sys.executable}
    run = subprocess.run(["bash", "benchmarks/gpu.sh", "--dry-run"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    out = run.stdout
    timed = json.loads(results.read_text())["cases"]["tiny"]["median_min_s"]
    # float32 trainer and PyTorch always run; on CPU, AMP is skipped with its reason.
    for column in ("trainer", "trainer_fp16", "torch_eager"):
        median, minimum = timed[column]
        assert 0 < minimum <= median, column
        assert f"  {column} " in out
    assert "torch_amp: skipped (PyTorch AMP needs CUDA)" in out
    assert "ratio tf.data / official:" in out  # the input pipeline ran on the same machine


def test_gpu_script_rejects_unknown_arguments():
    run = subprocess.run(["bash", "benchmarks/gpu.sh", "--fast"], cwd=ROOT, capture_output=True,
                         text=True)
    assert run.returncode == 2 and "usage: benchmarks/gpu.sh [--dry-run]" in run.stderr
