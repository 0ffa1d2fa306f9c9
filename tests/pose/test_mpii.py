"""MPII reading (the official center/scale adjustments), its evaluator (PCKh on a gt_valid.mat the
test writes), and its bad inputs."""

import json

import numpy as np
import pytest
import tensorflow as tf

from hrnet_tf.errors import DataError
from hrnet_tf.pose.evaluator import MPII_PREDICTIONS_FILE, MpiiEvaluator
from hrnet_tf.pose.mpii import load_mpii, read_gt_mat
from hrnet_tf.pose.task import PoseConfig, PoseTask, pipeline_of
from hrnet_tf.training.config import load_config

scipy_io = pytest.importorskip("scipy.io")


def test_load_mpii_applies_official_adjustments(tmp_path):
    (tmp_path / "annot").mkdir()
    (tmp_path / "images").mkdir()
    joints = np.arange(32, dtype=float).reshape(16, 2) + 10
    entry = {"image": "a.jpg", "center": [100.0, 80.0], "scale": 2.0,
             "joints": joints.tolist(), "joints_vis": [1] * 15 + [0]}
    (tmp_path / "annot" / "valid.json").write_text(json.dumps([entry]))
    (tmp_path / "images" / "a.jpg").write_bytes(b"x")
    records = load_mpii(tmp_path, "valid")
    np.testing.assert_allclose(records.centers[0], [99.0, 80.0 + 15 * 2.0 - 1])
    np.testing.assert_allclose(records.scales[0], [2.5, 2.5])
    np.testing.assert_allclose(records.joints[0], joints - 1)
    assert records.visible[0].sum() == 15
    assert records.ground_truth == str(tmp_path / "annot" / "gt_valid.mat")
    (tmp_path / "images" / "a.jpg").unlink()
    with pytest.raises(DataError, match=r"^image file not found: .*a\.jpg$"):
        load_mpii(tmp_path, "valid")
    entry["joints"] = joints[:15].tolist()
    (tmp_path / "annot" / "valid.json").write_text(json.dumps([entry]))
    with pytest.raises(DataError, match=r"valid\.json: entry #0 lacks image/center/scale or has "
                                        r"joints that are not 16 x 2"):
        load_mpii(tmp_path, "valid", check_images=False)


def write_mpii(root, synthetic_coco, count=4):
    """An MPII-layout set from the generated images: 16 of the figures' joints, 1-based as MPII's
    annotation, and a gt_valid.mat with head boxes."""
    data = json.loads((synthetic_coco / "annotations/person_keypoints_val2017.json").read_text())
    (root / "annot").mkdir(parents=True)
    (root / "images").mkdir()
    entries, gt, missing, heads = [], [], [], []
    for image, ann in list(zip(data["images"], data["annotations"], strict=True))[:count]:
        (root / "images" / image["file_name"]).write_bytes(
            (synthetic_coco / "images" / "val2017" / image["file_name"]).read_bytes())
        kp = np.array(ann["keypoints"]).reshape(17, 3)[:16]
        x, y, w, h = ann["bbox"]
        scale = max(w, h) / 200
        entries.append({"image": image["file_name"], "center": [x + w / 2 + 1, y + h / 2 + 1],
                        "scale": scale, "joints": (kp[:, :2] + 1).tolist(),
                        "joints_vis": (kp[:, 2] > 0).astype(int).tolist()})
        gt.append(kp[:, :2] + 1)
        missing.append(kp[:, 2] == 0)
        heads.append([[x, y], [x + 30, y + 30]])  # PCKh@0.5: within 0.5 x 0.6 x 42 px = 12.7 px
    (root / "annot" / "valid.json").write_text(json.dumps(entries))
    (root / "annot" / "train.json").write_text(json.dumps(entries))
    scipy_io.savemat(root / "annot" / "gt_valid.mat", {
        "pos_gt_src": np.transpose(np.array(gt, float), [1, 2, 0]),
        "jnt_missing": np.transpose(np.array(missing, float), [1, 0]),
        "headboxes_src": np.transpose(np.array(heads, float), [1, 2, 0])})
    return root


def mpii_config(root):
    return load_config(PoseTask().config_file("mpii"), PoseConfig, [
        f"data.dir={root}", "data.image_size=[128,128]", "model.width=tiny"])


def test_encoded_ground_truth_evaluates_to_full_pckh(synthetic_coco, tmp_path):
    root = write_mpii(tmp_path / "mpii", synthetic_coco)
    config = mpii_config(root)
    task = PoseTask()
    task.validate(config)
    data = task.load_data(config)
    evaluator = task.build_evaluator(config, data)
    assert isinstance(evaluator, MpiiEvaluator) and evaluator.num_samples == 4
    pipeline = pipeline_of(config)
    val = data.val
    oracle = np.stack([
        pipeline.crop_sample(tf.zeros([96, 96, 3]), val.joints[i], val.visible[i],
                             val.centers[i], val.scales[i], 0.0, False)[1]["heatmaps"]
        for i in range(val.size)])
    evaluator.flip_test = False
    for batch in evaluator.dataset():
        batch = {k: v.numpy() for k, v in batch.items()}
        evaluator.update(batch, evaluator.predict(
            lambda crops, i=batch["index"]: tf.constant(oracle[i]), batch))
    pck = evaluator.result(tmp_path / "out")
    assert pck["Mean"] == pytest.approx(100.0)
    predictions = np.array(json.loads((tmp_path / "out" / MPII_PREDICTIONS_FILE).read_text()))
    gt = read_gt_mat(val.ground_truth)[0]
    visible = val.visible > 0
    assert np.abs(predictions[..., :2] + 1 - gt)[visible].max() < 6


def test_a_ground_truth_file_of_another_size_is_refused_before_training(synthetic_coco, tmp_path):
    root = write_mpii(tmp_path / "mpii", synthetic_coco)
    entries = json.loads((root / "annot" / "valid.json").read_text())
    (root / "annot" / "valid.json").write_text(json.dumps(entries[:3]))
    with pytest.raises(DataError, match=r"gt_valid\.mat: 4 people, but .*valid\.json lists 3"):
        PoseTask().load_data(mpii_config(root))
