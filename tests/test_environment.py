"""The commands run TensorFlow's oneDNN kernels (hrnet_tf/__init__.py); a plain import does not switch."""

import json
import os
import subprocess
import sys
from pathlib import Path

import keras

from hrnet_tf.environment import report

REPO = Path(__file__).resolve().parents[1]


def test_a_command_runs_with_onednn_and_reports_it():
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    env["PYTHONPATH"] = str(REPO)
    out = subprocess.run([sys.executable, "-m", "hrnet_tf.environment"], env=env, cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    seen = json.loads(out.stdout)
    assert seen["TF_ENABLE_ONEDNN_OPTS"] == "1" and seen["onednn"] is True
    assert seen["tensorflow"].startswith("2.") and seen["keras_backend"] == "tensorflow"


def test_the_report_describes_this_process():
    seen = report()
    assert seen["keras_backend"] == keras.backend.backend()
    # the test process imported TensorFlow without the command switch
    assert seen["TF_ENABLE_ONEDNN_OPTS"] == os.environ.get("TF_ENABLE_ONEDNN_OPTS")
    assert isinstance(seen["onednn"], bool) and seen["cpu_count"] >= 1
