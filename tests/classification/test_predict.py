"""``python -m hrnet_tf.classification.predict`` (in-process): a model with a custom name and a
custom spec, its class names from ``model.info.labels``; bad inputs are one line, exit 2."""

import json

import numpy as np
import pytest

import hrnet_tf
from hrnet_tf.classification import codec
from hrnet_tf.classification.predict import main
from hrnet_tf.data.images import read_image_numpy, write_jpeg
from hrnet_tf.models.specs import PRESETS, HRNetSpec, StageSpec

NAMES = ["cat", "dog", "fox"]


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    tiny = PRESETS["tiny"]
    spec = HRNetSpec(tiny.stage1, tiny.stage2, tiny.stage3,
                     StageSpec(1, (1, 1, 1, 1), (8, 16, 24, 40)), stem_channels=16)
    model = hrnet_tf.HRNetClassifier(spec, num_classes=3, input_shape=(32, 32, 3), name="my_net")
    model.info = model.info.replace(labels={"class_names": NAMES})
    path = tmp_path_factory.mktemp("model") / "my_net.keras"
    model.save(path)
    return path


def test_prints_the_top_classes_with_their_names(model_file, coco_mini, capsys):
    images = [str(p) for p in sorted((coco_mini / "images" / "val2017").glob("*.jpg"))[:2]]
    assert main([*images, "--weights", str(model_file), "--top", "2"]) == 0
    answers = json.loads(capsys.readouterr().out)
    model = hrnet_tf.load_model(model_file)
    assert model.info.width == "custom" and model.name == "my_net"
    for path, answer in zip(images, answers, strict=True):
        assert answer["image"] == path
        # the serving function's probabilities (the exported signature's path)
        probs = codec.classify(model, read_image_numpy(path)[None])["probabilities"].numpy()[0]
        best = np.argsort(-probs)[:2]
        assert [a["class"] for a in answer["top"]] == best.tolist()
        assert [a["name"] for a in answer["top"]] == [NAMES[i] for i in best]
        np.testing.assert_allclose([a["probability"] for a in answer["top"]], probs[best],
                                   atol=1e-6)


def test_bad_inputs_are_one_line(model_file, tmp_path, capsys):
    missing = tmp_path / "none.jpg"
    assert main([str(missing), "--weights", str(model_file)]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [f"error: image not found: {missing}"]
    text = tmp_path / "a.jpg"
    text.write_text("not an image")
    assert main([str(text), "--weights", str(model_file)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {text}: ")
    good = tmp_path / "b.jpg"
    write_jpeg(str(good), np.full((40, 40, 3), 128, np.uint8))
    assert main([str(good), "--weights", str(tmp_path / "absent.keras")]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"error: model file not found: {tmp_path / 'absent.keras'}"]
    assert main([str(good), "--weights", str(model_file), "--top", "0"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == ["error: --top 0: must be at least 1"]
