"""The SavedModel ``landmarks`` signature is the landmark task's own inference: on synthetic face
images with face boxes it gives the points the evaluator and ``predict`` give."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import hrnet_tf
from hrnet_tf.data.images import normalize, read_image
from hrnet_tf.evaluation import evaluate
from hrnet_tf.export import export_model
from hrnet_tf.export.tasks import calibrate_batch_norm, sample_images
from hrnet_tf.landmarks.codec import LandmarkCodec
from hrnet_tf.landmarks.evaluator import LandmarkEvaluator
from hrnet_tf.landmarks.landmark_sets import LandmarkSet
from hrnet_tf.landmarks.pipeline import LandmarkPipeline
from hrnet_tf.landmarks.predict import predict_image
from hrnet_tf.landmarks.sources import read_official_csv
from hrnet_tf.landmarks.synthetic import IMAGE_DIR, SYNTHETIC_SET, TEST_CSV


@pytest.mark.slow
def test_landmarks_signature_equals_the_evaluation_and_predict_paths(synthetic_faces, tmp_path):
    keras.utils.set_random_seed(0)
    model = hrnet_tf.HRNetV2Landmarks("tiny", num_landmarks=10, input_shape=(64, 64, 3),
                                      landmarks=SYNTHETIC_SET)
    calibrate_batch_norm(model, normalize(sample_images(8, (64, 64))).numpy())
    out = tmp_path / "faces"
    report = export_model(model, out, "saved_model", verbose=False)
    assert report["task"] == "landmarks" and "landmarks" in report["signatures"]
    assert report["signature_check"]["landmark_error_px"]["max"] < 1e-3

    records = read_official_csv(os.path.join(synthetic_faces, TEST_CSV),
                                os.path.join(synthetic_faces, IMAGE_DIR), 10).subset([0])
    pipeline = LandmarkPipeline(LandmarkCodec(64, 16, 1.5), LandmarkSet.from_config(SYNTHETIC_SET))
    evaluator = LandmarkEvaluator(pipeline, records, batch_size=1)
    metrics, _ = evaluate(model, evaluator, progress=False)
    assert metrics["skipped"] == 0 and metrics["faces"] == 1
    # the face box whose centre and scale are the record's (max(w, h) / 200)
    side = records.scales[0] * 200.0
    box = np.array([[records.centers[0, 0] - side / 2, records.centers[0, 1] - side / 2,
                     side, side]], np.float32)
    image = read_image(str(records.image_paths[0]))
    served = tf.saved_model.load(str(out)).signatures["landmarks"](image=image,
                                                                    boxes=tf.constant(box))
    assert served["landmarks"].shape == (1, 10, 2)
    np.testing.assert_allclose(served["landmarks"].numpy(), evaluator.points, atol=1e-3)
    points, scores = predict_image(model, image.numpy(), box)
    np.testing.assert_allclose(points, evaluator.points, atol=1e-3)
    np.testing.assert_allclose(served["scores"].numpy(), scores, rtol=1e-4, atol=1e-6)
    assert np.ptp(points[0, :, 0]) > 0  # not a vacuous agreement: the points differ


def test_the_export_command_takes_the_landmarks_task():
    from hrnet_tf.export.tasks import check_task

    model = hrnet_tf.HRNetV2Landmarks("tiny", num_landmarks=19, input_shape=(64, 64, 3))
    # python -m hrnet_tf.export checks --task auto, then export_model checks what it gave
    assert check_task(check_task("auto", model), model) == "landmarks"
    assert check_task("raw", model) == "raw"
