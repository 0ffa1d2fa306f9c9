"""COCO reading, crops/targets, results writer + COCOeval and the detector-box path on coco_mini
(four real val2017 images), and bad-input handling."""

import json

import cv2
import numpy as np
import pytest
import tensorflow as tf

from hrnet_tf.pose.coco import DatasetError, load_coco
from hrnet_tf.pose.codec import PoseCodec
from hrnet_tf.pose.evaluate import coco_keypoint_eval, oks_nms, select_results
from hrnet_tf.pose.keypoints import COCO
from hrnet_tf.pose.pipeline import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    Augmentation,
    PosePipeline,
    read_image,
)
from hrnet_tf.testing import pose_reference as ref

DETECTIONS = "person_detection_results/COCO_val2017_detections_AP_H_56_person.json"


def test_gt_records_follow_official_skip_rules(coco_mini):
    records = load_coco(coco_mini, "val2017", aspect_ratio=0.75)
    data = json.loads((coco_mini / "annotations/person_keypoints_val2017.json").read_text())
    kept = [a for a in data["annotations"] if not a["iscrowd"] and max(a["keypoints"]) > 0]
    assert records.size == len(kept) == 12
    assert records.skipped["no_keypoints"] == 2
    ann = kept[0]
    first = np.flatnonzero(records.image_ids == ann["image_id"])[0]
    image = next(i for i in data["images"] if i["id"] == ann["image_id"])
    x, y, w, h = ann["bbox"]
    x2 = min(image["width"] - 1, x + max(0, w - 1))
    y2 = min(image["height"] - 1, y + max(0, h - 1))
    center, scale = ref.xywh2cs(x, y, x2 - x, y2 - y, 0.75)
    np.testing.assert_allclose(records.centers[first], center, rtol=1e-5)
    np.testing.assert_allclose(records.scales[first], scale, rtol=1e-5)
    kp = np.array(ann["keypoints"], np.float32).reshape(17, 3)
    np.testing.assert_allclose(records.joints[first], kp[:, :2])
    np.testing.assert_allclose(records.visible[first], np.minimum(kp[:, 2], 1))


def test_detection_records(coco_mini):
    records = load_coco(coco_mini, "val2017", 0.75, detection_file=coco_mini / DETECTIONS,
                        image_threshold=0.5)
    dets = json.loads((coco_mini / DETECTIONS).read_text())
    assert records.size == sum(d["score"] >= 0.5 for d in dets)
    assert records.skipped["below_threshold"] == sum(d["score"] < 0.5 for d in dets)
    assert np.all(records.visible == 1) and np.all(records.joints == 0)


def _load_rgb(path, dtype=np.float32):
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION),
                        cv2.COLOR_BGR2RGB).astype(dtype)


@pytest.mark.parametrize("rotation,flip", [(0.0, False), (30.0, True), (-70.0, False)])
def test_crops_and_targets_match_official(coco_mini, rotation, flip):
    records = load_coco(coco_mini, "val2017", 0.75)
    codec = PoseCodec((192, 256), sigma=2.0, keypoints=COCO)
    pipeline = PosePipeline(codec)
    for i in (0, 3, 7):
        image = _load_rgb(records.image_paths[i], np.uint8)  # warped in uint8, as officially
        scale = records.scales[i] * 0.9
        # the reference reads with cv2 and warps with cv2.warpAffine; ours decodes in TF
        crop, heatmaps, weights = ref.crop_sample(
            image, records.joints[i].astype(np.float64), records.visible[i].copy(),
            records.centers[i], scale, rotation, flip, COCO.flip_pairs, (192, 256), (48, 64), 2.0)
        ours, targets = pipeline.crop_sample(
            read_image(str(records.image_paths[i])), records.joints[i], records.visible[i],
            records.centers[i], scale, rotation, flip)
        ours_pixels = ours.numpy() * np.array(IMAGENET_STD) * 255 + np.array(IMAGENET_MEAN) * 255
        # cv2 interpolates uint8 in fixed point (1/32 px, 2^-10 weights): within one grey level
        assert np.abs(ours_pixels - crop).max() < 1.01
        assert np.abs(ours_pixels - crop).mean() < 0.05, np.abs(ours_pixels - crop).mean()
        np.testing.assert_allclose(targets["target_weight"].numpy(), weights)
        np.testing.assert_allclose(targets["heatmaps"].numpy().transpose(2, 0, 1), heatmaps,
                                   atol=1e-5)


def test_decoded_jpeg_matches_cv2(coco_mini):
    records = load_coco(coco_mini, "val2017", 0.75)
    for path in sorted(set(records.image_paths)):
        ours = read_image(str(path)).numpy().astype(np.float32)
        np.testing.assert_array_equal(ours, _load_rgb(path))


def test_half_body_matches_official_including_randn_quirk():
    pipeline = PosePipeline(PoseCodec((192, 256), keypoints=COCO),
                            Augmentation(prob_half_body=1.0))
    rng = np.random.default_rng(3)
    for _ in range(60):
        joints = rng.uniform(0, 400, (17, 2)).astype(np.float32)
        visible = (rng.random(17) < rng.uniform(0.3, 1.0)).astype(np.float32)
        randn = float(rng.normal())
        ok, center, scale = pipeline.half_body(tf.constant(joints), tf.constant(visible),
                                               tf.constant(0.0), tf.constant(randn))
        ref_center, ref_scale = ref.half_body_transform(joints, visible, range(11), randn, 0.75)
        eligible = visible.sum() > 8
        assert bool(ok) == (eligible and ref_center is not None)
        if bool(ok):
            np.testing.assert_allclose(center.numpy(), ref_center, rtol=1e-5)
            np.testing.assert_allclose(scale.numpy(), ref_scale, rtol=1e-5)


def test_training_batches_have_the_right_shapes_and_are_reproducible(coco_mini):
    records = load_coco(coco_mini, "val2017", 0.75)
    pipeline = PosePipeline(PoseCodec((96, 128), sigma=1.0, keypoints=COCO))
    first = [b for b in pipeline.train_dataset(records, 4, seed=5)]
    second = [b for b in pipeline.train_dataset(records, 4, seed=5)]
    other = next(iter(pipeline.train_dataset(records, 4, seed=6)))
    assert len(first) == 3
    images, targets = first[0]
    assert images.shape == (4, 128, 96, 3)
    assert targets["heatmaps"].shape == (4, 32, 24, 17)
    assert targets["target_weight"].shape == (4, 17)
    np.testing.assert_array_equal(images.numpy(), second[0][0].numpy())
    assert not np.array_equal(images.numpy(), other[0].numpy())


def test_ground_truth_written_as_predictions_scores_ap_one(coco_mini, tmp_path):
    records = load_coco(coco_mini, "val2017", 0.75)
    keypoints = np.concatenate([records.joints, np.ones_like(records.visible)[..., None]], -1)
    results = select_results(keypoints, records.image_ids, records.scores, records.scales)
    assert len(results) == records.size  # OKS-NMS keeps distinct people
    stats = coco_keypoint_eval(records.annotation_file, results)
    assert stats["AP"] == pytest.approx(1.0)
    assert stats["AR"] == pytest.approx(1.0)
    # and a visibly wrong prediction set does not
    keypoints[..., :2] += 15.0
    worse = coco_keypoint_eval(records.annotation_file,
                               select_results(keypoints, records.image_ids, records.scores,
                                              records.scales))
    assert worse["AP"] < 0.9


def test_oks_nms_drops_duplicates_keeps_distinct():
    rng = np.random.default_rng(0)
    person = np.concatenate([rng.uniform(0, 100, (17, 2)), np.ones((17, 1))], 1)
    kpts = np.stack([person, person + [0.5, 0.5, 0], person + [300, 0, 0]])
    keep = oks_nms(kpts, np.array([0.9, 0.95, 0.5]), np.array([5000.0, 5000, 5000]), 0.9,
                   COCO.sigmas)
    assert keep == [1, 2]


def test_missing_image_and_malformed_json_stop_with_one_line(coco_mini, tmp_path):
    root = tmp_path / "coco"
    (root / "annotations").mkdir(parents=True)
    (root / "images" / "val2017").mkdir(parents=True)
    ann = (coco_mini / "annotations/person_keypoints_val2017.json").read_text()
    (root / "annotations/person_keypoints_val2017.json").write_text(ann)
    with pytest.raises(DatasetError, match=r"image file not found: .*000000000785\.jpg"):
        load_coco(root, "val2017", 0.75)
    (root / "annotations/person_keypoints_val2017.json").write_text(ann[:500])
    with pytest.raises(DatasetError, match=r"person_keypoints_val2017\.json: malformed json"):
        load_coco(root, "val2017", 0.75)


def test_crowd_zero_area_and_unlabelled_are_counted(coco_mini, tmp_path):
    data = json.loads((coco_mini / "annotations/person_keypoints_val2017.json").read_text())
    data["annotations"][0]["iscrowd"] = 1
    data["annotations"][1]["area"] = 0
    root = tmp_path / "coco"
    (root / "annotations").mkdir(parents=True)
    (root / "annotations/person_keypoints_val2017.json").write_text(json.dumps(data))
    records = load_coco(root, "val2017", 0.75, check_images=False)
    assert records.skipped == {"crowd": 1, "zero_area": 1, "no_keypoints": 2, "not_person": 0}
    assert records.size == 10
