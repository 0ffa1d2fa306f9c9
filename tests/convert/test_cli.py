"""python -m hrnet_tf.convert, in-process: official checkpoints to Keras files; user errors are one
line with status 2."""

import numpy as np
import pytest

import hrnet_tf
from hrnet_tf.convert import keras_to_torch_state_dict
from hrnet_tf.convert.__main__ import main as convert_main
from tests.helpers import assert_user_error


def official_like_state(model, seed=0):
    """A state dict with the model's official keys and PyTorch layouts, random values."""
    rng = np.random.default_rng(seed)
    return {
        k: rng.normal(0, 0.1, v.shape).astype("float32") for k, v in keras_to_torch_state_dict(model).items()
    }


@pytest.fixture(scope="module")
def segmentation_checkpoint(tmp_path_factory):
    """An official-layout segmentation checkpoint (``model.`` prefix of FullModel) and its state."""
    from safetensors.numpy import save_file

    folder = tmp_path_factory.mktemp("checkpoints")
    state = official_like_state(hrnet_tf.HRNetV2("tiny", num_classes=3), seed=3)
    save_file({f"model.{k}": v for k, v in state.items()}, str(folder / "seg.safetensors"))
    return folder / "seg.safetensors", state


SEG = ["--model", "segmentation", "--width", "tiny"]


def test_converts_safetensors_to_keras_weights(tmp_path, capsys, segmentation_checkpoint):
    src, state = segmentation_checkpoint
    dst = tmp_path / "seg.weights.h5"
    assert convert_main([str(src), str(dst), *SEG, "--num-classes", "3"]) == 0
    loaded = hrnet_tf.HRNetV2("tiny", num_classes=3, weights=dst)
    for key, value in keras_to_torch_state_dict(loaded).items():
        np.testing.assert_array_equal(value, state[key])
    assert f"wrote {dst}" in capsys.readouterr().out


def test_reads_official_pth_with_torch_into_a_keras_file(tmp_path):
    torch = pytest.importorskip("torch")
    model = hrnet_tf.HRNetClassifier("tiny", num_classes=4, input_shape=(64, 64, 3))
    state = official_like_state(model, seed=4)
    torch.save(
        {"state_dict": {f"module.{k}": torch.from_numpy(v) for k, v in state.items()}}, tmp_path / "cls.pth"
    )
    dst = tmp_path / "cls.keras"
    argv = [str(tmp_path / "cls.pth"), str(dst), "--width", "tiny", "--num-classes", "4",
            "--input-size", "64"]
    assert convert_main(argv) == 0
    loaded = hrnet_tf.load_model(dst)
    assert loaded.info.task == "classification"
    np.testing.assert_array_equal(loaded.get_layer("classifier").kernel.numpy(), state["classifier.weight"].T)


def test_non_strict_loads_what_fits_and_lists_the_rest(tmp_path, capsys, segmentation_checkpoint):
    src, state = segmentation_checkpoint
    dst = tmp_path / "seg19.weights.h5"
    assert convert_main([str(src), str(dst), *SEG, "--num-classes", "19", "--non-strict"]) == 0
    out = capsys.readouterr().out
    mismatch = "last_layer.3.weight: checkpoint (3, 120, 1, 1), model expects (19, 120, 1, 1)"
    assert f"shape mismatch: {mismatch}" in out
    loaded = hrnet_tf.HRNetV2("tiny", num_classes=19, weights=dst)
    np.testing.assert_array_equal(loaded.get_layer("conv1").kernel.numpy(),
                                  state["conv1.weight"].transpose(2, 3, 1, 0))


def test_checkpoint_that_does_not_fit(tmp_path, capsys, segmentation_checkpoint):
    src, _ = segmentation_checkpoint
    status = convert_main([str(src), str(tmp_path / "x.keras"), *SEG, "--num-classes", "19"])
    captured_out = capsys.readouterr()
    err = captured_out.err.strip()
    assert status == 2 and len(err.splitlines()) == 1, err
    name = hrnet_tf.HRNetV2("tiny", num_classes=19).name
    assert err.startswith(f"error: {src} does not fit {name} (2 shape mismatch; first: last_layer.3.")
    # the whole list goes to stdout, for comparing with the model options
    assert "shape mismatch: last_layer.3.bias: checkpoint (3,), model expects (19,)" in captured_out.out
    assert not (tmp_path / "x.keras").exists()


@pytest.mark.parametrize(
    "args,pattern",
    [
        (["MISSING.safetensors", "x.keras"], r"checkpoint not found: .*MISSING\.safetensors$"),
        (["BROKEN.safetensors", "x.keras"], r"BROKEN\.safetensors: cannot be read as a checkpoint \("),
        (["SEG", "x.h5"], r"dst must end with \.weights\.h5 or \.keras, got '.*x\.h5'"),
        (["SEG", "x.keras", "--width", "20"], r"unknown HRNet width 20; choose one of"),
        (["SEG", "x.keras", "--model", "pose", "--width", "tiny", "--input-size", "64x48"],
         r"input size \(64, 48\) must be a multiple of 32"),
        (["SEG", "x.keras", "--input-size", "0x64"], r"argument --input-size: size must be N or HxW"),
        (["SEG"], r"the following arguments are required: dst"),
    ],
    ids=["missing", "unreadable", "bad-dst", "bad-width", "bad-size", "zero-size", "no-dst"],
)
def test_user_errors_are_one_line_and_status_2(tmp_path, capsys, segmentation_checkpoint, args, pattern):
    (tmp_path / "BROKEN.safetensors").write_bytes(b"\xff" * 64)
    names = {"SEG": str(segmentation_checkpoint[0])}
    argv = [names.get(a, str(tmp_path / a) if a.endswith((".safetensors", ".keras", ".h5")) else a)
            for a in args]
    assert_user_error(convert_main(argv), capsys, pattern)
    assert not list(tmp_path.glob("x*"))
