"""The SavedModel ``keypoints`` signature is the pose task's own inference: on a real COCO image
(coco_mini) with detector boxes it gives the keypoints the evaluator and ``predict`` give."""

import json

import keras
import numpy as np
import tensorflow as tf

from hrnet_tf.data.images import normalize, read_image
from hrnet_tf.evaluation import evaluate
from hrnet_tf.export import export_model
from hrnet_tf.export.tasks import calibrate_batch_norm, sample_images
from hrnet_tf.pose.coco import detection_path, load_coco
from hrnet_tf.pose.codec import PoseCodec
from hrnet_tf.pose.evaluator import CocoKeypointEvaluator
from hrnet_tf.pose.pipeline import PosePipeline
from hrnet_tf.pose.predict import predict_image

from .helpers import tiny_pose_model


def test_keypoints_signature_equals_the_evaluation_and_predict_paths(coco_mini, tmp_path):
    keras.utils.set_random_seed(0)
    model = tiny_pose_model((96, 64))
    # random init blows activations up through identity-statistics BNs: calibrate them first
    calibrate_batch_norm(model, normalize(sample_images(8, (96, 64))).numpy())
    out = tmp_path / "pose"
    report = export_model(model, out, "saved_model", verbose=False)
    assert report["task"] == "pose" and "keypoints" in report["signatures"]
    # the export's own check: the served signature against the same function on the Keras model
    assert report["signature_check"]["keypoint_error_px"]["max"] < 1e-3

    # one image's detector boxes, evaluated as one batch, as the signature takes them
    dets = json.loads(open(detection_path(coco_mini)).read())
    image_id = max({d["image_id"] for d in dets}, key=lambda i: sum(d["image_id"] == i for d in dets))
    mine = sorted((d for d in dets if d["image_id"] == image_id), key=lambda d: -d["score"])[:6]
    det_file = tmp_path / "dets.json"
    det_file.write_text(json.dumps(mine))
    codec = PoseCodec((64, 96), keypoints="coco")
    records = load_coco(coco_mini, "val2017", codec.aspect_ratio, detection_file=det_file)
    assert records.size == len(mine) == 6
    evaluator = CocoKeypointEvaluator(PosePipeline(codec), records, batch_size=records.size)
    metrics, _ = evaluate(model, evaluator, progress=False)
    assert metrics["skipped"] == 0
    evaluated = evaluator.keypoints

    image = read_image(str(records.image_paths[0]))
    boxes = np.array([d["bbox"] for d in mine], np.float32)
    served = tf.saved_model.load(str(out)).signatures["keypoints"](image=image,
                                                                   boxes=tf.constant(boxes))
    assert served["keypoints"].shape == (len(mine), 17, 2)
    np.testing.assert_allclose(served["keypoints"].numpy(), evaluated[..., :2], atol=1e-3)
    np.testing.assert_allclose(served["scores"].numpy(), evaluated[..., 2], rtol=1e-4, atol=1e-6)
    predicted = predict_image(model, image.numpy(), boxes)
    np.testing.assert_allclose(predicted, evaluated, rtol=1e-5, atol=1e-4)
    # not a vacuous agreement: the boxes' keypoints differ and are spread over the image
    assert np.ptp(evaluated[..., 0]) > 20 and np.ptp(evaluated[..., 1]) > 20
