"""Datasets and the tf.data pipeline on a generated Cityscapes layout, against cv2/numpy."""

import os

import cv2
import numpy as np
import pytest
import tensorflow as tf

from hrnet_tf.data.synthetic_segmentation import SYNTHETIC_ID_MAPPING, write_synthetic_cityscapes
from hrnet_tf.segmentation import labels as L
from hrnet_tf.segmentation import pipeline
from hrnet_tf.segmentation.datasets import DatasetError, dataset_info, list_pairs
from hrnet_tf.segmentation.evaluate import evaluate_pairs


@pytest.fixture
def city(tmp_path):
    write_synthetic_cityscapes(tmp_path, num_train=4, num_val=2, size=(48, 96))
    return tmp_path


def _label_path(root, split, n):
    return os.path.join(root, "gtFine", split, "synthcity",
                        f"synthcity_{n:06d}_000019_gtFine_labelIds.png")


def test_pairs_by_name_with_cityscapes_mapping(city):
    pairs, skipped = list_pairs("cityscapes", city, "train")
    assert len(pairs) == 4 and skipped == 0
    for image, label in pairs:
        stem = os.path.basename(image).replace("_leftImg8bit.png", "")
        assert os.path.basename(label) == f"{stem}_gtFine_labelIds.png"
    info = dataset_info("cityscapes")
    image, label = pipeline.load_pair(*pairs[0], info.label_lut)
    raw = cv2.imread(pairs[0][1], cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(label.numpy(), L.cityscapes_label_lut()[raw])
    rgb = cv2.imread(pairs[0][0])[:, :, ::-1]
    np.testing.assert_array_equal(image.numpy(), rgb)


def test_missing_directory_names_path_and_layout(tmp_path):
    with pytest.raises(DatasetError) as e:
        list_pairs("cityscapes", tmp_path / "nonexistent", "train")
    message = str(e.value)
    assert "nonexistent" in message and "leftImg8bit" in message and "gtFine" in message
    assert "\n" not in message


def test_image_without_label_is_one_line_or_counted_skip(city):
    missing = _label_path(city, "train", 2)
    os.remove(missing)
    with pytest.raises(DatasetError, match="000002_000019_leftImg8bit.png: no label") as e:
        list_pairs("cityscapes", city, "train")
    assert "synthcity_000002_000019_gtFine_labelIds.png" in str(e.value)
    pairs, skipped = list_pairs("cityscapes", city, "train", on_missing="skip")
    assert len(pairs) == 3 and skipped == 1


def test_bad_label_size_and_unknown_ids_name_the_file(city):
    info = dataset_info("cityscapes")
    pairs, _ = list_pairs("cityscapes", city, "train")
    small = _label_path(city, "train", 1)
    cv2.imwrite(small, np.full((10, 20), 7, np.uint8))
    unknown = _label_path(city, "train", 3)
    cv2.imwrite(unknown, np.full((48, 96), 77, np.uint8))
    with pytest.raises(tf.errors.InvalidArgumentError) as e:
        pipeline.load_pair(*pairs[1], info.label_lut)
    line = pipeline.bad_sample_message(e.value)
    assert line.startswith(small) and "label size 10x20 differs from image size 48x96" in line
    with pytest.raises(tf.errors.InvalidArgumentError) as e:
        pipeline.load_pair(*pairs[3], info.label_lut)
    assert "label id 77 is not in the label mapping" in pipeline.bad_sample_message(e.value)
    # Training stops on the first bad sample with that line ...
    with pytest.raises(tf.errors.InvalidArgumentError):
        for _ in pipeline.train_dataset(pairs, dataset_info("cityscapes", crop_size=(32, 64),
                                                           base_size=96), 1):
            pass
    # ... or, configured to skip, trains on the good ones and evaluation counts the skips.
    info_small = dataset_info("cityscapes", crop_size=(32, 64), base_size=96)
    batches = list(pipeline.train_dataset(pairs, info_small, 1, on_bad="skip"))
    assert len(batches) == 2


def test_scaled_size_and_random_scale_follow_the_official_rule():
    for h, w, long_size in [(1024, 2048, 1434), (473, 473, 237), (500, 333, 700), (31, 97, 50)]:
        if h > w:
            expected = (long_size, int(w * long_size / h + 0.5))
        else:
            expected = (int(h * long_size / w + 0.5), long_size)
        assert tuple(pipeline.scaled_size(h, w, long_size).numpy()) == expected
    sizes = {int(pipeline.random_long_size(2048, 16, tf.constant([s, 7], tf.int64)))
             for s in range(300)}
    official = {int(2048 * (0.5 + k / 10.0) + 0.5) for k in range(17)}
    assert sizes == official  # 0.5 .. 2.1, every step drawn
    assert min(sizes) == 1024 and max(sizes) == 4301


def test_resize_matches_cv2():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (37, 53, 3)).astype(np.uint8)
    label = rng.integers(0, 19, (37, 53)).astype(np.int32)
    for size in [(74, 106), (20, 29), (61, 40)]:
        ours_image, ours_label = pipeline.resize_pair(image, label, size)
        ref_label = cv2.resize(label.astype(np.uint8), size[::-1], interpolation=cv2.INTER_NEAREST)
        np.testing.assert_array_equal(ours_label.numpy(), ref_label)
        ref_image = cv2.resize(image, size[::-1], interpolation=cv2.INTER_LINEAR).astype(np.float32)
        assert np.abs(ours_image.numpy() - ref_image).max() <= 1.0


def test_augment_pads_with_ignore_crops_flips_and_normalizes():
    info = dataset_info("cityscapes", crop_size=(64, 128), base_size=64)  # always smaller
    image = np.full((32, 64, 3), 255, np.uint8)
    label = np.zeros((32, 64), np.int32)
    label[:, :8] = 5
    flips = 0
    for s in range(12):
        x, y = pipeline.augment(image, label, info, tf.constant([3, s], tf.int64))
        x, y = x.numpy(), y.numpy()
        assert x.shape == (64, 128, 3) and y.shape == (64, 128)
        # Long side 32..134 < crop width 128 unless scaled up: padding is ignore, image pad is 0.
        pad = y == 255
        if pad.any():
            np.testing.assert_allclose(x[pad], np.broadcast_to(
                -np.array(pipeline.MEAN) / np.array(pipeline.STD), x[pad].shape), atol=1e-5)
        content = ~pad
        np.testing.assert_allclose(x[content & (y == 0)][:, 0], (1 - 0.485) / 0.229, atol=1e-5)
        flips += int(y[0, -1] == 5 or (y[0, :].tolist().count(5) and y[0, 0] != 5))
    assert 0 < flips < 12  # both flipped and unflipped samples among 12 seeds


def test_lip_flip_swaps_left_and_right():
    image = np.zeros((2, 3, 3), np.float32)
    label = np.array([[14, 15, 0], [18, 19, 255]], np.int32)
    _, flipped = pipeline.flip_pair(image, label, L.LIP_FLIP_PAIRS)
    np.testing.assert_array_equal(flipped.numpy(), [[0, 14, 15], [255, 18, 19]])


def test_training_batches_are_reproducible_and_evaluation_runs(city, tmp_path):
    info = dataset_info("synthetic", num_classes=5, id_mapping=SYNTHETIC_ID_MAPPING,
                        crop_size=(32, 64), base_size=96)
    pairs, _ = list_pairs("synthetic", city, "train")
    a = [b for b in pipeline.train_dataset(pairs, info, 2, seed=5)]
    b = [b for b in pipeline.train_dataset(pairs, info, 2, seed=5)]
    assert len(a) == 2
    for (xa, ya), (xb, yb) in zip(a, b, strict=True):
        np.testing.assert_array_equal(xa.numpy(), xb.numpy())
        np.testing.assert_array_equal(ya.numpy(), yb.numpy())
    assert set(np.unique(a[0][1].numpy())) <= {0, 1, 2, 3, 4, 255}

    class Oracle:
        """Predicts sky everywhere: the report must equal an independent count."""

        def __call__(self, images, training=False):
            n, h, w = images.shape[0], images.shape[1] // 4, images.shape[2] // 4
            return tf.one_hot(tf.fill((n, h, w), 3), 5) * 10.0

    val, _ = list_pairs("synthetic", city, "val")
    report = evaluate_pairs(Oracle(), val, info, out_dir=str(tmp_path / "eval"),
                            save_predictions=True)
    labels = np.concatenate([info.label_lut[cv2.imread(p, cv2.IMREAD_UNCHANGED)].ravel()
                             for _, p in val])
    valid = labels != 255
    sky = (labels[valid] == 3).sum()
    assert report["per_class"]["3"] == pytest.approx(sky / valid.sum())
    assert report["per_class"]["0"] == 0.0 and report["num_images"] == 2
    assert os.path.isfile(tmp_path / "eval" / "metrics.json")
    assert len(os.listdir(tmp_path / "eval" / "predictions")) == 2


@pytest.mark.parametrize(
    "size,y0,x0",
    [((80, 150), 10, 30), ((30, 50), 0, 0), ((40, 200), 0, 100), ((64, 128), 0, 0),
     ((33, 61), 0, 0)],
)
def test_scaled_crop_equals_resize_pad_then_crop(size, y0, x0):
    # The official order (resize all, pad, crop) against our crop-only computation.
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (37, 71, 3)).astype(np.uint8)
    label = rng.integers(0, 19, (37, 71)).astype(np.int32)
    crop = (40, 64)
    full_image, full_label = pipeline.resize_pair(image, label, size)
    pad_h, pad_w = max(crop[0] - size[0], 0), max(crop[1] - size[1], 0)
    full_image = np.pad(full_image.numpy(), [[0, pad_h], [0, pad_w], [0, 0]])
    full_label = np.pad(full_label.numpy(), [[0, pad_h], [0, pad_w]], constant_values=255)
    expected_image = full_image[y0 : y0 + crop[0], x0 : x0 + crop[1]]
    expected_label = full_label[y0 : y0 + crop[0], x0 : x0 + crop[1]]
    ours_image, ours_label = pipeline.scaled_crop(image, label, tf.constant(size), y0, x0, crop,
                                                  255)
    np.testing.assert_array_equal(ours_label.numpy(), expected_label)
    assert np.abs(ours_image.numpy() - expected_image).max() <= 1.0  # rounding ties only
    assert np.mean(ours_image.numpy() != expected_image) < 0.01
