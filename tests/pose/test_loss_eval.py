"""JointsMSE against the official per-joint loop; the detector-box evaluation path end to end."""

import json

import numpy as np
import tensorflow as tf

import hrnet_tf
from hrnet_tf.pose.coco import load_coco
from hrnet_tf.pose.codec import PoseCodec
from hrnet_tf.pose.evaluate import (
    STAT_NAMES,
    coco_keypoint_eval,
    evaluate_coco,
    rescore,
    select_results,
)
from hrnet_tf.pose.keypoints import COCO
from hrnet_tf.pose.loss import joints_mse
from hrnet_tf.pose.pipeline import PosePipeline

DETECTIONS = "person_detection_results/COCO_val2017_detections_AP_H_56_person.json"


def official_joints_mse(output, target, target_weight):
    """lib/core/loss.py JointsMSELoss(use_target_weight=True) on NCHW arrays."""
    batch, joints = output.shape[:2]
    pred = output.reshape(batch, joints, -1)
    gt = target.reshape(batch, joints, -1)
    loss = 0.0
    for j in range(joints):
        w = target_weight[:, j][:, None]
        loss += 0.5 * np.mean((pred[:, j] * w - gt[:, j] * w) ** 2)
    return loss / joints


def test_joints_mse_matches_official():
    rng = np.random.default_rng(0)
    output = rng.normal(size=(3, 17, 8, 6)).astype(np.float32)
    target = rng.random((3, 17, 8, 6)).astype(np.float32)
    weight = (rng.random((3, 17)) > 0.3).astype(np.float32)
    ours = joints_mse(target.transpose(0, 2, 3, 1), output.transpose(0, 2, 3, 1), weight)
    assert ours.shape == (3,)
    np.testing.assert_allclose(float(np.mean(ours)), official_joints_mse(output, target, weight),
                               rtol=1e-5)


def test_rescoring_uses_joints_above_threshold_only():
    kp = np.zeros((2, 4, 3))
    kp[0, :, 2] = [0.9, 0.5, 0.1, 0.0]
    kp[1, :, 2] = [0.1, 0.1, 0.1, 0.1]
    np.testing.assert_allclose(rescore(kp, [0.5, 1.0]), [0.5 * 0.7, 0.0])


def test_detector_box_path_end_to_end(coco_mini, tmp_path):
    codec = PoseCodec((64, 96), sigma=1.0, keypoints=COCO)
    records = load_coco(coco_mini, "val2017", codec.aspect_ratio,
                        detection_file=coco_mini / DETECTIONS, image_threshold=0.3)
    model = hrnet_tf.HRNetV1("tiny", num_outputs=17, input_shape=(96, 64, 3))
    stats = evaluate_coco(model, PosePipeline(codec), records, tmp_path, batch_size=16)
    assert list(stats) == list(STAT_NAMES)
    assert all(-1.0 <= v <= 1.0 for v in stats.values())
    results = json.loads((tmp_path / "keypoints_results.json").read_text())
    assert 0 < len(results) <= records.size
    assert {r["image_id"] for r in results} <= set(records.image_ids.tolist())
    assert all(len(r["keypoints"]) == 51 for r in results)


def test_encoded_ground_truth_decodes_to_high_ap(coco_mini):
    """Targets encoded from the ground truth, decoded back (quarter offset, inverse affine),
    rescored, OKS-NMSed and scored by COCOeval: the codec round trip must keep AP near 1."""
    codec = PoseCodec((192, 256), sigma=2.0, keypoints=COCO)
    records = load_coco(coco_mini, "val2017", codec.aspect_ratio)
    pipeline = PosePipeline(codec)
    heatmaps = np.stack([
        pipeline.crop_sample(tf.zeros([500, 700, 3]), records.joints[i], records.visible[i],
                             records.centers[i], records.scales[i], 0.0, False)[1]["heatmaps"]
        for i in range(records.size)])
    keypoints = codec.decode(heatmaps, records.centers, records.scales)
    stats = coco_keypoint_eval(
        records.annotation_file,
        select_results(keypoints, records.image_ids, records.scores, records.scales))
    assert stats["AP"] > 0.9
