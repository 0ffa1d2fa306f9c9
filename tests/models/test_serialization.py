"""Weights files, Keras SavedModel export, and the JAX and PyTorch backends (.keras files and
``info``: test_model.py)."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import hrnet_tf
from tests.helpers import normal_images as images
from tests.helpers import randomize_batch_norm

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def segmenter():
    import keras

    keras.utils.set_random_seed(0)
    model = hrnet_tf.HRNetV2("tiny", num_classes=4, upsample_method="bilinear_align_corners")
    randomize_batch_norm(model)
    return model


def test_weights_file_through_the_weights_argument(segmenter, tmp_path):
    x = images((1, 64, 64, 3))
    path = tmp_path / "seg.weights.h5"
    segmenter.save_weights(path)
    fresh = hrnet_tf.HRNetV2("tiny", num_classes=4, upsample_method="bilinear_align_corners", weights=path)
    np.testing.assert_allclose(
        fresh.predict(x, verbose=0), segmenter.predict(x, verbose=0), rtol=1e-5, atol=1e-5
    )
    with pytest.raises(hrnet_tf.errors.ModelFileError, match="weights file not found: .*nope.weights.h5"):
        hrnet_tf.HRNetV2("tiny", weights=tmp_path / "nope.weights.h5")


def test_saved_model_export_reproduces_outputs(segmenter, tmp_path):
    import tensorflow as tf

    x = images((1, 45, 61, 3))
    segmenter.export(str(tmp_path / "sm"), format="tf_saved_model")
    served = tf.saved_model.load(str(tmp_path / "sm"))
    got = served.serve(tf.constant(x)).numpy()
    np.testing.assert_allclose(got, segmenter.predict(x, verbose=0), rtol=1e-5, atol=1e-5)


BACKEND_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import keras, hrnet_tf
    backend, folder = sys.argv[1], sys.argv[2]
    assert keras.backend.backend() == backend, keras.backend.backend()
    for name, (constructor, kwargs) in json.load(open(f"{folder}/models.json")).items():
        model = getattr(hrnet_tf, constructor)("tiny", **kwargs, weights=f"{folder}/{name}.weights.h5")
        outputs = keras.tree.flatten(model(np.load(f"{folder}/x.npy"), training=False))
        np.savez(f"{folder}/{name}_{backend}.npz", *[keras.ops.convert_to_numpy(o) for o in outputs])
    """
)

BACKEND_MODELS = {
    "pose": ("HRNetV1", {"input_shape": [64, 64, 3]}),
    "segmentation": ("HRNetV2", {"num_classes": 4, "upsample_method": "bilinear_align_corners"}),
    "classifier": ("HRNetClassifier", {"num_classes": 5, "input_shape": [64, 64, 3]}),
    # the detector holds HRNetV2p (trunk + HRFPN, stride 2); stride 1 is the same layers
    "fcos": ("HRNetFCOS", {"num_classes": 3, "input_shape": [64, 64, 3], "out_channels": 16,
                           "feat_channels": 16, "stacked_convs": 1, "gn_groups": 4}),
}


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_other_backends_give_the_tensorflow_outputs(backend, tmp_path):
    """Every kind of model builds, loads the same weights and computes the same outputs on the JAX
    and PyTorch backends (the torch backend rejects dotted parameter names: none of ours has one)."""
    pytest.importorskip(backend)
    import json

    import keras

    x = images((1, 64, 64, 3), 1)
    np.save(tmp_path / "x.npy", x)
    (tmp_path / "models.json").write_text(json.dumps(BACKEND_MODELS))
    expected = {}
    for name, (constructor, kwargs) in BACKEND_MODELS.items():
        model = getattr(hrnet_tf, constructor)("tiny", **kwargs)
        model.save_weights(tmp_path / f"{name}.weights.h5")
        expected[name] = [np.asarray(o) for o in keras.tree.flatten(model(x, training=False))]
    env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": REPO, "JAX_PLATFORMS": "cpu"}
    run = subprocess.run(
        [sys.executable, "-c", BACKEND_SCRIPT, backend, str(tmp_path)],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert keras.backend.backend() == "tensorflow"
    for name, outputs in expected.items():
        with np.load(tmp_path / f"{name}_{backend}.npz") as got:
            assert len(got.files) == len(outputs)
            for i, want in enumerate(outputs):
                scale = float(np.abs(want).max())
                np.testing.assert_allclose(got[f"arr_{i}"], want, rtol=0, atol=1e-4 * scale)
