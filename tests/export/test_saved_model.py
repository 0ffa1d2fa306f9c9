"""SavedModel export: raw signature equals Keras; uint8 signatures take odd-sized images and
reproduce the official inference (cv2 / NumPy references)."""

import json

import cv2
import keras
import numpy as np
import pytest
import tensorflow as tf

import hrnet_tf
from hrnet_tf.export import export_model, normalize_uint8, report_path
from hrnet_tf.export.pose_graph import boxes_to_centers_scales, crop_boxes
from hrnet_tf.pose.codec import PoseCodec, affine_matrix, box_to_center_scale

from .helpers import calibrated

MEAN = np.array([0.485, 0.456, 0.406])
STD = np.array([0.229, 0.224, 0.225])


def _normalize(image):
    return ((image / 255.0 - MEAN) / STD).astype(np.float32)


def _odd_image(height, width, seed=0):
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0, 255, (max(2, height // 8), max(2, width // 8), 3)).astype(np.float32)
    smooth = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    return np.clip(smooth, 0, 255).astype(np.uint8)


def test_pose_signature_reproduces_official_top_down_inference(tmp_path):
    keras.utils.set_random_seed(0)
    model, _ = calibrated(hrnet_tf.HRNetV1("tiny", input_shape=(128, 96, 3)), (128, 96))
    out = tmp_path / "pose"
    report = export_model(model, out, "saved_model", verbose=False)
    assert report["task"] == "pose"
    assert report["accuracy"]["relative_error"] <= 1e-4
    assert json.loads(open(report_path(out)).read())["signatures"] == report["signatures"]

    loaded = tf.saved_model.load(str(out))
    image = _odd_image(151, 117)
    boxes = np.array([[10, 12, 50, 90], [60.5, 20, 43, 80], [0, 70, 100, 60]], np.float32)
    got = loaded.signatures["keypoints"](image=tf.constant(image), boxes=tf.constant(boxes))
    assert got["keypoints"].shape == (3, 17, 2) and got["scores"].shape == (3, 17)

    # Official pipeline: _xywh2cs, cv2.warpAffine crop of the uint8 image, model, get_final_preds.
    codec = PoseCodec(image_size=(96, 128), heatmap_size=(24, 32))
    crops, centers, scales = [], [], []
    for box in boxes:
        center, scale = box_to_center_scale(box, 96 / 128)
        matrix = affine_matrix(center, scale, 0, (96, 128))
        crops.append(cv2.warpAffine(image, matrix, (96, 128), flags=cv2.INTER_LINEAR))
        centers.append(center)
        scales.append(scale)
    centers, scales, crops = np.stack(centers), np.stack(scales), np.stack(crops).astype(np.float32)

    # The in-graph crop is cv2's within one grey level (both warp uint8 to uint8; cv2 quantizes
    # coordinates to 1/32 pixel and rounds in fixed point).
    graph_centers, graph_scales = boxes_to_centers_scales(tf.constant(boxes), 96 / 128)
    np.testing.assert_allclose(graph_centers, centers, atol=1e-4)
    np.testing.assert_allclose(graph_scales, scales, rtol=1e-5)
    graph_crops = crop_boxes(tf.constant(image), graph_centers, graph_scales, (128, 96))
    np.testing.assert_allclose(graph_crops, crops, atol=1.0)
    assert np.mean(graph_crops.numpy() != crops) < 0.05

    # The signature's heatmaps are the Keras model's up to float rounding, which a uint8 crop can
    # turn into one grey level at a few pixels. An untrained net's heatmaps are nearly flat, so that
    # can move a near-tie argmax (or the quarter-pixel shift) anywhere: every joint whose peak
    # stands clear of its runner-up and of its neighbours must agree exactly, most joints must be
    # clear, and the scores (peak values) must agree everywhere.
    def assert_official_decoding(crop_batch, atol, score_atol):
        heatmaps = loaded.signatures["raw"](image=normalize_uint8(crop_batch))["output"].numpy()
        want = codec.decode(heatmaps, centers, scales)
        per_joint = heatmaps.transpose(0, 3, 1, 2).reshape(*heatmaps.shape[:1], heatmaps.shape[3], -1)
        ranked = np.sort(per_joint, axis=-1)
        margin = 5e-3 * (ranked[..., -1] - ranked[..., 0])
        y, x = np.unravel_index(per_joint.argmax(-1), heatmaps.shape[1:3])
        padded = np.pad(heatmaps, [(0, 0), (1, 1), (1, 1), (0, 0)])
        n, j = np.indices(y.shape)
        dx = padded[n, y + 1, x + 2, j] - padded[n, y + 1, x, j]
        dy = padded[n, y + 2, x + 1, j] - padded[n, y, x + 1, j]
        clear = (ranked[..., -1] - ranked[..., -2] > margin) & (abs(dx) > margin) & (abs(dy) > margin)
        assert clear.mean() >= 0.6, f"only {clear.mean():.0%} of joints unambiguous: a vacuous check"
        np.testing.assert_allclose(got["keypoints"].numpy()[clear], want[..., :2][clear], atol=atol)
        np.testing.assert_allclose(got["scores"], want[..., 2], rtol=0, atol=score_atol)

    # On the graph's own crops, and end to end on cv2's (peaks are ~0.05: scores within 2%).
    assert_official_decoding(graph_crops, atol=1e-3, score_atol=1e-3)
    assert_official_decoding(crops, atol=1e-2, score_atol=1e-3)


def test_segmentation_signature_returns_labels_at_odd_input_size(tmp_path):
    model, _ = calibrated(hrnet_tf.HRNetV2("tiny", num_classes=4), (64, 64))
    out = tmp_path / "seg"
    report = export_model(model, out, "saved_model", verbose=False)
    assert report["task"] == "segmentation"
    assert report["accuracy"]["relative_error"] <= 1e-4
    assert report["signature_check"]["label_agreement"] >= 0.999

    loaded = tf.saved_model.load(str(out))
    images = np.stack([_odd_image(45, 67, seed) for seed in (1, 2)])
    labels = loaded.signatures["segment"](images=tf.constant(images))["labels"].numpy()
    assert labels.shape == (2, 45, 67) and labels.dtype == np.int32
    # Official test: logits bilinearly resized to the image (cv2: half-pixel centres), argmax.
    logits = np.asarray(model(np.stack([_normalize(i) for i in images]), training=False))
    want = np.stack([cv2.resize(lg, (67, 45), interpolation=cv2.INTER_LINEAR).argmax(-1)
                     for lg in logits])
    assert np.mean(labels == want) >= 0.99


def test_pose_signature_needs_fixed_input_size(tmp_path):
    model = hrnet_tf.HRNetV1("tiny", input_shape=(None, None, 3), upsample_method="bilinear")
    with pytest.raises(ValueError, match="fixed input size"):
        export_model(model, tmp_path / "p", "saved_model", verbose=False)
