"""The COCO evaluator through hrnet_tf.evaluation: the official validation (flip test, decoding) against
the NumPy references, pycocotools on its results file, and bad images as named skips."""

import json

import numpy as np
import tensorflow as tf

from hrnet_tf.evaluation import evaluate
from hrnet_tf.pose.coco import detection_path, load_coco
from hrnet_tf.pose.codec import PoseCodec
from hrnet_tf.pose.evaluator import RESULTS_FILE, CocoKeypointEvaluator
from hrnet_tf.pose.keypoints import COCO
from hrnet_tf.pose.metrics import STAT_NAMES, coco_keypoint_eval
from hrnet_tf.pose.pipeline import BAD_IMAGE, PosePipeline
from hrnet_tf.testing import pose_reference as ref

from .helpers import tiny_pose_model, truncate


def _numpy(batch):
    return {k: v.numpy() for k, v in batch.items()}


def _run(evaluator, forward_of_batch):
    """The evaluation loop, with a forward function chosen per batch."""
    for batch in evaluator.dataset():
        batch = _numpy(batch)
        evaluator.update(batch, evaluator.predict(forward_of_batch(batch), batch))


def test_encoded_ground_truth_evaluates_to_ap_near_one(coco_mini, tmp_path):
    """Targets encoded from the ground truth, decoded back (quarter offset, inverse crop),
    rescored, OKS-NMSed and scored by COCOeval: the codec round trip keeps AP near 1."""
    codec = PoseCodec((192, 256), sigma=2.0, keypoints=COCO)
    pipeline = PosePipeline(codec)
    records = load_coco(coco_mini, "val2017", codec.aspect_ratio)
    oracle = np.stack([
        pipeline.crop_sample(tf.zeros([500, 700, 3]), records.joints[i], records.visible[i],
                             records.centers[i], records.scales[i], 0.0, False)[1]["heatmaps"]
        for i in range(records.size)])
    evaluator = CocoKeypointEvaluator(pipeline, records, batch_size=5, flip_test=False)
    _run(evaluator, lambda batch: lambda crops: tf.constant(oracle[batch["index"]]))
    stats = evaluator.result(tmp_path)
    assert stats["AP"] > 0.9
    assert stats == coco_keypoint_eval(records.ground_truth, str(tmp_path / RESULTS_FILE))


def test_flip_test_and_decoding_are_the_official_ones(coco_mini):
    codec = PoseCodec((96, 128), keypoints=COCO)
    records = load_coco(coco_mini, "val2017", codec.aspect_ratio)
    mixing = tf.constant(np.random.default_rng(1).normal(size=(3, 17)).astype(np.float32))

    def network(crops):  # a fixed linear "network": 17 maps mixed from the channels, stride 4
        return tf.einsum("nhwc,cj->nhwj", tf.nn.avg_pool2d(crops, 4, 4, "VALID"), mixing)

    evaluator = CocoKeypointEvaluator(PosePipeline(codec), records, batch_size=4)
    batch = _numpy(next(iter(evaluator.dataset())))
    ours = evaluator.predict(network, batch)
    crops = batch["image"]
    plain = network(crops).numpy().transpose(0, 3, 1, 2)
    mirrored = network(crops[:, :, ::-1].copy()).numpy().transpose(0, 3, 1, 2)
    heatmaps = ref.flip_test_average(plain, mirrored, COCO.flip_pairs, shift_heatmap=True)
    want, maxvals = ref.get_final_preds(heatmaps, batch["center"], batch["scale"])
    np.testing.assert_allclose(ours[..., :2], want, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(ours[..., 2], maxvals[..., 0], rtol=1e-5, atol=1e-6)


def test_detector_boxes_with_an_incomplete_image_give_a_named_skip_and_the_ten_stats(
        coco_copy, tmp_path):
    bad = coco_copy / "images" / "val2017" / "000000000002.jpg"
    truncate(bad)
    codec = PoseCodec((64, 64), keypoints=COCO)
    records = load_coco(coco_copy, "val2017", codec.aspect_ratio,
                        detection_file=detection_path(coco_copy), image_threshold=0.3)
    crops_of_bad = int(np.sum(records.image_ids == 2))
    assert crops_of_bad >= 1 and records.size > crops_of_bad
    evaluator = CocoKeypointEvaluator(PosePipeline(codec), records, batch_size=4)
    metrics, skips = evaluate(tiny_pose_model((64, 64)), evaluator, tmp_path, progress=False)
    assert list(metrics) == [*STAT_NAMES, "skipped"] and metrics["skipped"] == crops_of_bad
    assert skips.lines() == [f"COCO keypoints evaluation: skipped {crops_of_bad} sample(s): "
                             + "; ".join([f"{bad} ({BAD_IMAGE})"] * crops_of_bad)]
    results = json.loads((tmp_path / RESULTS_FILE).read_text())
    # the stats are pycocotools' on the written file, which has the other images only
    assert {k: metrics[k] for k in STAT_NAMES} == coco_keypoint_eval(records.ground_truth,
                                                                    results)
    assert sorted({r["image_id"] for r in results}) == [1, 3, 4, 5, 6]
    assert all(len(r["keypoints"]) == 51 for r in results)
    # OKS-NMS kept at most one result per box
    assert len(results) <= records.size - crops_of_bad
