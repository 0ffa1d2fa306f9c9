"""ImageNet data: file checks, folder listing, crop geometry, eval transform, TFRecords,
deterministic streams."""

import math
import os

import cv2
import numpy as np
import pytest
import tensorflow as tf

from hrnet_tf.data import imagenet
from hrnet_tf.data.images import IMAGENET_MEAN, IMAGENET_STD, image_file_problem
from hrnet_tf.data.synthetic_classification import write_image_folder, write_tfrecords
from hrnet_tf.training.config import DataError


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    write_image_folder(root, num_classes=3, train_per_class=6, val_per_class=2)
    return root


def _add_bad_files(split_dir):
    """A text file, a truncated JPEG and an empty .JPEG in the first class folder."""
    cls = sorted(os.listdir(split_dir))[0]
    folder = os.path.join(split_dir, cls)
    good = os.path.join(folder, sorted(os.listdir(folder))[0])
    data = open(good, "rb").read()
    bad = {
        "notes.txt": b"not an image",
        "truncated.JPEG": data[: len(data) // 2],
        "empty.JPEG": b"",
        "png_named_jpeg.JPEG": cv2.imencode(".png", np.zeros((8, 8, 3), np.uint8))[1].tobytes(),
    }
    for name, content in bad.items():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(content)
    return [os.path.join(folder, n) for n in ("empty.JPEG", "notes.txt", "truncated.JPEG")]


def test_file_checks(tmp_path):
    ok, jpeg = cv2.imencode(".jpg", np.full((20, 20, 3), 128, np.uint8))
    path = tmp_path / "a.JPEG"
    path.write_bytes(jpeg.tobytes())
    assert image_file_problem(str(path)) is None
    path.write_bytes(jpeg.tobytes()[:-40])
    assert "truncated" in image_file_problem(str(path))
    (tmp_path / "b.txt").write_text("x")
    assert "not an image" in image_file_problem(str(tmp_path / "b.txt"))


def test_listing_skips_and_counts_bad_files(tmp_path):
    write_image_folder(tmp_path, num_classes=2, train_per_class=3, val_per_class=1)
    bad = _add_bad_files(str(tmp_path / "train"))
    listing = imagenet.list_image_folder(tmp_path / "train")
    assert listing.class_names == ["n00000000", "n00000001"]
    # The PNG named .JPEG is a complete image and stays; the three others are skipped.
    assert len(listing.paths) == 7 and sorted(p for p, _ in listing.skipped) == sorted(bad)
    assert listing.labels == [0, 0, 0, 0, 1, 1, 1]
    report = listing.report()
    assert report.startswith(f"{tmp_path / 'train'}: skipped 3 of 10 files") and bad[0] in report


def test_missing_or_empty_folder_is_one_clear_line(tmp_path):
    with pytest.raises(DataError) as info:
        imagenet.list_image_folder(tmp_path / "nope" / "train")
    assert str(tmp_path / "nope" / "train") in str(info.value)
    assert "train/<class>" in str(info.value) and "\n" not in str(info.value)
    (tmp_path / "train").mkdir()
    with pytest.raises(DataError, match="no class folders"):
        imagenet.list_image_folder(tmp_path / "train")


def _torchvision_fallback(height, width, ratio):
    in_ratio = width / height
    if in_ratio < ratio[0]:
        w, h = width, int(round(width / ratio[0]))
    elif in_ratio > ratio[1]:
        h, w = height, int(round(height * ratio[1]))
    else:
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w


@pytest.mark.parametrize("height, width", [(100, 100), (60, 300), (300, 60)])
def test_random_resized_crop_window(height, width):
    ratio = (3 / 4, 4 / 3)
    areas = []
    for i in range(40):
        seed = tf.constant([5, i], tf.int64)
        top, left, h, w = (int(v) for v in imagenet.random_resized_crop_window(
            height, width, seed, (0.08, 1.0), ratio))
        assert 0 <= top and top + h <= height and 0 <= left and left + w <= width
        areas.append(h * w / (height * width))
        if (top, left, h, w) != _torchvision_fallback(height, width, ratio):
            # a sampled candidate: area and aspect ratio within range, up to side rounding
            assert 0.08 * 0.8 <= h * w / (height * width) <= 1.0
            assert ratio[0] * 0.8 <= w / h <= ratio[1] * 1.25
    assert len(set(areas)) > 10  # it does vary
    # An impossible area range always takes torchvision's fallback (a centre crop).
    got = imagenet.random_resized_crop_window(height, width, tf.constant([1, 2], tf.int64),
                                              (1.5, 2.0), ratio)
    assert tuple(int(v) for v in got) == _torchvision_fallback(height, width, ratio)


def test_eval_transform_is_resize_256_then_center_crop_224():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (256, 320, 3), dtype=np.uint8)  # shorter side already 256
    encoded = tf.io.encode_png(image)
    out = imagenet.eval_transform(encoded, (224, 224)).numpy()
    crop = image[16:240, 48:272].astype(np.float32) / 255.0  # round((256-224)/2), round(96/2)
    expected = (crop - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)
    np.testing.assert_allclose(out, expected, atol=1e-4)
    # torchvision Resize(256): shorter side 256, longer int(256 * long / short)
    from hrnet_tf.data.images import resize_shorter_side

    resized = resize_shorter_side(tf.zeros([300, 401, 3]), 256)
    assert resized.shape == (256, math.floor(256 * 401 / 300), 3)


def _batches(ds):
    return [(x.numpy(), y.numpy()) for x, y in ds]


def test_training_stream_depends_only_on_seed(folder):
    listing = imagenet.list_image_folder(folder / "train")

    def stream(seed):
        return _batches(imagenet.folder_train_dataset(
            listing.paths, listing.labels, batch_size=4, image_size=(24, 24), seed=seed))

    a, b, c = stream(11), stream(11), stream(12)
    assert len(a) == 18 // 4
    for (xa, ya), (xb, yb) in zip(a, b, strict=True):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    assert any(not np.array_equal(xa, xc) for (xa, _), (xc, _) in zip(a, c, strict=True))
    # skipping k batches continues the same stream (what resume relies on)
    tail = _batches(imagenet.folder_train_dataset(
        listing.paths, listing.labels, batch_size=4, image_size=(24, 24), seed=11).skip(2))
    np.testing.assert_array_equal(tail[0][0], a[2][0])


def test_tfrecords_with_a_bad_record(folder, tmp_path):
    split = tmp_path / "train"
    import shutil

    shutil.copytree(folder / "train", split)
    _add_bad_files(str(split))
    files = write_tfrecords(str(split), str(tmp_path / "rec" / "train-{:05d}-of-00002"),
                            label_offset=1)
    total, bad, first = imagenet.scan_tfrecords(files, label_offset=1)
    # 18 images + png-as-jpeg are fine; empty, text and truncated are not
    assert (total, bad) == (22, 3) and len(first) == 3
    ds = imagenet.tfrecord_train_dataset(files, batch_size=1, image_size=(16, 16), seed=3,
                                         label_offset=1, shuffle_buffer=64)
    labels = sorted(int(y[0]) for _, y in ds)
    assert len(labels) == 19 and set(labels) == {0, 1, 2}
    evaluated = imagenet.tfrecord_eval_dataset(files, 8, (16, 16), label_offset=1)
    assert sum(int(y.shape[0]) for _, y in evaluated) == 19
