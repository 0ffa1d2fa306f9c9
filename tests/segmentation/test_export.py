"""The exported ``segment`` signature gives what the evaluation and predict paths give on the
same real image (and what the official test computes, re-derived with cv2)."""

import os

import cv2
import keras
import numpy as np
import pytest
import tensorflow as tf

import hrnet_tf
from hrnet_tf.data.images import normalize
from hrnet_tf.evaluation import evaluate, forward_function
from hrnet_tf.export import calibrate_batch_norm, export_model
from hrnet_tf.export.tasks import sample_images
from hrnet_tf.segmentation import predict
from hrnet_tf.segmentation.codec import inference
from hrnet_tf.segmentation.evaluator import SegmentationEvaluator
from hrnet_tf.segmentation.sources import dataset_info

from .helpers import CUSTOM_SPEC, corner_resize, normalize_np, write


def test_segment_signature_equals_the_evaluation_path_on_a_real_image(coco_mini, tmp_path):
    # A custom name and a custom stage specification: export finds the task in model.info.
    keras.utils.set_random_seed(0)
    model = hrnet_tf.HRNetV2(CUSTOM_SPEC, num_classes=4, name="street_parser")
    calibrate_batch_norm(model, normalize_np(sample_images(4, (96, 128))))
    out = tmp_path / "saved"
    report = export_model(model, out, "saved_model", verbose=False)
    assert report["task"] == "segmentation"
    assert report["signature_check"]["label_agreement"] >= 0.9999

    # A real COCO photo (odd height 425) as the evaluation set, with a label map of its size.
    path = str(coco_mini / "images" / "val2017" / "000000000785.jpg")
    rgb = cv2.imread(path)[:, :, ::-1]  # the official loader; our decoder gives these pixels
    label = str(tmp_path / "labels" / "000000000785.png")
    write(label, np.zeros(rgb.shape[:2], np.uint8))
    info = dataset_info("generic", num_classes=4)

    served = tf.saved_model.load(str(out)).signatures["segment"](
        images=tf.constant(rgb[None]))["labels"].numpy()[0]
    assert served.shape == rgb.shape[:2] and served.dtype == np.int32

    evaluator = SegmentationEvaluator([(path, label)], info, save_predictions=True)
    metrics, _ = evaluate(model, evaluator, str(tmp_path / "eval"), progress=False)
    assert metrics["num_images"] == 1
    evaluated = evaluator.prediction("000000000785")
    np.testing.assert_array_equal(evaluated,
                                  predict.segment_image(forward_function(model), rgb, info))
    # The SavedModel runs the same ops in another graph (grappler may fuse the normalization's
    # multiply-add differently): equal labels wherever the two best scores are not a tie at
    # float32 rounding.
    scores = np.sort(inference(model, normalize(rgb[None])).numpy()[0], axis=-1)
    clear = (scores[..., -1] - scores[..., -2]) > 1e-5 * scores[..., -1]
    assert clear.mean() > 0.99
    np.testing.assert_array_equal(served[clear], evaluated[clear])
    assert os.path.isfile(tmp_path / "eval" / "predictions" / "000000000785_color.png")

    # The official test: logits bilinearly resized to the image (cv2), argmax. Nearly all pixels;
    # float rounding in the resize can move a near-tie.
    logits = np.asarray(model(normalize_np(rgb)[None], training=False))[0]
    want = cv2.resize(logits, rgb.shape[1::-1], interpolation=cv2.INTER_LINEAR).argmax(-1)
    assert np.mean(served == want) > 0.99
    assert len(np.unique(served)) > 1  # a calibrated net, not one class everywhere


@pytest.mark.slow
def test_ocr_exports_pass_the_self_checks(tmp_path):
    # HRNet-OCR (reduced OCR channels, custom spec): the `segment` signature serves the `out`
    # head with align-corners score resizes; TFLite keeps builtin ops in one XNNPACK partition.
    from hrnet_tf.segmentation.codec import segment_images

    keras.utils.set_random_seed(1)
    model = hrnet_tf.HRNetOCR(CUSTOM_SPEC, num_classes=4, input_shape=(64, 96, 3),
                              ocr_mid_channels=16, ocr_key_channels=8)
    images = sample_images(4, (64, 96))
    calibrate_batch_norm(model, normalize_np(images))
    report = export_model(model, tmp_path / "saved", "saved_model", verbose=False)
    assert report["task"] == "segmentation"
    assert report["signature_check"]["label_agreement"] >= 0.999
    served = tf.saved_model.load(str(tmp_path / "saved")).signatures["segment"](
        images=tf.constant(images))["labels"].numpy()
    # Independent: the `out` logits resized corner-aligned (align_corners=True), argmax.
    logits = np.asarray(model(normalize_np(images), training=False)["out"])
    want = np.stack([corner_resize(x, 64, 96).argmax(-1) for x in logits])
    assert np.mean(served == want) > 0.99
    # The same function in eager TF: equal up to float-rounding ties.
    assert np.mean(segment_images(model, tf.constant(images)).numpy() == served) > 0.999
    lite = export_model(model, tmp_path / "ocr", "tflite", verbose=False)
    assert lite["non_builtin_ops"] == [] and lite["xnnpack_partitions"] == 1
    assert lite["accuracy"]["label_agreement"] >= 0.99
    onnx = export_model(model, tmp_path / "ocr", "onnx", verbose=False)
    assert onnx["accuracy"]["label_agreement"] >= 0.99
