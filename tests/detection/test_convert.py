"""``python -m hrnet_tf.convert DET.pth OUT.keras --model fcos``: a detector's state dict in
mmdetection's names (``backbone.*``, ``neck.reduction_conv.conv``, ``neck.fpn_convs.{i}.conv``,
``bbox_head.*``) loads strictly, and the converted model computes the same outputs."""

import re

import numpy as np
import pytest


@pytest.mark.slow
def test_mmdet_named_detector_converts_to_the_same_model(tmp_path):
    torch = pytest.importorskip("torch")

    import hrnet_tf
    from hrnet_tf.convert import keras_to_torch_state_dict
    from hrnet_tf.convert.__main__ import main
    from hrnet_tf.models import load_model
    from hrnet_tf.presets.table import MMDET_BGR

    model = hrnet_tf.HRNetFCOS("tiny", num_classes=3, input_shape=(128, 128, 3))
    state = {}
    for key, value in keras_to_torch_state_dict(model).items():
        if key.startswith("neck."):
            key = key.replace("neck.reduction_conv.0.", "neck.reduction_conv.conv.")
            key = re.sub(r"^neck\.fpn_conv\.(\d+)\.", r"neck.fpn_convs.\1.conv.", key)
        elif not key.startswith("bbox_head."):
            key = "backbone." + key
        state[key] = torch.from_numpy(np.array(value))  # (ascontiguousarray makes 0-d 1-d)
    assert "bbox_head.scales.0.scale" in state and state["bbox_head.scales.0.scale"].ndim == 0
    rng = np.random.default_rng(0)
    for key in state:  # not the initial values, so a mix-up would show
        state[key] = state[key] + torch.from_numpy(
            rng.normal(0, 0.01, tuple(state[key].shape)).astype(np.float32))
    torch.save({"state_dict": state, "meta": {}}, tmp_path / "fcos.pth")
    out = tmp_path / "fcos.keras"
    assert main([str(tmp_path / "fcos.pth"), str(out), "--model", "fcos", "--width", "tiny",
                 "--num-classes", "3", "--input-size", "128x128"]) == 0
    converted = load_model(str(out))
    assert converted.info.normalization == MMDET_BGR  # mmdet's BGR input statistics
    reference = hrnet_tf.HRNetFCOS("tiny", num_classes=3, input_shape=(128, 128, 3))
    hrnet_tf.convert.load_torch_state_dict(reference, state)
    x = rng.normal(size=(1, 128, 128, 3)).astype(np.float32)
    np.testing.assert_allclose(converted(x), reference(x), atol=1e-5)
