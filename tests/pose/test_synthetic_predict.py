"""Synthetic COCO generator (valid for our loader and pycocotools) and the predict CLI."""

import json

import cv2
import numpy as np
import pytest

import hrnet_tf
from hrnet_tf.pose import predict
from hrnet_tf.pose.coco import load_coco
from hrnet_tf.pose.evaluate import coco_keypoint_eval, select_results
from hrnet_tf.pose.synthetic import JOINT_COLORS, make_synthetic_coco


@pytest.fixture(scope="module")
def synthetic_root(tmp_path_factory):
    return make_synthetic_coco(str(tmp_path_factory.mktemp("synth")), num_train=6, num_val=8,
                               image_size=(120, 100), seed=1)


def test_synthetic_dataset_reads_back_and_scores_ap_one(synthetic_root):
    records = load_coco(synthetic_root, "val2017", 0.75)
    assert records.size == 8
    assert records.visible.sum(axis=1).min() >= 10
    keypoints = np.concatenate([records.joints, np.ones_like(records.visible)[..., None]], -1)
    stats = coco_keypoint_eval(records.annotation_file, select_results(
        keypoints, records.image_ids, records.scores, records.scales))
    assert stats["AP"] == pytest.approx(1.0)
    dets = load_coco(synthetic_root, "val2017", 0.75,
                     detection_file=f"{synthetic_root}/person_detection_results/"
                                    "COCO_val2017_detections_AP_H_56_person.json")
    assert dets.size >= 8


def test_synthetic_keypoints_lie_on_their_joint_dots(synthetic_root):
    records = load_coco(synthetic_root, "train2017", 0.75)
    hits = []
    for i in range(records.size):
        image = cv2.imread(str(records.image_paths[i]))[:, :, ::-1].astype(int)
        for j in range(5, 17):
            x, y = np.round(records.joints[i, j]).astype(int)
            if records.visible[i, j] and 1 <= x < image.shape[1] - 1 and 1 <= y < image.shape[0] - 1:
                patch = image[y - 1:y + 2, x - 1:x + 2].reshape(-1, 3)
                # of all joint-dot colours, the nearest is this joint type's (left = right)
                distance = {k: np.abs(patch - np.array(c)).sum(axis=1).min()
                            for k, c in JOINT_COLORS.items()}
                hits.append(min(distance, key=distance.get) == j - (j - 5) % 2)
    # dots of 1-2 px radius in small JPEGs, sometimes overlapping: nearly all, not all
    assert len(hits) > 50 and np.mean(hits) > 0.9


def test_predict_cli_writes_png_and_json(synthetic_root, tmp_path, capsys):
    model = hrnet_tf.HRNetV1("tiny", num_outputs=17, input_shape=(64, 64, 3))
    weights = tmp_path / "model.keras"
    model.save(weights)
    image = f"{synthetic_root}/images/val2017/000000000001.jpg"
    out = tmp_path / "pose.png"
    assert predict.main([image, "--box", "10,5,60,80", "--weights", str(weights),
                         "--out", str(out)]) == 0
    people = json.loads(capsys.readouterr().out)
    assert len(people) == 1 and len(people[0]["keypoints"]) == 17
    assert all(-100 < x < 220 and -100 < y < 200 for x, y, _ in people[0]["keypoints"])
    drawn = cv2.imread(str(out))
    assert drawn.shape == (100, 120, 3)

    boxes = tmp_path / "boxes.json"
    boxes.write_text(json.dumps([{"bbox": [0, 0, 50, 50], "score": 0.7}, [20, 20, 40, 60]]))
    assert predict.main([image, "--boxes", str(boxes), "--weights", str(weights),
                         "--out", str(out), "--no-flip"]) == 0
    people = json.loads(capsys.readouterr().out)
    assert [p["score"] for p in people] == [0.7, 1.0]


def test_predict_cli_bad_input_is_one_line(tmp_path, capsys):
    assert predict.main([str(tmp_path / "missing.jpg")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: cannot read image: {tmp_path / 'missing.jpg'}"]
    image = tmp_path / "img.png"
    cv2.imwrite(str(image), np.zeros((20, 20, 3), np.uint8))
    assert predict.main([str(image), "--box", "1,2,3"]) == 2
    assert "--box '1,2,3': expected x,y,w,h" in capsys.readouterr().err


def test_keras_model_file_round_trip_keeps_outputs(tmp_path):
    model = hrnet_tf.HRNetV1("tiny", num_outputs=17, input_shape=(64, 64, 3))
    path = tmp_path / "m.keras"
    model.save(path)
    x = np.random.default_rng(0).normal(size=(1, 64, 64, 3)).astype(np.float32)
    loaded = predict.load_model(str(path), "tiny", (64, 64), 17)
    np.testing.assert_allclose(loaded(x).numpy(), model(x).numpy(), atol=1e-5)
