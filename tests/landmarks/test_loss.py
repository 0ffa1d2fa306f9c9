"""The criterion: the official nn.MSELoss (mean over every element) per example."""

import numpy as np

from hrnet_tf.landmarks.loss import HeatmapMSELoss


def test_per_example_mse_averages_to_the_official_loss():
    rng = np.random.default_rng(0)
    target = rng.random((3, 8, 8, 5)).astype(np.float32)
    output = rng.random((3, 8, 8, 5)).astype(np.float32)
    loss = np.asarray(HeatmapMSELoss()(target, output))
    np.testing.assert_allclose(loss, ((output - target) ** 2).reshape(3, -1).mean(1), rtol=1e-6)
    np.testing.assert_allclose(loss.mean(), ((output - target) ** 2).mean(), rtol=1e-6)
