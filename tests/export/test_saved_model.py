"""SavedModel export: the archive's signatures. The task signatures are tested against each task's
evaluation path in tests/<task>/ (test_export.py / test_signature.py)."""

import pytest

import hrnet_tf
from hrnet_tf.export import export_model


def test_pose_signature_needs_fixed_input_size(tmp_path):
    model = hrnet_tf.HRNetV1("tiny", input_shape=(None, None, 3), upsample_method="bilinear")
    message = "accepts any image size, but the keypoints signature needs a fixed input size"
    with pytest.raises(hrnet_tf.errors.ConfigError, match=message):
        export_model(model, tmp_path / "p", "saved_model", verbose=False)
