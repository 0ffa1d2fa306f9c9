"""A regular (non-editable) install carries the packaged experiment files and finds them.

The project is built from its own files (setup.cfg, pyproject.toml, README.md, hrnet_tf/) with pip
into a temporary folder; a fresh interpreter with only that folder on PYTHONPATH, started outside
the repository, resolves and loads every packaged YAML as the training commands do.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGED = REPO / "hrnet_tf" / "configs"

CHECK = textwrap.dedent(
    """
    import json, os, sys
    import hrnet_tf
    from hrnet_tf.registry import TRAIN_TASKS, command_of, get_task
    from hrnet_tf.training.config import CONFIG_ROOT, config_path, load_config

    site = sys.argv[1]
    result = {"package": hrnet_tf.__file__, "config_root": CONFIG_ROOT,
              "pose": config_path("configs/pose/coco_w32_256x192.yaml"), "loaded": {}, "task_files": []}
    for folder in sorted(os.listdir(CONFIG_ROOT)):
        config_class = get_task(command_of(folder)).config_class
        for name in sorted(os.listdir(os.path.join(CONFIG_ROOT, folder))):
            path = config_path(f"configs/{folder}/{name}")  # as --config configs/<task>/<file>
            load_config(path, config_class)
            result["loaded"][f"{folder}/{name}"] = path
    for command in TRAIN_TASKS:  # what train/<task>.py runs without --config
        task = get_task(command)
        result["task_files"] += [task.config_file(d) for d in getattr(task, "dataset_configs", {})]
    print(json.dumps(result))
    """
)


@pytest.mark.slow
def test_installed_package_finds_and_loads_every_packaged_config(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(REPO / "hrnet_tf", source / "hrnet_tf",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    site = tmp_path / "site"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
         "--quiet", "--target", str(site), str(source)],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-2000:]

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site), "TF_CPP_MIN_LOG_LEVEL": "3"}
    run = subprocess.run([sys.executable, "-c", CHECK, str(site)], capture_output=True, text=True,
                         timeout=600, cwd=elsewhere, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])

    assert Path(result["package"]).is_relative_to(site)  # the installed copy, not the checkout
    assert Path(result["pose"]) == site / "hrnet_tf" / "configs" / "pose" / "coco_w32_256x192.yaml"
    wanted = sorted(str(p.relative_to(PACKAGED)) for p in PACKAGED.glob("*/*.yaml"))
    assert len(wanted) > 20 and sorted(result["loaded"]) == wanted  # every one, nothing missing
    for rel, path in result["loaded"].items():
        assert Path(path) == site / "hrnet_tf" / "configs" / rel
    for path in result["task_files"]:
        assert Path(path).is_relative_to(site) and Path(path).is_file(), path
