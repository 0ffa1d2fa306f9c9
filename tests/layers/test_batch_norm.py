"""The fused BatchNorm (hrnet_tf.layers.batch_norm) against Keras' own BatchNormalization."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from hrnet_tf.layers.batch_norm import BatchNorm


def _pair(momentum=0.9, **kwargs):
    ours = BatchNorm(momentum=momentum, epsilon=1e-5, **kwargs)
    theirs = keras.layers.BatchNormalization(momentum=momentum, epsilon=1e-5, **kwargs)
    shape = (3, 5, 7, 6)
    ours.build(shape)
    theirs.build(shape)
    rng = np.random.default_rng(0)
    weights = [rng.uniform(0.5, 1.5, 6), rng.normal(size=6), rng.normal(size=6),
               rng.uniform(0.5, 2.0, 6)]
    weights = [w.astype("float32") for w in weights][: len(theirs.get_weights())]
    ours.set_weights(weights)
    theirs.set_weights(weights)
    return ours, theirs


def _step(layer, x, training):
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=training)
        loss = tf.reduce_sum(y * tf.cos(y))  # a loss whose gradient is not a constant
    return y, tape.gradient(loss, [x, *layer.trainable_variables])


def _ops(layer, x, training):
    graph = tf.function(lambda t: layer(t, training=training)).get_concrete_function(x).graph
    return {op.type for op in graph.get_operations()}


@pytest.mark.parametrize("training", [True, False])
def test_outputs_gradients_and_moving_statistics_equal_keras(training):
    ours, theirs = _pair()
    assert "FusedBatchNormV3" in _ops(ours, tf.zeros((3, 5, 7, 6)), training)
    rng = np.random.default_rng(1)
    for _ in range(3):  # the moving statistics accumulate over steps
        x = tf.constant(rng.normal(2.0, 3.0, (3, 5, 7, 6)).astype("float32"))
        y_ours, grads_ours = _step(ours, x, training)
        y_theirs, grads_theirs = _step(theirs, x, training)
        np.testing.assert_allclose(y_ours, y_theirs, rtol=1e-5, atol=1e-5)
        for a, b in zip(grads_ours, grads_theirs, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(ours.moving_mean, theirs.moving_mean, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ours.moving_variance, theirs.moving_variance, rtol=1e-5)
    if training:  # the statistics moved away from their initial values
        assert not np.allclose(ours.moving_mean, _pair()[0].moving_mean)


def test_frozen_layer_uses_moving_statistics_in_training_mode():
    ours, theirs = _pair()
    ours.trainable = theirs.trainable = False
    x = tf.constant(np.random.default_rng(2).normal(size=(3, 5, 7, 6)).astype("float32"))
    mean = ours.moving_mean.numpy().copy()
    np.testing.assert_allclose(ours(x, training=True), theirs(x, training=True), atol=1e-5)
    np.testing.assert_array_equal(ours.moving_mean, mean)


def test_without_scale_and_center():
    ours, theirs = _pair(scale=False, center=False)
    x = tf.constant(np.random.default_rng(3).normal(size=(3, 5, 7, 6)).astype("float32"))
    np.testing.assert_allclose(ours(x, training=True), theirs(x, training=True), atol=1e-5)
    np.testing.assert_allclose(ours.moving_variance, theirs.moving_variance, rtol=1e-5)


def test_mixed_float16_matches_keras():
    ours = BatchNorm(epsilon=1e-5, dtype="mixed_float16")
    theirs = keras.layers.BatchNormalization(epsilon=1e-5, dtype="mixed_float16")
    x = tf.constant(np.random.default_rng(4).normal(size=(2, 4, 4, 8)), tf.float16)
    y_ours, y_theirs = ours(x, training=True), theirs(x, training=True)
    assert y_ours.dtype == y_theirs.dtype == tf.float16
    np.testing.assert_allclose(y_ours.numpy(), y_theirs.numpy(), atol=2e-3)
    np.testing.assert_allclose(ours.moving_variance, theirs.moving_variance, rtol=1e-3)


def test_other_inputs_take_keras_path():
    ours = BatchNorm(epsilon=1e-5)
    x = tf.zeros((4, 6))  # 2-D: not the fused kernel's shape
    assert "FusedBatchNormV3" not in _ops(ours, x, True)
    np.testing.assert_allclose(ours(x, training=True), keras.layers.BatchNormalization(
        epsilon=1e-5)(x, training=True))
