"""The segmentation evaluator in the one evaluation loop: mIoU against independent counts, LIP's
label-size comparison, prediction files, and bad samples (counted skips by name, or one line)."""

import os

import cv2
import numpy as np
import pytest

from hrnet_tf.errors import DataError
from hrnet_tf.evaluation import evaluate
from hrnet_tf.segmentation.evaluator import SegmentationEvaluator
from hrnet_tf.segmentation.sources import dataset_info, list_pairs
from hrnet_tf.segmentation.synthetic import SYNTHETIC_ID_MAPPING

from .helpers import (
    MEAN,
    STD,
    ConstantModel,
    image_path,
    label_path,
    reference_ious,
    truncate,
    write,
    write_lip,
)

SYNTHETIC = dataset_info("synthetic", num_classes=5, id_mapping=SYNTHETIC_ID_MAPPING,
                         crop_size=(32, 64))


def _labels(pairs, info):
    return [info.label_lut[cv2.imread(p, cv2.IMREAD_UNCHANGED)] for _, p in pairs]


def test_miou_of_a_constant_model_equals_an_independent_count(city, tmp_path):
    pairs, _ = list_pairs("synthetic", city, "val")
    evaluator = SegmentationEvaluator(pairs, SYNTHETIC, save_predictions=True)
    metrics, skips = evaluate(ConstantModel(3, 5), evaluator, str(tmp_path / "eval"),
                              progress=False)
    labels = np.stack(_labels(pairs, SYNTHETIC))
    want = reference_ious(labels, np.full_like(labels, 3), 5)
    np.testing.assert_allclose(list(metrics["per_class"].values()), want, rtol=1e-12)
    assert metrics["mIoU"] == pytest.approx(want.mean())
    assert want[3] > 0.1 and metrics["num_images"] == 2 and metrics["skipped"] == 0
    assert len(skips) == 0
    colors = sorted(os.listdir(tmp_path / "eval" / "predictions"))
    assert colors == [f"synthcity_00000{i}_000019_leftImg8bit_color.png" for i in range(2)]
    sky = cv2.imread(str(tmp_path / "eval" / "predictions" / colors[0]))[:, :, ::-1]
    assert (sky == SYNTHETIC.colors[3]).all()


def test_cityscapes_benchmark_files_hold_label_ids(city, tmp_path):
    pairs, _ = list_pairs("cityscapes", city, "val")
    evaluator = SegmentationEvaluator(pairs, dataset_info("cityscapes"), save_predictions=True)
    evaluate(ConstantModel(13, 19), evaluator, str(tmp_path), progress=False)
    ids = cv2.imread(str(tmp_path / "labelIds" / "synthcity_000001_000019_leftImg8bit.png"),
                     cv2.IMREAD_UNCHANGED)
    assert ids.shape == (48, 96) and (ids == 26).all()  # train id 13 (car) is label id 26


def test_lip_runs_at_the_crop_size_and_compares_at_the_label_size(tmp_path):
    write_lip(tmp_path, "val")
    pairs, _ = list_pairs("lip", tmp_path, "val")
    info = dataset_info("lip", crop_size=(33, 33))
    seen = []

    class Recorder(ConstantModel):
        def __call__(self, images, training=False):
            seen.append(tuple(images.shape[1:3]))
            return super().__call__(images, training)

    evaluator = SegmentationEvaluator(pairs, info, input_size=info.crop_size)
    metrics, _ = evaluate(Recorder(5, 20), evaluator, progress=False)
    labels = np.concatenate([lab.ravel() for lab in _labels(pairs, info)])
    assert set(seen) == {(33, 33)}
    assert metrics["num_pixels"] == labels.size
    assert metrics["per_class"]["upper-clothes"] == pytest.approx((labels == 5).mean())


def test_undecodable_images_are_counted_skips_named_in_the_report(city):
    pairs, _ = list_pairs("synthetic", city, "val")
    write(image_path(city, "val", 2), cv2.imread(image_path(city, "val", 0)))
    write(label_path(city, "val", 2), cv2.imread(label_path(city, "val", 0), cv2.IMREAD_UNCHANGED))
    pairs, _ = list_pairs("synthetic", city, "val")
    assert len(pairs) == 3
    truncate(pairs[0][0])
    # Complete on the outside (magic bytes, IEND) but corrupt inside: only the decoder finds out.
    with open(pairs[1][0], "r+b") as f:
        data = bytearray(f.read())
        data[100 : len(data) - 40] = bytes(len(data) - 140)
        f.seek(0)
        f.write(data)
    metrics, skips = evaluate(ConstantModel(3, 5), SegmentationEvaluator(pairs, SYNTHETIC),
                              progress=False)
    assert metrics["num_images"] == 1 and metrics["skipped"] == 2
    assert skips.skipped == [(pairs[0][0], "truncated or not an image"),
                             (pairs[1][0], "could not be decoded")]
    (line,) = skips.lines()
    assert line.startswith("segmentation eval: skipped 2 sample(s): ") and pairs[0][0] in line
    want = reference_ious(_labels(pairs[2:], SYNTHETIC)[0], np.full((48, 96), 3), 5)
    assert metrics["mIoU"] == pytest.approx(want.mean())


def test_a_bad_label_is_one_line_or_a_counted_skip(city):
    pairs, _ = list_pairs("synthetic", city, "val")
    bad = pairs[1][1]
    write(bad, np.full((48, 90), 7, np.uint8))
    with pytest.raises(DataError) as e:
        evaluate(ConstantModel(3, 5), SegmentationEvaluator(pairs, SYNTHETIC), progress=False)
    assert str(e.value) == (f"{bad}: label size 48x90 differs from image size 48x96 "
                            f"({pairs[1][0]})")
    metrics, skips = evaluate(ConstantModel(3, 5),
                              SegmentationEvaluator(pairs, SYNTHETIC, on_bad="skip"),
                              progress=False)
    assert metrics["num_images"] == 1 and skips.skipped[0][0] == pairs[1][0]
    assert skips.skipped[0][1].startswith(f"{bad}: label size 48x90")


def test_lip_images_are_resized_as_uint8_before_normalization(tmp_path):
    # Official lip.py: cv2.resize(image, crop_size, INTER_LINEAR) on the uint8 image, then
    # input_transform. The network sees normalized whole pixel levels, those of cv2's resize.
    write_lip(tmp_path, "val", sizes=((40, 30),))
    pairs, _ = list_pairs("lip", tmp_path, "val")
    info = dataset_info("lip", crop_size=(33, 33))
    seen = []
    model = ConstantModel(5, 20)

    def forward(images):  # eager, to look at what the network is given
        seen.append(np.asarray(images))
        return model(images)

    evaluator = SegmentationEvaluator(pairs, info, input_size=info.test_size)
    (batch,) = list(evaluator.dataset())
    assert evaluator.predict(forward, batch).shape == (1, 40, 30)
    (x,) = seen
    levels = (x[0] * STD + MEAN) * 255.0
    np.testing.assert_allclose(levels, np.round(levels), atol=2e-3)  # whole uint8 levels
    want = cv2.resize(cv2.imread(pairs[0][0])[:, :, ::-1], (33, 33),
                      interpolation=cv2.INTER_LINEAR).astype(np.float64)
    np.testing.assert_allclose(levels, want, atol=2e-3)  # cv2's own rounding
