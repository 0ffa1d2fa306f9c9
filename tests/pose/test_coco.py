"""COCO reading with the official skip rules on coco_mini (four real val2017 images), the detector-box
path, and every bad input as one line naming the file (and the annotation or detection)."""

import json

import numpy as np
import pytest

from hrnet_tf.errors import DataError
from hrnet_tf.pose.coco import annotation_path, detection_path, load_coco
from hrnet_tf.pose.keypoints import KeypointSet
from hrnet_tf.pose.sources import skip_note
from hrnet_tf.testing import pose_reference as ref


def test_gt_records_follow_official_skip_rules(coco_mini):
    records = load_coco(coco_mini, "val2017", aspect_ratio=0.75)
    data = json.loads((coco_mini / "annotations/person_keypoints_val2017.json").read_text())
    kept = [a for a in data["annotations"] if not a["iscrowd"] and max(a["keypoints"]) > 0]
    assert records.size == len(kept) == 12
    assert records.skipped["no_keypoints"] == 2
    assert records.ground_truth == records.source == annotation_path(coco_mini, "val2017")
    # rows: images by id, each image's annotations in file order (pycocotools imgToAnns)
    for row, ann in enumerate(sorted(kept, key=lambda a: a["image_id"])):
        assert records.image_ids[row] == ann["image_id"]
        image = next(i for i in data["images"] if i["id"] == ann["image_id"])
        x, y, w, h = ann["bbox"]
        x2 = min(image["width"] - 1, x + max(0, w - 1))
        y2 = min(image["height"] - 1, y + max(0, h - 1))
        center, scale = ref.xywh2cs(x, y, x2 - x, y2 - y, 0.75)
        np.testing.assert_allclose(records.centers[row], center, rtol=1e-5)
        np.testing.assert_allclose(records.scales[row], scale, rtol=1e-5)
        kp = np.array(ann["keypoints"], np.float32).reshape(17, 3)
        np.testing.assert_allclose(records.joints[row], kp[:, :2])
        np.testing.assert_allclose(records.visible[row], np.minimum(kp[:, 2], 1))


def test_detection_records(coco_mini):
    records = load_coco(coco_mini, "val2017", 0.75, detection_file=detection_path(coco_mini),
                        image_threshold=0.5)
    dets = json.loads(open(detection_path(coco_mini)).read())
    assert records.size == sum(d["score"] >= 0.5 for d in dets)
    assert records.skipped["below_threshold"] == sum(d["score"] < 0.5 for d in dets)
    assert np.all(records.visible == 1) and np.all(records.joints == 0)
    first = next(d for d in dets if d["score"] >= 0.5)
    center, scale = ref.xywh2cs(*first["bbox"], 0.75)
    np.testing.assert_allclose(records.centers[0], center, rtol=1e-5)
    np.testing.assert_allclose(records.scales[0], scale, rtol=1e-5)
    np.testing.assert_allclose(records.scores[0], first["score"], rtol=1e-6)


def _write_annotations(root, split, data):
    path = root / "annotations" / f"person_keypoints_{split}.json"
    path.write_text(json.dumps(data))
    return path


def _annotations(root, split):
    return json.loads((root / "annotations" / f"person_keypoints_{split}.json").read_text())


@pytest.mark.parametrize("split", ["train2017", "val2017"])
@pytest.mark.parametrize("detections", [False, True], ids=["gt_boxes", "detector_boxes"])
def test_a_keypoint_list_of_the_wrong_length_names_the_file_and_annotation(coco_copy, split,
                                                                           detections):
    data = _annotations(coco_copy, split)
    data["annotations"][2]["keypoints"] = data["annotations"][2]["keypoints"][:-3]
    path = _write_annotations(coco_copy, split, data)
    ann_id = data["annotations"][2]["id"]
    det_file = detection_path(coco_copy) if detections else None
    with pytest.raises(DataError) as error:
        load_coco(coco_copy, split, 0.75, detection_file=det_file)
    assert str(error.value) == (f"{path}: annotation id {ann_id} has keypoints 48 values, "
                                "expected 51 numbers (x, y, v for 17 joints)")


def test_a_custom_keypoint_set_needs_its_own_count(synthetic_coco):
    hand = KeypointSet.from_config({"name": "hand", "num_joints": 5, "sigmas": [0.05] * 5})
    with pytest.raises(DataError, match=r"annotation id 1 has keypoints 51 values, expected 15"):
        load_coco(synthetic_coco, "val2017", 0.75, keypoints=hand)


@pytest.mark.parametrize("entry", [{"image_id": 1, "category_id": 1, "score": 0.9},
                                   {"image_id": 1, "category_id": 1, "bbox": [1, 2, 3],
                                    "score": 0.9},
                                   [1, 2, 3, 4]])
def test_a_bad_detection_names_the_file_and_entry(coco_copy, entry):
    path = detection_path(coco_copy)
    dets = json.loads(open(path).read())
    dets.insert(1, entry)
    open(path, "w").write(json.dumps(dets))
    with pytest.raises(DataError) as error:
        load_coco(coco_copy, "val2017", 0.75, detection_file=path)
    assert str(error.value).startswith(f"{path}: detection #1 is not ")


def test_missing_image_and_malformed_json_stop_with_one_line(coco_copy):
    image = coco_copy / "images" / "val2017" / "000000000003.jpg"
    image.unlink()
    with pytest.raises(DataError, match=rf"^image file not found: {image}$"):
        load_coco(coco_copy, "val2017", 0.75)
    path = annotation_path(coco_copy, "val2017")
    text = open(path).read()
    open(path, "w").write(text[:500])
    with pytest.raises(DataError, match=r"person_keypoints_val2017\.json: malformed json"):
        load_coco(coco_copy, "val2017", 0.75)
    with pytest.raises(DataError, match=r"^file not found: .*person_keypoints_nosplit\.json$"):
        load_coco(coco_copy, "nosplit", 0.75)


def test_crowd_zero_area_and_unlabelled_are_counted_and_reported(coco_mini, tmp_path):
    data = json.loads((coco_mini / "annotations/person_keypoints_val2017.json").read_text())
    data["annotations"][0]["iscrowd"] = 1
    data["annotations"][1]["area"] = 0
    (tmp_path / "annotations").mkdir()
    path = _write_annotations(tmp_path, "val2017", data)
    records = load_coco(tmp_path, "val2017", 0.75, check_images=False)
    assert records.skipped == {"crowd": 1, "zero_area": 1, "no_keypoints": 2, "not_person": 0}
    assert records.size == 10
    assert skip_note(records, "val2017") == (
        f"val2017 ({path}): skipped 4 annotation(s): 1 crowd, 1 zero_area, 2 no_keypoints")
