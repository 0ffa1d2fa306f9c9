"""The three fusion resize modes against PyTorch's ``F.interpolate`` (reference outputs made by
scripts/make_parity_fixtures.py with torch)."""

from pathlib import Path

import keras
import numpy as np
import pytest

from hrnet_tf.errors import ConfigError
from hrnet_tf.layers.resize import repeat_pixels, resize
from hrnet_tf.testing.parity import load_fixture

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "parity"


def test_resize_modes_match_torch_interpolate():
    fx = load_fixture(FIXTURES / "resize.npz")
    x = fx["input"]
    checked = 0
    for key, expected in fx.items():
        if key.startswith("bilinear_"):
            _, mode, size = key.split("_")
            h, w = (int(s) for s in size.split("x"))
            method = "bilinear_align_corners" if mode == "ac" else "bilinear"
            out = keras.ops.convert_to_numpy(resize(x, (h, w), method))
            np.testing.assert_allclose(out, expected, atol=1e-5, err_msg=key)
            checked += 1
        elif key.startswith("nearest_x"):
            factor = int(key.removeprefix("nearest_x"))
            size = (x.shape[1] * factor, x.shape[2] * factor)
            out = keras.ops.convert_to_numpy(resize(x, size, "nearest"))
            np.testing.assert_array_equal(out, expected, err_msg=key)
            out = keras.ops.convert_to_numpy(repeat_pixels(x, factor))
            np.testing.assert_array_equal(out, expected, err_msg=key)
            checked += 1
    assert checked >= 3, f"only {checked} reference outputs in the fixture"


def test_unknown_method_is_refused_by_name():
    with pytest.raises(ConfigError, match="'bicubic'"):
        resize(np.zeros((1, 2, 2, 1), "float32"), (4, 4), "bicubic")
