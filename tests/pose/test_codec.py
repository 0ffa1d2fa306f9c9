"""Codec and affine helpers against the loop-by-loop official formulas (hrnet_tf.testing.pose_reference)."""

import cv2
import numpy as np
import pytest
import tensorflow as tf

from hrnet_tf.data import affine
from hrnet_tf.pose.codec import PoseCodec, affine_matrix, box_to_center_scale
from hrnet_tf.pose.keypoints import COCO
from hrnet_tf.testing import pose_reference as ref

RNG = np.random.default_rng(0)


def random_crops(n):
    for _ in range(n):
        center = RNG.uniform(20, 400, 2)
        scale = RNG.uniform(0.2, 2.0, 2)
        rot = float(RNG.uniform(-90, 90)) if RNG.random() < 0.7 else 0.0
        size = [(192, 256), (288, 384), (96, 128), (256, 256)][RNG.integers(4)]
        yield center, scale, rot, size


def test_box_to_center_scale_matches_official():
    for _ in range(50):
        box = RNG.uniform(0, 300, 4)
        for ratio in (0.75, 1.0):
            center, scale = box_to_center_scale(box, ratio)
            ref_c, ref_s = ref.xywh2cs(*box, ratio)
            np.testing.assert_allclose(center, ref_c, rtol=1e-6)
            np.testing.assert_allclose(scale, ref_s, rtol=1e-6)


@pytest.mark.parametrize("inverse", [False, True])
def test_affine_matrices_match_three_point_construction(inverse):
    for center, scale, rot, size in random_crops(40):
        expected = ref.get_affine_transform(center, scale, rot, size, inv=inverse)
        np.testing.assert_allclose(affine_matrix(center, scale, rot, size, inverse), expected,
                                   rtol=1e-4, atol=1e-3)
        tf_matrix = affine.similarity_matrix(center, scale, rot, size, inverse=inverse).numpy()
        np.testing.assert_allclose(tf_matrix, expected, rtol=1e-4, atol=1e-3)


def test_warp_affine_matches_cv2():
    image = RNG.uniform(0, 255, (120, 160, 3)).astype(np.float32)
    for center, scale, rot, _ in random_crops(10):
        scale = scale * 0.5
        matrix = ref.get_affine_transform(center * 0.3, scale, rot, (96, 128))
        expected = cv2.warpAffine(image, matrix, (96, 128), flags=cv2.INTER_LINEAR)
        ours = affine.warp_affine(image, matrix, (96, 128)).numpy()
        assert ours.shape == expected.shape
        # float images: cv2 interpolates exactly, borders blend to zero the same way
        assert np.abs(ours - expected).max() < 0.05


def test_warp_affine_of_uint8_rounds_like_cv2():
    # The official crop warps cv2.imread's uint8 image; cv2 rounds to the nearest grey level.
    image = cv2.resize(RNG.uniform(0, 255, (15, 20, 3)), (160, 120), interpolation=cv2.INTER_CUBIC)
    image = np.clip(image, 0, 255).astype(np.uint8)
    for center, scale, rot, _ in random_crops(10):
        matrix = ref.get_affine_transform(center * 0.3, scale * 0.5, rot, (96, 128))
        expected = cv2.warpAffine(image, matrix, (96, 128), flags=cv2.INTER_LINEAR).astype(np.float32)
        difference = affine.warp_affine(image, matrix, (96, 128)).numpy() - expected
        # cv2 interpolates in fixed point (1/32 px): a value near .5 may round the other way
        assert np.abs(difference).max() <= 1.0
        assert np.mean(difference != 0) < 0.05
        assert abs(difference.mean()) < 0.01  # no bias (truncating would give -0.5)


def test_flip_matrix_equals_flipping_pixels():
    image = RNG.uniform(0, 255, (50, 70, 3)).astype(np.float32)
    flipped = np.ascontiguousarray(image[:, ::-1])
    flipped_center = [70 - 35 - 1, 25]
    expected = cv2.warpAffine(flipped, affine_matrix(flipped_center, [0.3, 0.4], 20, (48, 64)),
                              (48, 64), flags=cv2.INTER_LINEAR)
    composed = affine.compose_affine(
        affine.similarity_matrix(flipped_center, [0.3, 0.4], 20, (48, 64)),
        affine.horizontal_flip_matrix(70))
    ours = affine.warp_affine(image, composed, (48, 64)).numpy()
    assert np.abs(ours - expected).max() < 0.05


@pytest.mark.parametrize("sigma,image_size", [(2.0, (192, 256)), (3.0, (288, 384)),
                                              (1.5, (256, 256)), (2.0, (96, 128))])
def test_encode_matches_generate_target(sigma, image_size):
    codec = PoseCodec(image_size, sigma=sigma, keypoints=COCO)
    w, h = image_size
    for _ in range(10):
        # include joints off the crop on every side and exactly at the window-edge cases
        joints = RNG.uniform([-0.3 * w, -0.3 * h], [1.3 * w, 1.3 * h], (17, 2)).astype(np.float32)
        joints[0] = [-4 * sigma * 4 - 2, h / 2]
        joints[1] = [w + 3 * sigma * 4, h / 2]
        vis = (RNG.random(17) > 0.2).astype(np.float32)
        target, weight = ref.generate_target(joints, vis, image_size, codec.heatmap_size, sigma)
        heatmaps, weights = codec.encode(tf.constant(joints), tf.constant(vis))
        np.testing.assert_allclose(weights.numpy(), weight)
        np.testing.assert_allclose(heatmaps.numpy().transpose(2, 0, 1), target, atol=1e-6)


def test_joint_weights_multiply_target_weight():
    codec = PoseCodec((192, 256), keypoints=COCO, use_joint_weights=True)
    joints = np.full((17, 2), 100.0, np.float32)
    _, weights = codec.encode(tf.constant(joints), tf.ones(17))
    np.testing.assert_allclose(weights.numpy(), COCO.joint_weights)


def test_decode_matches_get_final_preds():
    codec = PoseCodec((192, 256), keypoints=COCO)
    n, j, h, w = 6, 17, 64, 48
    heatmaps = RNG.normal(size=(n, j, h, w)).astype(np.float32)
    heatmaps[0, 0] = -1.0  # all-negative map: coordinates zeroed, like the original
    heatmaps[1, 2, :, :] = 0.0
    heatmaps[1, 2, 1, 1] = 5.0  # a border-adjacent maximum: no quarter offset (strict 1 < x)
    centers = RNG.uniform(50, 300, (n, 2))
    scales = RNG.uniform(0.3, 2.0, (n, 2))
    expected, maxvals = ref.get_final_preds(heatmaps, centers, scales)
    ours = codec.decode(heatmaps.transpose(0, 2, 3, 1), centers, scales)
    np.testing.assert_allclose(ours[..., :2], expected, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(ours[..., 2], maxvals[..., 0])


def test_flip_back_and_shift_match_official():
    codec = PoseCodec((192, 256), keypoints=COCO)
    out = RNG.normal(size=(2, 17, 8, 6)).astype(np.float32)
    out_flipped = RNG.normal(size=(2, 17, 8, 6)).astype(np.float32)
    back = ref.flip_back(out_flipped, COCO.flip_pairs)
    back[:, :, :, 1:] = back.copy()[:, :, :, 0:-1]
    expected = (out + back) * 0.5
    ours = codec.flip_average(out.transpose(0, 2, 3, 1), out_flipped.transpose(0, 2, 3, 1))
    np.testing.assert_allclose(ours.transpose(0, 3, 1, 2), expected)


def test_encode_decode_round_trip_lands_within_a_quarter_stride():
    codec = PoseCodec((192, 256), keypoints=COCO)
    center, scale = np.array([300.0, 200.0]), np.array([1.2, 1.6])
    crop = affine_matrix(center, scale, 0, codec.image_size)
    joints_img = RNG.uniform([220, 100], [380, 300], (17, 2))
    joints_crop = joints_img @ crop[:, :2].T + crop[:, 2]
    heatmaps, _ = codec.encode(tf.constant(joints_crop, tf.float32), tf.ones(17))
    decoded = codec.decode(heatmaps.numpy()[None], center[None], scale[None])[0]
    # integer-rounded centre (<= 0.5 heatmap px) -> image pixels: 0.5 * 4 px / zoom
    image_per_crop_px = scale[0] * 200 / codec.image_size[0]
    assert np.abs(decoded[:, :2] - joints_img).max() <= 0.5 * 4 * image_per_crop_px + 1e-3
