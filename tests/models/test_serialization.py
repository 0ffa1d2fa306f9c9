"""Saving and loading: .keras, .weights.h5, SavedModel export, and the JAX backend."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import hrnet_tf

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def images(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def randomize_batch_norm(model, seed=0):
    """Non-trivial BN statistics, so that a reload which lost them would show."""
    rng = np.random.default_rng(seed)
    for w in model.weights:
        if "moving_mean" in w.path:
            w.assign(rng.normal(0, 0.1, w.shape).astype("float32"))
        elif "moving_variance" in w.path:
            w.assign(rng.uniform(0.5, 1.5, w.shape).astype("float32"))


@pytest.fixture(scope="module")
def segmenter():
    import keras

    keras.utils.set_random_seed(0)
    model = hrnet_tf.HRNetV2("tiny", num_classes=4, upsample_method="bilinear_align_corners")
    randomize_batch_norm(model)
    return model


def test_keras_file_round_trip(segmenter, tmp_path):
    import keras

    x = images((2, 70, 50, 3))
    path = tmp_path / "seg.keras"
    segmenter.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(
        loaded.predict(x, verbose=0), segmenter.predict(x, verbose=0), rtol=1e-5, atol=1e-5
    )
    assert loaded.get_layer("concat").method == "bilinear_align_corners"


def test_weights_file_through_the_weights_argument(segmenter, tmp_path):
    x = images((1, 64, 64, 3))
    path = tmp_path / "seg.weights.h5"
    segmenter.save_weights(path)
    fresh = hrnet_tf.HRNetV2("tiny", num_classes=4, upsample_method="bilinear_align_corners", weights=path)
    np.testing.assert_allclose(
        fresh.predict(x, verbose=0), segmenter.predict(x, verbose=0), rtol=1e-5, atol=1e-5
    )
    with pytest.raises(FileNotFoundError, match="nope.weights.h5"):
        hrnet_tf.HRNetV2("tiny", weights=tmp_path / "nope.weights.h5")


def test_saved_model_export_reproduces_outputs(segmenter, tmp_path):
    import tensorflow as tf

    x = images((1, 45, 61, 3))
    segmenter.export(str(tmp_path / "sm"), format="tf_saved_model")
    served = tf.saved_model.load(str(tmp_path / "sm"))
    got = served.serve(tf.constant(x)).numpy()
    np.testing.assert_allclose(got, segmenter.predict(x, verbose=0), rtol=1e-5, atol=1e-5)


JAX_SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import keras, hrnet_tf
    assert keras.backend.backend() == "jax", keras.backend.backend()
    model = hrnet_tf.HRNetV2("tiny", num_classes=4, upsample_method="bilinear_align_corners",
                             weights=sys.argv[1])
    np.save(sys.argv[3], np.asarray(model(np.load(sys.argv[2]), training=False)))
    """
)


def test_jax_backend_gives_the_tensorflow_outputs(segmenter, tmp_path):
    pytest.importorskip("jax")
    import keras

    segmenter.save_weights(tmp_path / "seg.weights.h5")
    x = images((1, 70, 50, 3), 1)
    np.save(tmp_path / "x.npy", x)
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": REPO, "JAX_PLATFORMS": "cpu"}
    args = [str(tmp_path / n) for n in ("seg.weights.h5", "x.npy", "y.npy")]
    run = subprocess.run(
        [sys.executable, "-c", JAX_SCRIPT, *args], env=env, capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert keras.backend.backend() == "tensorflow"
    np.testing.assert_allclose(
        np.load(tmp_path / "y.npy"), segmenter.predict(x, verbose=0), rtol=1e-4, atol=1e-4
    )
