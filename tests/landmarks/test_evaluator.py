"""The evaluator: the heatmaps of the true points decode (officially) to the NME the NumPy
re-derivation gives; subsets, the mean-shape baseline and predictions.json; a test image that is
not a complete file is left out and named."""

import json
import os

import numpy as np
import tensorflow as tf

import hrnet_tf
from hrnet_tf.evaluation import evaluate
from hrnet_tf.landmarks.codec import LandmarkCodec
from hrnet_tf.landmarks.evaluator import LandmarkEvaluator
from hrnet_tf.landmarks.landmark_sets import LandmarkSet
from hrnet_tf.landmarks.pipeline import LandmarkPipeline
from hrnet_tf.landmarks.sources import read_official_csv
from hrnet_tf.landmarks.synthetic import IMAGE_DIR, SYNTHETIC_SET, TEST_CSV, TRAIN_CSV
from hrnet_tf.testing import landmarks_reference as ref

SET = LandmarkSet.from_config(SYNTHETIC_SET)


def _records(root, name):
    return read_official_csv(os.path.join(root, name), os.path.join(root, IMAGE_DIR), 10)


def test_true_heatmaps_give_the_official_nme(synthetic_faces, tmp_path):
    test, train = _records(synthetic_faces, TEST_CSV), _records(synthetic_faces, TRAIN_CSV)
    test.subsets["firsttwo"] = np.array([True, True, False, False])
    codec = LandmarkCodec(64, 16, 1.0)
    evaluator = LandmarkEvaluator(LandmarkPipeline(codec, SET), test, batch_size=3,
                                  train_records=train)
    scales = test.scales * 1.25
    truth = np.stack([codec.encode(tf.constant(test.points[i]),
                                   codec.heatmap_matrix(test.centers[i], scales[i])).numpy()
                      for i in range(test.size)])
    for batch in evaluator.dataset():
        batch = {k: v.numpy() for k, v in batch.items()}
        evaluator.update(batch, evaluator.predict(lambda x, b=batch: truth[b["index"]], batch))
    result = evaluator.result(str(tmp_path))
    decoded = ref.decode_preds(truth.transpose(0, 3, 1, 2).copy(), test.centers, scales, [16, 16])
    error = np.linalg.norm(decoded - test.points, axis=-1).mean(-1)
    nme = error / np.linalg.norm(test.points[:, 0] - test.points[:, 1], axis=-1)
    np.testing.assert_allclose(result["NME"], nme.mean(), rtol=1e-9)
    np.testing.assert_allclose(result["NME_firsttwo"], nme[:2].mean(), rtol=1e-9)
    assert result["faces"] == 4 and result["faces_firsttwo"] == 2
    # the mean training shape, relative to each face's centre in 200 x scale units
    unit = 200 * train.scales[:, None, None]
    shape = ((train.points - train.centers[:, None]) / unit).mean(0)
    placed = test.centers[:, None] + 200 * test.scales[:, None, None] * shape
    base = np.linalg.norm(placed - test.points, axis=-1).mean(-1) / np.linalg.norm(
        test.points[:, 0] - test.points[:, 1], axis=-1)
    np.testing.assert_allclose(result["NME_mean_shape"], base.mean(), rtol=1e-9)
    saved = json.loads((tmp_path / "predictions.json").read_text())
    assert [e["face"] for e in saved] == [0, 1, 2, 3]
    np.testing.assert_allclose(saved[2]["points"], decoded[2], atol=1e-3)
    assert saved[2]["image"] == str(test.image_paths[2])


def test_an_incomplete_test_image_is_left_out_and_named(synthetic_faces, tmp_path):
    import shutil

    root = shutil.copytree(synthetic_faces, tmp_path / "faces")
    test = _records(str(root), TEST_CSV)
    with open(test.image_paths[1], "r+b") as f:
        f.truncate(60)
    model = hrnet_tf.HRNetV2Landmarks("tiny", num_landmarks=10, input_shape=(64, 64, 3))
    evaluator = LandmarkEvaluator(LandmarkPipeline(LandmarkCodec(64, 16, 1.0), SET), test, 4)
    metrics, skips = evaluate(model, evaluator, progress=False)
    assert metrics["skipped"] == 1 and metrics["faces"] == 3
    assert test.image_paths[1] in skips.lines()[0]
