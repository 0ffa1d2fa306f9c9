"""The remaining official pose options against the official functions re-derived in NumPy
(hrnet_tf.testing.pose_reference): soft-OKS-NMS (``lib/nms/nms.py soft_oks_nms``), the OHKM loss
(``lib/core/loss.py JointsOHKMMSELoss``), ``DATASET.SELECT_DATA`` (``JointsDataset.select_data``),
and COCO test-dev (an image-info file without annotations: the results json for the server)."""

import json
import shutil

import numpy as np
import pytest
import tensorflow as tf

from hrnet_tf.errors import ConfigError
from hrnet_tf.pose.coco import detection_path, load_coco
from hrnet_tf.pose.codec import PoseCodec
from hrnet_tf.pose.evaluator import CocoKeypointEvaluator, server_results_file
from hrnet_tf.pose.keypoints import COCO
from hrnet_tf.pose.loss import JointsMSELoss, JointsOHKMMSELoss
from hrnet_tf.pose.metrics import oks_nms, select_results, soft_oks_nms
from hrnet_tf.pose.pipeline import PosePipeline
from hrnet_tf.pose.sources import PoseRecords, select_data
from hrnet_tf.pose.task import PoseConfig, PoseTask
from hrnet_tf.testing import pose_reference as ref
from hrnet_tf.training.config import load_config

RNG = np.random.default_rng(3)


def crowded_people(n):
    """``n`` people near each other: [n, 17, 3] keypoints, scores, areas."""
    base = RNG.uniform(0, 200, (17, 2))
    keypoints = np.concatenate([base + RNG.normal(0, RNG.uniform(1, 30), (n, 17, 2)),
                                RNG.uniform(0, 1, (n, 17, 1))], axis=2)
    return keypoints, RNG.uniform(0.05, 1, n), RNG.uniform(2000, 40000, n)


@pytest.mark.parametrize("n", [0, 1, 5, 30])
def test_soft_oks_nms_is_the_official(n):
    keypoints, scores, areas = crowded_people(n)
    for threshold in (0.9, 0.5):
        db = [{"keypoints": k, "score": s, "area": a}
              for k, s, a in zip(keypoints, scores, areas, strict=True)]
        want = ref.soft_oks_nms(db, threshold)
        assert soft_oks_nms(keypoints, scores, areas, threshold, COCO.sigmas) == want
    if n == 30:  # Gaussian rescoring never removes, it reorders: 20 picks, more than greedy's
        assert len(want) == 20 > len(oks_nms(keypoints, scores, areas, 0.9, COCO.sigmas))


def test_select_results_with_soft_nms_writes_the_picked_people_with_their_scores():
    keypoints, _, _ = crowded_people(25)
    scales = RNG.uniform(0.5, 1.0, (25, 2))
    box_scores = RNG.uniform(0.5, 1.0, 25)
    results = select_results(keypoints, np.zeros(25, int), box_scores, scales, soft_nms=True)
    assert len(results) == 20
    scores = [r["score"] for r in results]
    assert scores[0] == max(scores)  # the first pick is the best instance, score unchanged


@pytest.mark.parametrize("topk", [8, 3])
def test_ohkm_loss_is_the_officials(topk):
    output = RNG.normal(size=(4, 17, 8, 6)).astype(np.float32)
    target = RNG.uniform(size=(4, 17, 8, 6)).astype(np.float32)
    weight = (RNG.random((4, 17)) < 0.7).astype(np.float32)
    nhwc = {"heatmaps": tf.constant(target.transpose(0, 2, 3, 1)),
            "target_weight": tf.constant(weight)}
    outputs = tf.constant(output.transpose(0, 2, 3, 1))
    ours = JointsOHKMMSELoss(topk=topk)(nhwc, outputs)
    assert ours.shape == (4,)
    np.testing.assert_allclose(float(tf.reduce_mean(ours)),
                               ref.joints_ohkm_mse(output, target, weight, topk), rtol=1e-5)
    # all joints mined: the plain JointsMSELoss
    np.testing.assert_allclose(JointsOHKMMSELoss(topk=17)(nhwc, outputs).numpy(),
                               JointsMSELoss()(nhwc, outputs).numpy(), rtol=1e-5)


def test_select_data_is_the_officials():
    n = 200
    centers = RNG.uniform(100, 300, (n, 2))
    scales = RNG.uniform(0.3, 1.5, (n, 2))
    spread = RNG.uniform(0, 150, (n, 1, 1))
    joints = centers[:, None, :] + RNG.normal(0, 1, (n, 17, 2)) * spread
    visible = (RNG.random((n, 17)) < RNG.uniform(0, 1, (n, 1))).astype(np.float32)
    visible[:3] = 0  # no labelled joint: dropped
    records = PoseRecords(np.array([f"{i}.jpg" for i in range(n)]), np.arange(n), centers,
                          scales, joints, visible, np.ones(n))
    db = [{"joints_3d": joints[i], "joints_3d_vis": np.repeat(visible[i][:, None], 3, 1),
           "center": centers[i], "scale": scales[i], "index": i} for i in range(n)]
    want = [rec["index"] for rec in ref.select_data(db)]
    selected = select_data(records)
    assert list(selected.image_ids) == want
    assert 0 < len(want) < n - 3
    assert selected.skipped == {"select_data": n - len(want)}


def test_select_data_is_applied_to_training_crops_only(synthetic_coco):
    config = load_config(PoseTask().config_file("coco"), PoseConfig,
                         ["model.width=tiny", "data.image_size=[64,64]", f"data.dir={synthetic_coco}",
                          "eval.use_gt_bbox=true", "data.select_data=true"])
    plain = load_config(PoseTask().config_file("coco"), PoseConfig,
                        ["model.width=tiny", "data.image_size=[64,64]", f"data.dir={synthetic_coco}",
                         "eval.use_gt_bbox=true"])
    data, before = PoseTask().load_data(config), PoseTask().load_data(plain)
    assert data.train.size == select_data(before.train).size
    assert data.val.size == before.val.size


def _test_dev_layout(synthetic_coco, tmp_path):
    """The synthetic val split laid out as COCO test-dev: image info without annotations,
    images/test2017, the detector boxes (here: the ground-truth boxes with scores)."""
    root = tmp_path / "coco"
    (root / "annotations").mkdir(parents=True)
    shutil.copytree(synthetic_coco / "images" / "val2017", root / "images" / "test2017")
    val = json.loads((synthetic_coco / "annotations" / "person_keypoints_val2017.json").read_text())
    info = {k: v for k, v in val.items() if k != "annotations"}
    (root / "annotations" / "image_info_test-dev2017.json").write_text(json.dumps(info))
    detections = [{"image_id": a["image_id"], "category_id": 1, "bbox": a["bbox"], "score": 0.9}
                  for a in val["annotations"]]
    path = detection_path(str(root), "test-dev2017")
    (root / "person_detection_results").mkdir()
    with open(path, "w") as f:
        json.dump(detections, f)
    return root, info, detections


def test_test_dev_writes_the_results_json_for_the_server(synthetic_coco, tmp_path):
    root, info, detections = _test_dev_layout(synthetic_coco, tmp_path)
    assert detection_path(str(root), "test-dev2017").endswith(
        "COCO_test-dev2017_detections_AP_H_609_person.json")
    codec = PoseCodec((48, 64), keypoints=COCO)
    records = load_coco(str(root), "test-dev2017", codec.aspect_ratio,
                        detection_file=detection_path(str(root), "test-dev2017"))
    assert records.size == len(detections)
    assert all("/images/test2017/" in p for p in records.image_paths)
    evaluator = CocoKeypointEvaluator(PosePipeline(codec), records, batch_size=4, flip_test=False,
                                      split="test-dev2017")
    for batch in evaluator.dataset():
        batch = {k: v.numpy() for k, v in batch.items()}
        maps = tf.random.uniform([len(batch["index"]), 16, 12, 17], seed=1)
        evaluator.update(batch, evaluator.predict(lambda crops, m=maps: m, batch))
    result = evaluator.result(str(tmp_path))
    path = tmp_path / server_results_file("test-dev2017")
    assert result == {"results": result["results"], "results_file": str(path)}
    written = json.loads(path.read_text())
    assert len(written) == result["results"] > 0
    assert {r["image_id"] for r in written} <= {im["id"] for im in info["images"]}
    assert all(r["category_id"] == 1 and len(r["keypoints"]) == 51 for r in written)


def test_a_test_split_without_detector_boxes_is_one_line(synthetic_coco, tmp_path):
    root, _, _ = _test_dev_layout(synthetic_coco, tmp_path)
    from hrnet_tf.errors import DataError

    with pytest.raises(DataError, match="no keypoint annotations"):
        load_coco(str(root), "test-dev2017", 0.75)
    config = load_config(PoseTask().config_file("coco"), PoseConfig,
                         [f"data.dir={root}", "data.val_split=test-dev2017",
                          "eval.use_gt_bbox=true"])
    with pytest.raises(ConfigError, match="eval.use_gt_bbox"):
        PoseTask().validate(config)


def test_the_options_reach_the_task():
    config = load_config(PoseTask().config_file("synthetic"), PoseConfig,
                         ["train.use_ohkm=true", "train.ohkm_topk=5", "eval.soft_nms=true",
                          "eval.decoding=dark", "eval.blur_kernel=7", "data.encoding=unbiased",
                          "model.width=tiny", "data.image_size=[64,64]"])
    task = PoseTask()
    task.validate(config)
    criterion = task.build_criterion(config)
    assert isinstance(criterion, JointsOHKMMSELoss) and criterion.topk == 5
    from hrnet_tf.pose.task import codec_of

    codec = codec_of(config)
    assert (codec.encoding, codec.decoding, codec.blur_kernel) == ("unbiased", "dark", 7)
    labels = task.build_model(config).info.labels
    assert (labels["decoding"], labels["blur_kernel"]) == ("dark", 7)
    for bad in (["eval.blur_kernel=4"], ["train.use_ohkm=true", "train.ohkm_topk=18"]):
        with pytest.raises(ConfigError, match=bad[-1].split("=")[0]):
            task.validate(load_config(task.config_file("synthetic"), PoseConfig, bad))
