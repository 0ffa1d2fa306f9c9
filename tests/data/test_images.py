"""Decoding and normalization against the decoders and formulas of the official code."""

import cv2
import numpy as np
import pytest
import tensorflow as tf

from hrnet_tf.data import images
from hrnet_tf.data.normalization import IMAGENET_MEAN, IMAGENET_STD, Normalization, preprocess_input


def test_jpegs_decode_exactly_as_cv2_imread(coco_mini):
    """The official loaders read with cv2 (libjpeg-turbo, accurate DCT): same pixels, every one."""
    files = sorted((coco_mini / "images" / "val2017").glob("*.jpg"))
    assert files
    for path in files:
        want = cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        got = images.read_image(str(path)).numpy()
        np.testing.assert_array_equal(got, want, err_msg=str(path))
        # the window decoder (classification crops) uses the same DCT
        crop = images.decode_image_crop(tf.io.read_file(str(path)), lambda s: (3, 5, 40, 60))
        np.testing.assert_array_equal(crop.numpy(), want[3:43, 5:65])


def test_png_and_bmp_decode_as_cv2(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, (17, 23, 3), dtype=np.uint8)
    for suffix in (".png", ".bmp"):
        path = str(tmp_path / f"a{suffix}")
        cv2.imwrite(path, rgb[..., ::-1])
        np.testing.assert_array_equal(images.read_image(path).numpy(), rgb)
    gray = str(tmp_path / "g.png")
    cv2.imwrite(gray, rgb[..., 0])
    np.testing.assert_array_equal(images.read_image(gray).numpy(), np.repeat(rgb[..., :1], 3, -1))


@pytest.mark.parametrize("order", ["RGB", "BGR"])
def test_normalization_is_the_torchvision_formula_on_every_path(order):
    rgb = np.random.default_rng(1).integers(0, 256, (2, 5, 7, 3), dtype=np.uint8)
    mean, std = np.array(IMAGENET_MEAN), np.array(IMAGENET_STD)
    norm = Normalization(mean[::-1] if order == "BGR" else mean,
                         std[::-1] if order == "BGR" else std, order)
    source = rgb[..., ::-1] if order == "BGR" else rgb
    want = (source / 255.0 - norm.mean) / norm.std
    np.testing.assert_allclose(images.normalize(rgb, norm).numpy(), want, atol=1e-5)
    np.testing.assert_allclose(np.asarray(preprocess_input(rgb, norm)), want, atol=1e-5)
    np.testing.assert_allclose(images.denormalize(want, norm).numpy(), rgb, atol=1e-3)


def test_read_image_numpy_names_the_bad_file(tmp_path):
    bad = tmp_path / "cut.jpg"
    good = cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))[1].tobytes()
    bad.write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError, match="cut.jpg: truncated JPEG"):
        images.read_image_numpy(str(bad))
    with pytest.raises(FileNotFoundError, match="nothere.png"):
        images.read_image_numpy(str(tmp_path / "nothere.png"))
