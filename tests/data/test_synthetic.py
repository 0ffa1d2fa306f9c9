"""ensure_generated: the one policy for generated demo data (reuse, regenerate, refuse)."""

import json
from pathlib import Path

import pytest

from hrnet_tf.data.synthetic import MARKER, ensure_generated
from hrnet_tf.errors import DataError


class Generator:
    """Writes one file per ``count`` and counts its calls."""

    def __init__(self, count):
        self.count, self.calls = count, 0

    def __call__(self, folder):
        self.calls += 1
        for i in range(self.count):
            (Path(folder) / f"{i}.txt").write_text("x")


def files(root):
    return sorted(p.name for p in root.iterdir() if p.name != MARKER)


def test_same_settings_reuse_other_settings_regenerate(tmp_path, capsys):
    root = tmp_path / "demo"
    three = Generator(3)
    assert ensure_generated(root, {"count": 3}, three) == str(root)
    assert ensure_generated(root, {"count": 3}, three) == str(root)
    assert three.calls == 1 and files(root) == ["0.txt", "1.txt", "2.txt"]
    assert json.loads((root / MARKER).read_text()) == {"count": 3}
    one = Generator(1)
    ensure_generated(root, {"count": 1}, one)
    assert one.calls == 1 and files(root) == ["0.txt"]  # nothing of the old set is left
    assert capsys.readouterr().out.count("generating the synthetic dataset") == 2


def test_an_interrupted_generation_is_redone(tmp_path):
    root = tmp_path / "demo"

    def dies(folder):
        (Path(folder) / "9.txt").write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ensure_generated(root, {"count": 2}, dies)
    again = Generator(2)
    ensure_generated(root, {"count": 2}, again)
    assert again.calls == 1 and files(root) == ["0.txt", "1.txt"]


def test_a_folder_of_other_data_is_never_written_over(tmp_path):
    root = tmp_path / "my_coco"
    root.mkdir()
    (root / "annotations.json").write_text("{}")
    never = Generator(1)
    with pytest.raises(DataError, match=r"my_coco: not empty and not written by the synthetic"):
        ensure_generated(root, {"count": 1}, never)
    assert never.calls == 0 and files(root) == ["annotations.json"]
