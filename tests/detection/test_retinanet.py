"""RetinaNet on HRNetV2p through keras-hub 0.32: the three fixes, keras-hub's anchors and targets
against a NumPy re-derivation of mmdet's (hrnet_tf/testing/retinanet.py), decoding with per-class
NMS, the loss, the keras-hub detector's fit/predict/save round trip, and the trainer, predict and
the SavedModel export end to end."""

import json
import math

import numpy as np
import pytest

pytest.importorskip("keras_hub")

from hrnet_tf.detection.retinanet import RetinaNetCoder  # noqa: E402
from hrnet_tf.testing import retinanet as ref  # noqa: E402

STRIDES = (8, 16, 32, 64, 128)


def random_boxes(rng, n, size):
    xy = rng.uniform(0, size - 40, (n, 2))
    wh = rng.uniform(12, 90, (n, 2))
    return np.concatenate([xy, np.minimum(xy + wh, size)], 1).astype(np.float32)


def test_anchors_are_mmdets_with_keras_hubs_integer_sizes():
    coder = RetinaNetCoder(num_classes=2)
    anchors, counts = coder.anchor_boxes(256, 384)
    sizes = [(math.ceil(256 / s), math.ceil(384 / s)) for s in STRIDES]
    assert counts == [h * w * 9 for h, w in sizes]
    # keras-hub = mmdet's generator with integer anchor sizes and rounded half sides ...
    np.testing.assert_array_equal(anchors, ref.mmdet_anchors(sizes, STRIDES, truncate_sizes=True,
                                                             round_half_sides=True))
    # ... the documented difference from mmdet's exact anchors: under 1 px
    exact = ref.mmdet_anchors(sizes, STRIDES)
    assert 0.5 < np.abs(anchors - exact).max() < 1.0


def test_targets_equal_mmdets_assigner_and_delta_coder():
    rng = np.random.default_rng(0)
    coder = RetinaNetCoder(num_classes=3)
    anchors, _ = coder.anchor_boxes(256, 256)
    boxes = random_boxes(rng, 6, 256)
    labels = rng.integers(0, 3, 6).astype(np.int32)
    padded_boxes = np.concatenate([boxes, np.zeros((2, 4), np.float32)])
    padded_labels = np.concatenate([labels, [-1, -1]]).astype(np.int32)
    got = coder.encode(padded_boxes, padded_labels, 256, 256)
    want_labels, want_deltas = ref.retinanet_targets(anchors.astype(np.float64), boxes, labels)
    np.testing.assert_array_equal(got["labels"].numpy(), want_labels)
    assert (want_labels >= 0).sum() > 6 and (want_labels == -2).sum() > 0
    np.testing.assert_allclose(got["bbox"].numpy(), want_deltas, atol=2e-5)
    # an image without boxes: every anchor background
    empty = coder.encode(np.zeros((2, 4), np.float32), np.array([-1, -1], np.int32), 256, 256)
    assert (empty["labels"].numpy() == -1).all() and (empty["bbox"].numpy() == 0).all()


@pytest.mark.parametrize("nms", ["tensorflow", "keras_hub"])
def test_decoding_and_per_class_nms_equal_mmdets(nms, monkeypatch):
    """The evaluation's traced decoding (TF's combined NMS), and the other backends' branch
    (keras-hub's non_max_suppression with class offsets, run eagerly here)."""
    import keras
    import tensorflow as tf

    if nms == "keras_hub":
        monkeypatch.setattr(keras.backend, "backend", lambda: "jax")

    rng = np.random.default_rng(1)
    c = 3
    coder = RetinaNetCoder(num_classes=c, nms_pre=150, max_per_image=40)
    anchors, counts = coder.anchor_boxes(128, 128)
    logits = rng.normal(-2.5, 1.5, (2, len(anchors), c)).astype(np.float32)
    deltas = rng.normal(0, 0.3, (2, len(anchors), 4)).astype(np.float32)
    deltas[0, :5, 2] = 6.0  # past mmdet's clamp at log(1000 / 16)
    outputs = np.concatenate([logits, deltas], -1)
    shapes = np.array([[120, 100], [128, 90]], np.float32)
    factors = np.array([[0.5, 0.5], [0.8, 0.75]], np.float32)
    boxes, scores, labels, valid = coder.decode(tf.constant(outputs), (128, 128), shapes, factors,
                                                compiled=nms == "tensorflow")
    for b in range(2):
        want = ref.retinanet_decode(logits[b], deltas[b], anchors.astype(np.float64), counts,
                                    shapes[b], factors[b], nms_pre=150, max_per_image=40)
        n = int(valid[b])
        assert n == len(want) == 40
        np.testing.assert_allclose(scores[b, :n], [d[1] for d in want], rtol=1e-5)
        np.testing.assert_array_equal(labels[b, :n], [d[2] for d in want])
        np.testing.assert_allclose(boxes[b, :n], [d[0] for d in want], atol=2e-3)
        # per class: boxes of different classes overlap (a class-agnostic NMS would drop them)
        assert len(set(labels[b, :n].numpy().tolist())) == c


def test_loss_equals_mmdets():
    from hrnet_tf.detection.loss import RetinaNetLoss

    rng = np.random.default_rng(2)
    b, a, c = 2, 40, 3
    logits = rng.normal(-1, 1.5, (b, a, c)).astype(np.float32)
    deltas = rng.normal(0, 0.5, (b, a, 4)).astype(np.float32)
    labels = rng.choice([-2, -1, -1, -1, 0, 1, 2], (b, a)).astype(np.int32)
    labels[1] = np.where(labels[1] >= 0, -1, labels[1])  # an image without positives
    bbox = np.where((labels >= 0)[..., None], rng.normal(0, 0.5, (b, a, 4)), -np.inf)
    loss = RetinaNetLoss(c)
    focal, l1 = loss.terms({"labels": labels, "bbox": bbox.astype(np.float32)},
                           np.concatenate([logits, deltas], -1))
    want_focal, want_l1 = ref.retinanet_loss(logits, deltas, labels, np.nan_to_num(bbox))
    # the trainer's sum / batch of the per-image shares
    np.testing.assert_allclose(float(np.sum(focal)) / b, want_focal, rtol=1e-5)
    np.testing.assert_allclose(float(np.sum(l1)) / b, want_l1, rtol=1e-5)


def test_keras_hub_detector_fixes_fit_predict_and_save(tmp_path):
    """The three fixes on keras-hub's own RetinaNetObjectDetector (beside keras-hub's 0.32
    defaults they replace), one fit step with {"boxes", "labels"}, predict, save/load, and the
    same weights as the HRNetModel of the trainer both ways."""
    import keras
    import keras_hub

    import hrnet_tf
    from hrnet_tf.models.retinanet import from_keras_hub, to_keras_hub
    from hrnet_tf.models.retinanet_layers import PerClassNMS

    detector = hrnet_tf.retinanet_detector("tiny", 3, (128, 128, 3), out_channels=16,
                                           stacked_convs=1)
    assert isinstance(detector, keras_hub.models.RetinaNetObjectDetector)
    assert isinstance(detector.backbone, keras_hub.models.FeaturePyramidBackbone)
    assert list(detector.backbone.pyramid_outputs) == ["P3", "P4", "P5", "P6", "P7"]
    # fix 1: the prior bias on the classification head (keras-hub 0.32 puts it on the box head)
    np.testing.assert_allclose(detector.classification_head.prediction_layer.bias.numpy(),
                               -math.log(99), rtol=1e-6)
    assert not detector.box_head.prediction_layer.bias.numpy().any()
    assert detector.box_head.use_prior_probability is False
    stock = keras_hub.models.RetinaNetObjectDetector(detector.backbone, 3, "xyxy",
                                                     pre_logits_num_conv_layers=1)
    assert stock.box_head.use_prior_probability and not stock.classification_head.use_prior_probability
    # fix 2: per-class NMS with mmdet's test settings (keras-hub: class-agnostic, confidence 0.5)
    decoder = detector.prediction_decoder
    assert isinstance(decoder, PerClassNMS)
    assert (decoder.score_threshold, decoder.iou_threshold, decoder.max_detections,
            decoder.nms_pre) == (0.05, 0.5, 100, 1000)
    assert stock.prediction_decoder.confidence_threshold == 0.5
    # fix 3: focal alpha applied (apply_class_balancing), L1 on the deltas
    detector.compile(optimizer=keras.optimizers.SGD(0.01), run_eagerly=True)  # no tracing
    focal = detector.loss["cls_logits"]
    assert (focal.apply_class_balancing, focal.alpha, focal.gamma) == (True, 0.25, 2.0)
    logits = np.array([[[2.0, -1.0, 0.5]]], np.float32)
    truth = np.array([[[1.0, 0.0, 0.0]]], np.float32)
    p = 1 / (1 + np.exp(-logits))
    mmdet = np.where(truth == 1, -0.25 * (1 - p) ** 2 * np.log(p),
                     -0.75 * p ** 2 * np.log(1 - p)).mean()  # keras averages over classes
    np.testing.assert_allclose(float(focal(truth, logits)), mmdet, rtol=1e-5)

    rng = np.random.default_rng(3)
    images = rng.uniform(-1, 1, (2, 128, 128, 3)).astype(np.float32)
    boxes = np.array([[[10, 20, 60, 90], [-1, -1, -1, -1]], [[30, 30, 100, 70], [5, 5, 40, 40]]],
                     np.float32)
    labels = np.array([[1, -1], [0, 2]], np.float32)
    history = detector.fit(images, {"boxes": boxes, "labels": labels}, batch_size=2, epochs=1,
                           verbose=0)
    assert np.isfinite(history.history["loss"][0])
    found = detector.predict(images, verbose=0)
    assert found["boxes"].shape == (2, 100, 4) and found["labels"].shape == (2, 100)
    for b in range(2):  # keras-hub's padding convention past num_detections
        n = int(found["num_detections"][b])
        assert (found["labels"][b, n:] == -1).all() and (found["confidence"][b, n:] == -1).all()
        assert (found["labels"][b, :n] >= 0).all() and (found["confidence"][b, :n] > 0.05).all()

    path = tmp_path / "detector.keras"
    detector.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded).__name__ == "HRNetRetinaNetDetector"
    assert loaded.label_encoder.low_quality_matches
    raw, again = detector(images), loaded(images)
    np.testing.assert_allclose(again["cls_logits"], raw["cls_logits"], atol=1e-5)
    # one set of layers: the trainer's HRNetModel holds the same weights
    model = from_keras_hub(loaded)
    assert model.info.architecture == "HRNetRetinaNet" and model.info.task == "detection"
    np.testing.assert_allclose(model(images)[..., :3], raw["cls_logits"], atol=1e-5)
    np.testing.assert_allclose(model(images)[..., 3:], raw["bbox_regression"], atol=1e-5)
    # the trainer's model.keras round trip (load_model registers keras-hub's layers first)
    model.save(tmp_path / "model.keras")
    reloaded = hrnet_tf.load_model(tmp_path / "model.keras")
    assert reloaded.info == model.info
    np.testing.assert_allclose(reloaded(images), model(images), atol=1e-5)
    back = to_keras_hub(model)
    np.testing.assert_allclose(back(images)["bbox_regression"], raw["bbox_regression"],
                               atol=1e-5)


def test_retinanet_config_errors():
    from hrnet_tf.detection.task import DetectionConfig, DetectionTask
    from hrnet_tf.errors import ConfigError
    from hrnet_tf.training.config import load_config

    task = DetectionTask()
    path = "configs/detection/synthetic_shapes_retinanet.yaml"
    task.validate(load_config(path, DetectionConfig))
    for w in (18, 32, 40):
        c = load_config(f"configs/detection/retinanet_hrnetv2p_w{w}_1x.yaml", DetectionConfig)
        task.validate(c)
        assert (c.model.detector, c.model.width, c.model.freeze_bn) == ("retinanet", w, True)
        assert (c.train.lr, c.train.batch_size, c.train.epochs, c.train.lr_steps) == (
            0.01, 16, 12, [8.0, 11.0])
        assert (c.train.warmup_factor, c.train.clip_norm) == (0.001, 0.0)
        h = c.head
        assert (h.pos_iou_threshold, h.neg_iou_threshold, h.low_quality_matches) == (0.5, 0.4, True)
        assert (h.anchor_size, h.anchor_scales, h.anchor_ratios) == (4.0, 3, [0.5, 1.0, 2.0])
        assert (h.focal_alpha, h.focal_gamma, h.nms_pre, h.score_threshold, h.iou_threshold,
                h.max_per_image) == (0.25, 2.0, 1000, 0.05, 0.5, 100)
    for override, key in [("model.detector=yolo", "model.detector"),
                          ("data.image_size=[128,160]", "data.image_size"),
                          ("head.neg_iou_threshold=0.6", "head.neg_iou_threshold"),
                          ("head.anchor_ratios=[]", "head.anchor_scales")]:
        with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
            task.validate(load_config(path, DetectionConfig, [override]))


def test_without_keras_hub_one_line(monkeypatch, tmp_path):
    import sys
    import zipfile

    import hrnet_tf
    from hrnet_tf.errors import ConfigError

    monkeypatch.setitem(sys.modules, "keras_hub", None)
    with pytest.raises(ConfigError, match=r"pip install 'hrnet_tf\[detection\]'"):
        hrnet_tf.HRNetRetinaNet("tiny", 3, (128, 128, 3))
    # a RetinaNet model.keras (its config names keras-hub's layers): the file and the install
    path = tmp_path / "model.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", '{"registered_name": "hrnet_tf>RetinaHead"}')
    with pytest.raises(ConfigError, match=r"model\.keras \(a RetinaNet\) needs keras-hub"):
        hrnet_tf.load_model(path)


@pytest.mark.slow
def test_train_predict_and_export_retinanet(tmp_path, capsys):
    """train/detect.py on the RetinaNet shapes config (tiny, one step; it evaluates with
    pycocotools at the end), ``python -m hrnet_tf.detection.predict`` on its model.keras, and the
    SavedModel ``detect`` signature (decoding and per-class NMS in the graph) against the Keras
    path predict runs (the export's self-check on odd-sized uint8 images)."""
    from hrnet_tf import cli
    from hrnet_tf.detection import predict
    from hrnet_tf.detection.metrics import STAT_NAMES
    from hrnet_tf.export import export_model
    from hrnet_tf.models import load_model

    out = tmp_path / "run"
    data = tmp_path / "shapes"
    assert cli.train("detect", [
        "--config", "configs/detection/synthetic_shapes_retinanet.yaml", "--out", str(out),
        "--set", f"data.dir={data}", "data.synthetic_train=4", "data.synthetic_val=2",
        "model.out_channels=16", "model.feat_channels=16", "model.stacked_convs=1",
        "train.batch_size=2", "train.epochs=1", "train.steps_per_epoch=1"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(STAT_NAMES) <= set(metrics) and metrics["images"] == 2
    assert isinstance(json.loads((out / "bbox_results.json").read_text()), list)
    image = sorted((data / "val").glob("*.jpg"))[0]
    capsys.readouterr()
    assert predict.main([str(image), "--weights", str(out / "model.keras"), "--threshold", "0",
                         "--out", str(tmp_path / "boxes.png")]) == 0
    found = json.loads(capsys.readouterr().out)
    assert isinstance(found, list) and (tmp_path / "boxes.png").is_file()
    assert all(d["label"] in ("square", "disc", "triangle") and len(d["box"]) == 4 for d in found)

    model = load_model(str(out / "model.keras"))
    assert model.info.architecture == "HRNetRetinaNet"
    logits = model.get_layer("classification_head").prediction_layer
    # spread the scores (a model one step old has near ties that BN folding may reorder)
    rng = np.random.default_rng(0)
    logits.kernel.assign(rng.normal(0, 0.5, logits.kernel.shape).astype(np.float32))
    logits.bias.assign(np.full(logits.bias.shape, 1.0, np.float32))
    model.info.labels["head"]["max_per_image"] = 20
    report = export_model(model, str(tmp_path / "saved"), "saved_model", verbose=False)
    assert report["task"] == "detection" and "detect" in report["signatures"]
    check = report["signature_check"]
    assert check["label_agreement"] == 1.0 and check["box_error_px"]["max"] < 0.05
    assert check["detections"] == 20 * check["calls"]
