"""Small models with realistic activations for the export tests."""

from hrnet_tf.export import calibrate_batch_norm, normalize_uint8
from hrnet_tf.export.tasks import sample_images


def calibrated(model, size, seed=0):
    """``model`` with BN statistics re-estimated on synthetic images (random init otherwise blows
    activations up through dozens of identity-statistics BNs); returns (model, uint8 images)."""
    images = sample_images(8, size, seed=seed)
    calibrate_batch_norm(model, normalize_uint8(images).numpy())
    return model, images

