"""The classification transforms against torchvision's (re-derived in NumPy/cv2), and the
training stream's statelessness."""

import numpy as np
import pytest
import tensorflow as tf

from hrnet_tf.classification import pipeline
from hrnet_tf.classification.sources import list_image_folder
from hrnet_tf.data.images import read_image

from .helpers import image_folder
from .references import STD, official_eval_transform, read_rgb, torchvision_crop_fallback


@pytest.mark.parametrize("height, width", [(100, 100), (60, 300), (300, 60)])
def test_random_resized_crop_window(height, width):
    ratio = pipeline.CROP_RATIO
    areas = []
    for i in range(40):
        top, left, h, w = (int(v) for v in pipeline.random_resized_crop_window(
            height, width, tf.constant([5, i], tf.int64)))
        assert 0 <= top and top + h <= height and 0 <= left and left + w <= width
        areas.append(h * w / (height * width))
        if (top, left, h, w) != torchvision_crop_fallback(height, width, ratio):
            # a sampled candidate: area and aspect ratio within range, up to side rounding
            assert 0.08 * 0.8 <= h * w / (height * width) <= 1.0
            assert ratio[0] * 0.8 <= w / h <= ratio[1] * 1.25
    assert len(set(areas)) > 10  # it does vary
    # An impossible area range always takes torchvision's fallback (a centre crop).
    got = pipeline.random_resized_crop_window(height, width, tf.constant([1, 2], tf.int64),
                                              (1.5, 2.0), ratio)
    assert tuple(int(v) for v in got) == torchvision_crop_fallback(height, width, ratio)


@pytest.mark.parametrize("size", [224, 64])
def test_eval_transform_is_torchvision_resize_and_center_crop(coco_mini, size):
    """Resize(int(size / 0.875)) + CenterCrop(size) + Normalize of the official tools/train.py, on
    real JPEGs: equal to the PIL resampling (re-derived in NumPy) to a small fraction of a grey
    level (PIL itself rounds to whole grey levels)."""
    for path in sorted((coco_mini / "images" / "val2017").glob("*.jpg"))[:2]:
        got = pipeline.eval_image(read_image(str(path)), (size, size)).numpy()
        want = official_eval_transform(read_rgb(path), size)
        assert got.shape == want.shape == (size, size, 3)
        assert np.abs(got - want).max() * STD.max() * 255 < 0.02, path


def test_training_crop_decodes_the_window_with_the_accurate_dct(coco_mini):
    """The random crop of a JPEG, decoded alone, is exactly cv2.imread's pixels in that window
    (TensorFlow's default fast DCT is about one grey level off)."""
    path = sorted((coco_mini / "images" / "val2017").glob("*.jpg"))[0]
    rgb = read_rgb(path)
    encoded = tf.io.read_file(str(path))
    for i in range(3):
        seed = tf.constant([3, i], tf.int64)
        top, left, h, w = (int(v) for v in pipeline.random_resized_crop_window(*rgb.shape[:2], seed))
        crop = pipeline.random_crop(encoded, seed).numpy()
        np.testing.assert_array_equal(crop, rgb[top:top + h, left:left + w])


@pytest.fixture(scope="module")
def listing(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    image_folder(root, num_classes=3, train_per_class=6, size=(30, 34), max_size=(50, 60))
    return list_image_folder(root / "train")


def _samples(ds):
    return [(x.numpy(), y.numpy()) for x, y in ds]


def _stream(listing, seed, **kwargs):
    return _samples(pipeline.folder_train_dataset(listing, 4, (32, 32), seed, **kwargs))


def test_training_stream_depends_only_on_the_seed(listing):
    a = _stream(listing, 11)
    b = _stream(listing, 11, num_parallel_calls=1)  # parallelism does not matter
    c = _stream(listing, 12)
    assert len(a) == 18 // 4
    for (xa, ya), (xb, yb) in zip(a, b, strict=True):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    assert any(not np.array_equal(xa, xc) for (xa, _), (xc, _) in zip(a, c, strict=True))
    # skipping k batches continues the same stream (what resume relies on)
    tail = _samples(pipeline.folder_train_dataset(listing, 4, (32, 32), 11).skip(2))
    np.testing.assert_array_equal(tail[0][0], a[2][0])


def test_each_sample_is_keyed_by_its_index_not_its_position(listing):
    """Two input pipelines (shards) together see exactly the samples of one pipeline, each with the
    same crop and flip: augmentation follows (seed, sample index), wherever the sample lands."""
    def by_sample(batches):
        return sorted((int(y[0]), x[0].tobytes()) for x, y in batches)

    single = _samples(pipeline.folder_train_dataset(listing, 1, (32, 32), 5))
    sharded = [batch for index in (0, 1) for batch in _samples(
        pipeline.folder_train_dataset(listing, 1, (32, 32), 5, shard=(2, index)))]
    assert by_sample(single) == by_sample(sharded)
    orders = [pipeline.epoch_order(18, 5, (2, i)) for i in (0, 1)]
    assert sorted(np.concatenate(orders).tolist()) == list(range(18))
