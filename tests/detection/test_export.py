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


@pytest.fixture(scope="module")
def detector(tmp_path_factory):
    """A tiny FCOS on a small canvas whose class bias puts detections everywhere (NMS has work),
    saved as training saves it."""
    import hrnet_tf

    model = hrnet_tf.HRNetFCOS("tiny", num_classes=2, input_shape=(96, 128, 3), out_channels=16,
                               feat_channels=16, stacked_convs=1, gn_groups=4)
    bias = model.get_layer("bbox_head").conv_cls.bias
    bias.assign(np.full(bias.shape, 2.0, np.float32))
    model.info.labels = {**model.info.labels, "scale": [128, 96], "category_names": ["a", "b"],
                         "category_ids": [4, 9], "head": {"max_per_image": 20}}
    path = tmp_path_factory.mktemp("det") / "model.keras"
    model.save(path)
    return model, path


def _same_detections(settings, forward, model):
    """The documented recipe (``detect_raw`` on the exported network, the report's ``decoding``)
    against the Keras path of ``predict`` on an odd-sized image."""
    from hrnet_tf.detection.codec import detect_raw
    from hrnet_tf.detection.predict import detect_image

    image = np.random.default_rng(3).integers(0, 255, (70, 150, 3), np.uint8)
    boxes, scores, labels, valid = (np.asarray(v) for v in detect_raw(forward, settings, image))
    found = detect_image(model, image)
    n = int(valid)
    assert n == len(found) == 20
    xywh = np.concatenate([boxes[:n, :2], boxes[:n, 2:] - boxes[:n, :2]], -1)
    np.testing.assert_allclose(xywh, [d["box"] for d in found], atol=0.02)
    np.testing.assert_allclose(scores[:n], [d["score"] for d in found], atol=1e-4)
    ids = [settings["category_ids"][int(v)] for v in labels[:n]]
    assert ids == [d["category_id"] for d in found]


@pytest.mark.slow
def test_tflite_export_command_keeps_nms_outside_and_its_recipe_detects_as_predict(
        tmp_path, detector):
    import json

    from hrnet_tf.export.__main__ import main
    from hrnet_tf.export.tflite import make_interpreter, run_tflite

    model, path = detector
    out = tmp_path / "det"
    assert main(["--model-path", str(path), "--format", "tflite", "--out", str(out)]) == 0
    report = json.loads((tmp_path / "det.report.json").read_text())
    assert report["task"] == "detection" and report["non_builtin_ops"] == []
    assert report["xnnpack_partitions"] == 1
    assert not {"NON_MAX_SUPPRESSION_V4", "NON_MAX_SUPPRESSION_V5"} & set(report["operators"])
    detections = report["accuracy"]["detections"]  # both raw outputs decoded with per-class NMS
    assert detections["count"] == 4 * 20 and detections["label_agreement"] == 1.0
    assert detections["box_error_px"] < 0.05
    assert report["decoding"]["canvas"] == [96, 128] and report["decoding"]["max_per_image"] == 20
    interpreter = make_interpreter(str(out) + ".tflite")
    _same_detections(report["decoding"], lambda x: run_tflite(interpreter, x), model)


@pytest.mark.slow
def test_onnx_export_reports_detections_and_its_recipe_detects_as_predict(tmp_path, detector):
    from hrnet_tf.export import export_model
    from hrnet_tf.export.onnx import make_session, run_onnx

    model, _ = detector
    report = export_model(model, tmp_path / "det", "onnx", verbose=False)
    detections = report["accuracy"]["detections"]
    assert detections["count"] == 4 * 20 and detections["label_agreement"] == 1.0
    assert detections["box_error_px"] < 0.05 and report["accuracy"]["relative_error"] < 1e-4
    session = make_session(report["path"], 2)
    _same_detections(report["decoding"], lambda x: run_onnx(session, x), model)
