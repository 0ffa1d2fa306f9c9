"""Generated demo datasets: written once, regenerated when their settings change, never over data
that is not theirs.

Each task's synthetic set (stick figures, street scenes, class images, ...) is generated through
:func:`ensure_generated`: the folder gets a marker file holding the settings it was generated
with. The same settings reuse the folder; other settings remove everything the generator wrote and
generate again; a folder that holds other files and no marker is refused with one line.

    >>> import tempfile
    >>> root = tempfile.mkdtemp()
    >>> def write(folder):
    ...     open(f"{folder}/a.txt", "w").close()
    >>> ensure_generated(root, {"count": 1}, write) == root  # doctest: +ELLIPSIS
    generating the synthetic dataset in ...
    True
"""

import json
import os
import shutil

from hrnet_tf.errors import DataError

MARKER = ".hrnet_tf_synthetic.json"
DEFAULT_ROOT = os.path.join("runs", "synthetic")


def default_root(task):
    """Where a task's synthetic data goes when ``data.dir`` is empty: ``runs/synthetic/<task>``."""
    return os.path.join(DEFAULT_ROOT, task)


def ensure_generated(root, settings, generate):
    """Makes ``root`` hold the dataset that ``generate(root)`` writes for ``settings`` (a JSON-able
    dict); returns ``root``."""
    root = os.fspath(root)
    marker = os.path.join(root, MARKER)
    wanted = json.loads(json.dumps(settings))
    if os.path.isfile(marker):
        with open(marker) as f:
            try:
                if json.load(f) == wanted:
                    return root
            except json.JSONDecodeError:
                pass  # an interrupted write: regenerate
        _clear(root)
    elif os.path.isdir(root) and os.listdir(root):
        raise DataError(
            f"{root}: not empty and not written by the synthetic generator; the synthetic dataset "
            "is only generated into a new or empty folder (choose another data.dir)"
        )
    os.makedirs(root, exist_ok=True)
    # Claim the folder first, finish the marker last: an interrupted generation is redone.
    _write_marker(marker, {"generating": wanted})
    print(f"generating the synthetic dataset in {root} ...", flush=True)
    generate(root)
    _write_marker(marker, wanted)
    return root


def _write_marker(path, content):
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(content, f, indent=1, sort_keys=True)
    os.replace(tmp, path)


def _clear(root):
    for entry in os.scandir(root):
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path)
        else:
            os.remove(entry.path)


__all__ = ["DEFAULT_ROOT", "MARKER", "default_root", "ensure_generated"]
