"""The SavedModel ``detect`` signature: the detection task's own path (keep-ratio resize into the
canvas, FCOS decoding, per-class NMS) in the graph, against ``detect_image`` on the same image."""

import numpy as np
import pytest


@pytest.mark.slow
def test_saved_model_detect_signature_matches_predict(tmp_path):
    import tensorflow as tf

    import hrnet_tf
    from hrnet_tf.detection.predict import detect_image
    from hrnet_tf.export import export_model

    model = hrnet_tf.HRNetFCOS("tiny", num_classes=2, input_shape=(128, 160, 3), out_channels=16,
                               feat_channels=16, stacked_convs=1, gn_groups=4)
    bias = model.get_layer("bbox_head").conv_cls.bias
    bias.assign(np.full(bias.shape, 2.0, np.float32))  # detections everywhere, NMS has work
    model.info.labels = {**model.info.labels, "scale": [160, 128], "category_names": ["a", "b"],
                         "category_ids": [4, 9], "head": {"max_per_image": 20}}
    report = export_model(model, str(tmp_path / "det"), "saved_model", verbose=False)
    assert report["task"] == "detection" and "detect" in report["signatures"]
    check = report["signature_check"]  # the export's own self-check on odd-sized images
    assert check["label_agreement"] == 1.0 and check["box_error_px"]["max"] < 0.05
    loaded = tf.saved_model.load(str(tmp_path / "det"))
    image = np.random.default_rng(0).integers(0, 255, (90, 200, 3), np.uint8)
    served = loaded.signatures["detect"](image=tf.constant(image))
    served = {k: v.numpy() for k, v in served.items()}
    found = detect_image(model, image)
    assert len(found) == 20 and (served["labels"] >= 0).sum() == 20
    np.testing.assert_allclose(served["boxes"], [d["box"] for d in found], atol=0.02)
    assert [int(v) for v in served["labels"]] == [[4, 9].index(d["category_id"]) for d in found]
