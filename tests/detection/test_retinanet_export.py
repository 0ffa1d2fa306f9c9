"""The SavedModel ``detect`` signature of a RetinaNet (keras-hub anchors, mmdet decoding and
per-class NMS in the graph) against the Keras path of ``predict`` (the export's self-check)."""

import numpy as np
import pytest

pytest.importorskip("keras_hub")


@pytest.mark.slow
def test_saved_model_detect_signature_of_a_retinanet(tmp_path):
    import hrnet_tf
    from hrnet_tf.export import export_model

    model = hrnet_tf.HRNetRetinaNet("tiny", 2, (128, 128, 3), out_channels=16, feat_channels=16,
                                    stacked_convs=1)
    logits = model.get_layer("classification_head").prediction_layer
    rng = np.random.default_rng(0)
    # spread scores (an untrained head gives near ties that BN folding may reorder)
    logits.kernel.assign(rng.normal(0, 0.5, logits.kernel.shape).astype(np.float32))
    logits.bias.assign(np.full(logits.bias.shape, 1.0, np.float32))
    model.info.labels = {**model.info.labels, "scale": [160, 128], "category_names": ["a", "b"],
                         "category_ids": [4, 9], "head": {"max_per_image": 20}}
    report = export_model(model, str(tmp_path / "det"), "saved_model", verbose=False)
    assert report["task"] == "detection" and "detect" in report["signatures"]
    check = report["signature_check"]
    assert check["label_agreement"] == 1.0 and check["box_error_px"]["max"] < 0.05
    # the export's self-check ran the saved `detect` on odd-sized uint8 images against
    # detect_image (the Keras path predict uses): same boxes and labels, 20 detections each
    assert check["detections"] == 20 * check["calls"]
