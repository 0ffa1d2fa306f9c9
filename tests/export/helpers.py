"""Small models with realistic activations for the export tests."""

import numpy as np

from hrnet_tf.export import calibrate_batch_norm, normalize_uint8
from hrnet_tf.export.tasks import sample_images


def calibrated(model, size, seed=0):
    """``model`` with BN statistics re-estimated on synthetic images (random init otherwise blows
    activations up through dozens of identity-statistics BNs); returns (model, uint8 images)."""
    images = sample_images(8, size, seed=seed)
    calibrate_batch_norm(model, normalize_uint8(images).numpy())
    return model, images


def randomize_batch_norm(model, seed=0):
    """Non-trivial BN parameters and statistics, so that folding has something to fold."""
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        path = variable.path
        if "moving_variance" in path or "gamma" in path:
            variable.assign(rng.uniform(0.5, 1.5, variable.shape).astype("float32"))
        elif "moving_mean" in path or "beta" in path:
            variable.assign(rng.normal(0, 0.1, variable.shape).astype("float32"))
    return model
