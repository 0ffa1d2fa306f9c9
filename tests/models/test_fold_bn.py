"""BatchNorm folding: same outputs as the inference-mode model, no BN left, input untouched."""

import keras
import numpy as np
import pytest

import hrnet_tf
from hrnet_tf.models import count_batch_norms, fold_batch_norm, inference_model
from hrnet_tf.models.fold_bn import folded_conv_weights
from tests.helpers import randomize_batch_norm


def test_folded_weights_match_the_batchnorm_formula():
    rng = np.random.default_rng(1)
    conv = keras.layers.Conv2D(3, 1, use_bias=True)
    bn = keras.layers.BatchNormalization(epsilon=1e-5)
    x = rng.normal(size=(1, 2, 2, 2)).astype("float32")
    bn(conv(x))
    kernel = rng.normal(size=(1, 1, 2, 3)).astype("float32")
    bias = rng.normal(size=3).astype("float32")
    gamma, beta, mean = (rng.normal(size=3).astype("float32") for _ in range(3))
    var = rng.uniform(0.1, 2, 3).astype("float32")
    conv.set_weights([kernel, bias])
    bn.set_weights([gamma, beta, mean, var])
    # Independent reference: BN applied to the conv output, written out with NumPy.
    conv_out = x @ kernel[0, 0] + bias
    expected = gamma * (conv_out - mean) / np.sqrt(var + 1e-5) + beta
    folded_kernel, folded_bias = folded_conv_weights(conv, bn)
    folded_out = x @ folded_kernel[0, 0] + folded_bias
    np.testing.assert_allclose(folded_out, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "build",
    [
        lambda: hrnet_tf.HRNetV1("tiny", input_shape=(64, 64, 3)),
        lambda: hrnet_tf.HRNetV2("tiny", num_classes=5),  # top-level head conv -> BN pair
    ],
    ids=["pose", "segmentation"],
)
def test_folded_model_matches_and_has_no_batchnorm(build):
    model = randomize_batch_norm(build())
    x = np.random.default_rng(0).normal(size=(2, 64, 64, 3)).astype("float32")
    before = np.asarray(model(x))
    folded = fold_batch_norm(model)
    assert count_batch_norms(model) > 0
    assert count_batch_norms(folded) == 0
    assert isinstance(folded, hrnet_tf.HRNetModel) and folded.info == model.info
    out = np.asarray(folded(x))
    assert np.abs(out - before).max() <= 1e-5 * np.abs(before).max()
    # Fewer variables: every folded BN loses 4 vectors and its conv gains one bias.
    assert len(folded.weights) < len(model.weights)
    # The input model is unchanged.
    np.testing.assert_array_equal(np.asarray(model(x)), before)


def test_folding_keeps_dict_outputs_of_hrnetv2p():
    model = randomize_batch_norm(hrnet_tf.HRNetV2p("tiny", input_shape=(64, 64, 3)))
    x = np.random.default_rng(0).normal(size=(1, 64, 64, 3)).astype("float32")
    before = model(x)
    folded = fold_batch_norm(model)
    assert folded.info == model.info
    after = folded(x)
    assert sorted(after) == sorted(before) == ["P2", "P3", "P4", "P5", "P6"]
    for level, want in before.items():
        want = np.asarray(want)
        assert np.abs(np.asarray(after[level]) - want).max() <= 1e-5 * np.abs(want).max()


def test_evaluation_runs_the_folded_model():
    """forward_function (every evaluate and predict command) folds; the outputs do not change."""
    from hrnet_tf.evaluation import forward_function

    model = hrnet_tf.HRNetV1("tiny", input_shape=(32, 32, 3))
    randomize_batch_norm(model)
    x = np.random.default_rng(5).normal(size=(2, 32, 32, 3)).astype("float32")
    forward = forward_function(model)
    ops = {op.type for op in forward.get_concrete_function(x).graph.get_operations()}
    assert not any("BatchNorm" in op for op in ops)
    np.testing.assert_allclose(forward(x), model(x, training=False), rtol=1e-4, atol=1e-5)
    assert "ReadVariableOp" not in ops  # weights frozen: oneDNN keeps constant filters re-ordered
    unfolded = forward_function(model, fold_batch_norm=False)
    unfolded_ops = {op.type for op in unfolded.get_concrete_function(x).graph.get_operations()}
    assert any("BatchNorm" in op for op in unfolded_ops)


def test_frozen_forward_is_a_snapshot_of_the_weights():
    from hrnet_tf.evaluation import forward_function

    model = hrnet_tf.HRNetV1("tiny", input_shape=(32, 32, 3))
    x = np.random.default_rng(6).normal(size=(1, 32, 32, 3)).astype("float32")
    frozen = forward_function(model, fold_batch_norm=False)
    live = forward_function(model, fold_batch_norm=False, freeze_weights=False)
    before = np.asarray(model(x, training=False))
    np.testing.assert_allclose(frozen(x), before, rtol=1e-6, atol=1e-6)
    kernel = model.trainable_variables[0]
    kernel.assign(kernel * 2.0)
    np.testing.assert_allclose(frozen(x), before, rtol=1e-6, atol=1e-6)
    changed = np.asarray(model(x, training=False))
    assert np.abs(changed - before).max() > 1e-3
    np.testing.assert_allclose(live(x), changed, rtol=1e-6, atol=1e-6)


def test_inference_model_returns_models_it_cannot_fold_unchanged():
    class Subclassed(keras.Model):
        def call(self, x):
            return x

    subclassed = Subclassed()
    assert inference_model(subclassed) is subclassed
    inputs = keras.Input((4,))
    dense = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    assert inference_model(dense) is dense
