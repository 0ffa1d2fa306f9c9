"""The preset table: complete for issue 13's list, every entry sourced and consistent, the CLI."""

import json
import re

import pytest

import hrnet_tf
from hrnet_tf.convert.layouts import LAYOUTS
from hrnet_tf.errors import ModelFileError
from hrnet_tf.models.specs import resolve_spec
from hrnet_tf.presets import PRESETS
from hrnet_tf.presets.__main__ import main
from hrnet_tf.presets.download import download_url

HASH_IN_NAME = re.compile(r"-([0-9a-f]{8})(?:_\d{8})?\.(?:pth|bin)$")


def test_issue_13_minimum_is_listed():
    def names(task, available=True):
        return {n for n, p in PRESETS.items() if p.task == task and p.available == available}

    widths = {str(PRESETS[n].kwargs["width"]) for n in names("classification")}
    assert {"18-small-v1", "18-small-v2", "18", "30", "32", "40", "44", "48", "64"} <= widths
    assert {"hrnet_w32_coco_256x192", "hrnet_w32_coco_384x288", "hrnet_w48_coco_256x192",
            "hrnet_w48_coco_384x288"} <= names("pose")
    assert {str(PRESETS[n].kwargs["width"]) for n in names("segmentation")} >= {"18-small-v2", "18", "48"}
    faces = {PRESETS[n].dataset for n in names("landmarks")}
    assert faces == {"wflw", "300w", "cofw", "aflw"}
    assert {PRESETS[n].kwargs["width"] for n in names("detection")} == {18, 32}
    assert not [n for n, p in PRESETS.items() if not p.available]


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_entry_is_sourced_and_consistent(name):
    p = PRESETS[name]
    assert p.url.startswith("https://") and p.metric_source and p.url_source
    assert p.layout in LAYOUTS and p.constructor in ("HRNetClassifier", "HRNetV1", "HRNetV2", "HRNetFCOS",
                                                          "HRNetV2Landmarks")
    resolve_spec(p.kwargs["width"])
    assert p.sha256 is not None, f"{name}: every listed preset has a hash"
    tagged = HASH_IN_NAME.search(p.url)
    if "huggingface.co" in p.url:
        assert len(p.sha256) == 64 and tagged is None  # Hugging Face pages give the full SHA-256
    else:
        assert tagged and tagged.group(1) == p.sha256  # the uploader's prefix, from the file name
    assert p.available != bool(p.pending)
    if not p.available:
        assert "issue" in p.pending
    figures = re.findall(r"\d+\.\d+", p.metric)
    assert figures and all(float(f) in [float(v) for v in p.metrics.values()] for f in figures)


def test_mirror_replaces_scheme_host_and_leading_path(monkeypatch):
    monkeypatch.setenv("HRNET_TF_WEIGHTS_URL", "http://mirror.local:8080/models/")
    url = PRESETS["hrnet_w32_coco_256x192"].url
    assert download_url(url) == (
        "http://mirror.local:8080/models/mmpose/top_down/hrnet/hrnet_w32_coco_256x192-c78dce93_20200708.pth"
    )


def test_cli_prints_the_table(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    for name, preset in PRESETS.items():
        line = next(row for row in out.splitlines() if row.startswith(name + " "))
        assert preset.metric in line and preset.task in line


def test_cli_json(capsys):
    assert main(["--json", "--task", "pose"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert {e["name"] for e in entries} == {n for n, p in PRESETS.items() if p.task == "pose"}
    for entry in entries:
        assert {"name", "task", "url", "sha256", "hash", "metric", "metric_source"} <= set(entry)
        assert entry == json.loads(json.dumps(PRESETS[entry["name"]].to_json()))


def test_wrong_constructor_arguments_say_what_the_preset_needs():
    model = hrnet_tf.HRNetV1("tiny", num_outputs=17, input_shape=(64, 64, 3))
    with pytest.raises(ModelFileError) as error:
        hrnet_tf.load_weights(model, "hrnet_w32_coco_256x192")
    message = str(error.value)
    assert "\n" not in message
    assert "needs hrnet_tf.HRNetV1(width=32, num_outputs=17, input_shape=(256, 192, 3))" in message
    assert "width='tiny'" in message and "input_shape=(64, 64, 3)" in message
    # checked before any download: the (blocked) network was never asked
    assert "cannot download" not in message


def test_wrong_architecture_is_named():
    model = hrnet_tf.HRNetV1("tiny", num_outputs=17, input_shape=(64, 64, 3))
    with pytest.raises(ModelFileError, match="needs hrnet_tf.HRNetClassifier.*this model has an HRNetV1"):
        hrnet_tf.load_weights(model, "hrnet_w18_imagenet")


@pytest.mark.parametrize("name,needs", [
    ("fcos_hrnetv2p_w18_coco", "HRNetFCOS(width=18, num_classes=80, fpn_stride=2)"),
    ("hrnetv2_w18_wflw", "HRNetV2Landmarks(width=18, num_landmarks=98"),
])
def test_detection_and_landmark_presets_name_their_network(name, needs):
    model = hrnet_tf.HRNetV2("tiny", num_classes=3, input_shape=(64, 64, 3))
    with pytest.raises(ModelFileError) as error:
        hrnet_tf.load_weights(model, name)
    message = str(error.value)
    assert "\n" not in message and f"needs hrnet_tf.{needs}" in message


def test_unknown_name_suggests_the_closest_presets(capsys):
    model = hrnet_tf.HRNetV1("tiny", num_outputs=17, input_shape=(64, 64, 3))
    with pytest.raises(ModelFileError, match="did you mean hrnet_w32_imagenet"):
        hrnet_tf.load_weights(model, "hrnet_w32_imagnet")
    assert main(["--fetch", "hrnet_w32_imagnet"]) == 2
    assert capsys.readouterr().err.startswith("error: 'hrnet_w32_imagnet' is neither a weights file")


def test_docs_table_matches_the_presets():
    from pathlib import Path

    docs = (Path(__file__).resolve().parents[2] / "docs" / "presets.md").read_text()
    rows = {line.split("`")[1]: line for line in docs.splitlines() if line.startswith("| `")}
    for name, preset in PRESETS.items():
        assert name in rows, f"{name} missing from docs/presets.md"
        row = rows[name]
        assert preset.sha256 in row and preset.url in row and preset.metric in row
        assert preset.constructor_call() in row
