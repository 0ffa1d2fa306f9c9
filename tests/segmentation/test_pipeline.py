"""The tf.data pipelines against cv2/NumPy: decoding, label mapping, the official augmentation,
stateless randomness, and bad samples named by file."""


import cv2
import numpy as np
import pytest
import tensorflow as tf

from hrnet_tf.data.checks import sample_problem
from hrnet_tf.segmentation import labels as L
from hrnet_tf.segmentation import pipeline
from hrnet_tf.segmentation.sources import dataset_info, list_pairs
from hrnet_tf.segmentation.synthetic import SYNTHETIC_ID_MAPPING

from .helpers import MEAN, STD, label_path, truncate, write, write_lip


def _problem_of(pair, lut):
    with pytest.raises(tf.errors.InvalidArgumentError) as e:
        pipeline.load_pair(*pair, lut)
    return sample_problem(e.value)


def test_pairs_decode_as_cv2_and_labels_map_to_train_ids(city):
    pairs, _ = list_pairs("cityscapes", city, "train")
    image, label = pipeline.load_pair(*pairs[0], dataset_info("cityscapes").label_lut)
    np.testing.assert_array_equal(image.numpy(), cv2.imread(pairs[0][0])[:, :, ::-1])
    raw = cv2.imread(pairs[0][1], cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(label.numpy(), L.cityscapes_label_lut()[raw])


def test_jpeg_images_decode_with_the_accurate_dct(coco_mini, tmp_path):
    # A real COCO JPEG as a segmentation image: the pixels cv2.imread gives (the official loader).
    path = str(sorted((coco_mini / "images" / "val2017").glob("*.jpg"))[0])
    bgr = cv2.imread(path)
    label = str(tmp_path / "label.png")
    write(label, np.zeros(bgr.shape[:2], np.uint8))
    image, _ = pipeline.load_pair(path, label, L.identity_lut(3))
    np.testing.assert_array_equal(image.numpy(), bgr[:, :, ::-1])


def test_bad_samples_name_the_file(city, tmp_path):
    lut = dataset_info("cityscapes").label_lut
    pairs, _ = list_pairs("cityscapes", city, "train")
    small, unknown, rgb = (label_path(city, "train", n) for n in (1, 2, 3))
    write(small, np.full((10, 20), 7, np.uint8))
    write(unknown, np.full((48, 96), 77, np.uint8))
    write(rgb, np.full((48, 96, 3), 7, np.uint8))
    assert _problem_of(pairs[1], lut) == (
        f"{small}: label size 10x20 differs from image size 48x96 ({pairs[1][0]})")
    assert _problem_of(pairs[2], lut) == (
        f"{unknown}: label id 77 is not in the label mapping (4608 pixels)")
    assert _problem_of(pairs[3], lut) == (
        f"{rgb}: label has 3 channels; expected a single-channel id PNG")
    truncate(pairs[0][0])
    assert _problem_of(pairs[0], lut) == f"{pairs[0][0]}: truncated or not an image"
    # The check before a run that skips: the same problems, by file, without decoding images.
    good, bad = pipeline.check_pairs(pairs, lut)
    assert good == [] and [f for f, _ in bad] == [pairs[0][0], small, unknown, rgb]
    assert bad[1][1].startswith("label size 10x20 differs")


def test_training_stops_on_a_bad_label_or_skips_it(city):
    info = dataset_info("cityscapes", crop_size=(32, 64), base_size=96)
    pairs, _ = list_pairs("cityscapes", city, "train")
    bad = label_path(city, "train", 1)
    write(bad, np.full((48, 96), 77, np.uint8))
    with pytest.raises(tf.errors.InvalidArgumentError) as e:
        for _ in pipeline.train_dataset(pairs, info, 1, shuffle=False):
            pass
    assert sample_problem(e.value).startswith(f"{bad}: label id 77")
    batches = list(pipeline.train_dataset(pairs, info, 1, on_bad="skip"))
    assert len(batches) == 3


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


def test_augment_pads_with_ignore_crops_flips_and_normalizes():
    info = dataset_info("cityscapes", crop_size=(64, 128), base_size=64)  # mostly smaller
    image = np.full((32, 64, 3), 255, np.uint8)
    label = np.zeros((32, 64), np.int32)
    label[:, :8] = 5
    flipped, plain = 0, 0
    for s in range(12):
        x, y = (t.numpy() for t in pipeline.augment(image, label, info, tf.constant([3, s])))
        assert x.shape == (64, 128, 3) and y.shape == (64, 128)
        pad = y == 255
        # Padding: label ignore, image 0 before normalization (official pad value).
        np.testing.assert_allclose(x[pad], np.broadcast_to(-MEAN / STD, x[pad].shape), atol=1e-5)
        np.testing.assert_allclose(x[y == 0], np.broadcast_to((1 - MEAN) / STD, x[y == 0].shape),
                                   atol=1e-5)
        columns = np.flatnonzero((y == 5).any(0))
        content = np.flatnonzero((y != 255).any(0))
        if columns.size and content.size > columns.size:
            # The class-5 stripe is at the left edge of the content, or at its right when flipped.
            flipped += int(columns.max() == content.max())
            plain += int(columns.min() == content.min())
    assert flipped > 0 and plain > 0


def test_lip_flip_swaps_left_and_right():
    image = np.zeros((2, 3, 3), np.float32)
    label = np.array([[14, 15, 0], [18, 19, 255]], np.int32)
    _, flipped = pipeline.flip_pair(image, label, L.LIP_FLIP_PAIRS)
    np.testing.assert_array_equal(flipped.numpy(), [[0, 14, 15], [255, 18, 19]])


def test_training_stream_is_stateless_and_keyed_by_sample(city):
    info = dataset_info("synthetic", num_classes=5, id_mapping=SYNTHETIC_ID_MAPPING,
                        crop_size=(32, 64), base_size=96)
    pairs, _ = list_pairs("synthetic", city, "train")

    def epoch(seed, shuffle=True):
        ds = pipeline.train_dataset(pairs, info, 1, seed=seed, shuffle=shuffle)
        return [(x.numpy()[0], y.numpy()[0]) for x, y in ds]

    a, b = epoch(5), epoch(5)
    assert len(a) == 4
    for (xa, ya), (xb, yb) in zip(a, b, strict=True):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    assert set(np.unique(np.stack([y for _, y in a]))) <= {0, 1, 2, 3, 4, 255}
    # A sample's augmentation depends on (seed, its index), not on where the order puts it.
    order = pipeline.epoch_order(4, 5)
    in_order = epoch(5, shuffle=False)
    for position, sample in enumerate(order):
        np.testing.assert_array_equal(a[position][1], in_order[sample][1])
    assert any(not np.array_equal(x, y) for (x, _), (y, _) in zip(a, epoch(6), strict=True))


def test_lip_training_resizes_to_the_crop_first(tmp_path):
    write_lip(tmp_path, "train")
    pairs, _ = list_pairs("lip", tmp_path, "train")
    info = dataset_info("lip", crop_size=(33, 33), base_size=33)
    images, labels = next(iter(pipeline.train_dataset(pairs, info, 2)))
    assert images.shape == (2, 33, 33, 3) and labels.shape == (2, 33, 33)
