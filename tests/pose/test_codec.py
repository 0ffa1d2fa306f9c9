"""The TF pose geometry (pose/codec.py, data/affine.py) against the loop-by-loop official formulas
(hrnet_tf.testing.pose_reference: cv2.getAffineTransform, cv2.warpAffine, generate_target,
get_final_preds, flip_back), on random inputs."""

import cv2
import numpy as np
import pytest
import tensorflow as tf

from hrnet_tf.data import affine
from hrnet_tf.pose import codec as pose_codec
from hrnet_tf.pose.codec import PoseCodec, box_to_center_scale
from hrnet_tf.pose.keypoints import COCO, MPII
from hrnet_tf.testing import pose_reference as ref

RNG = np.random.default_rng(0)


def random_crops(n):
    for _ in range(n):
        center = RNG.uniform(20, 400, 2)
        scale = RNG.uniform(0.2, 2.0, 2)
        rot = float(RNG.uniform(-90, 90)) if RNG.random() < 0.7 else 0.0
        size = [(192, 256), (288, 384), (96, 128), (256, 256)][RNG.integers(4)]
        yield center, scale, rot, size


def smooth_uint8_image(height, width, seed=0):
    """Low-frequency content: cv2 quantizes source coordinates to 1/32 px, which on smooth images
    moves values by far less than a grey level."""
    coarse = np.random.default_rng(seed).uniform(0, 255, (max(2, height // 8), max(2, width // 8), 3))
    smooth = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    return np.clip(smooth, 0, 255).astype(np.uint8)


def test_box_to_center_scale_matches_official_xywh2cs():
    boxes = RNG.uniform(0, 300, (50, 4))
    boxes[0, 2:] = [75.0, 100.0]  # exactly the aspect ratio: neither side changes
    for ratio in (0.75, 1.0):
        centers, scales = box_to_center_scale(tf.constant(boxes), ratio)
        for box, center, scale in zip(boxes, centers.numpy(), scales.numpy(), strict=True):
            want_center, want_scale = ref.xywh2cs(*box, ratio)
            np.testing.assert_allclose(center, want_center, rtol=1e-6)
            np.testing.assert_allclose(scale, want_scale, rtol=1e-6)


@pytest.mark.parametrize("inverse", [False, True])
def test_crop_matrices_match_three_point_construction(inverse):
    crops = list(random_crops(40))
    for center, scale, rot, size in crops:
        expected = ref.get_affine_transform(center, scale, rot, size, inv=inverse)
        ours = affine.similarity_matrix(center, scale, rot, size, inverse=inverse).numpy()
        np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-3)
    # batched: one call for many boxes gives the same matrices
    same_size = [c for c in crops if c[3] == crops[0][3]]
    batched = affine.similarity_matrix(
        np.stack([c[0] for c in same_size]), np.stack([c[1] for c in same_size]),
        np.array([c[2] for c in same_size]), crops[0][3], inverse=inverse).numpy()
    for (center, scale, rot, size), ours in zip(same_size, batched, strict=True):
        np.testing.assert_allclose(ours, ref.get_affine_transform(center, scale, rot, size, inverse),
                                   rtol=1e-4, atol=1e-3)


def test_warp_affine_matches_cv2():
    image = RNG.uniform(0, 255, (120, 160, 3)).astype(np.float32)
    for center, scale, rot, _ in random_crops(10):
        matrix = ref.get_affine_transform(center * 0.3, scale * 0.5, rot, (96, 128))
        expected = cv2.warpAffine(image, matrix, (96, 128), flags=cv2.INTER_LINEAR)
        ours = affine.warp_affine(image, matrix, (96, 128)).numpy()
        assert ours.shape == expected.shape
        # float images: cv2 interpolates exactly, borders blend to zero the same way
        assert np.abs(ours - expected).max() < 0.05


def test_warp_affine_of_uint8_rounds_like_cv2():
    # The official crop warps cv2.imread's uint8 image; cv2 rounds to the nearest grey level.
    image = smooth_uint8_image(120, 160)
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
    expected = cv2.warpAffine(flipped, ref.get_affine_transform(flipped_center, [0.3, 0.4], 20,
                                                                (48, 64)),
                              (48, 64), flags=cv2.INTER_LINEAR)
    composed = affine.compose_affine(
        affine.similarity_matrix(flipped_center, [0.3, 0.4], 20, (48, 64)),
        affine.horizontal_flip_matrix(70))
    ours = affine.warp_affine(image, composed, (48, 64)).numpy()
    assert np.abs(ours - expected).max() < 0.05


def test_box_crops_match_cv2_warp_affine_of_the_uint8_image():
    image = smooth_uint8_image(151, 117)
    boxes = np.array([[10, 20, 60, 100], [0, 0, 30, 100], [5.5, 7.25, 120, 40], [40, 30, 48, 64]],
                     np.float32)
    codec = PoseCodec((48, 64))
    centers, scales = codec.box_to_center_scale(boxes)
    crops = codec.crop_boxes(tf.constant(image), centers, scales).numpy()
    assert crops.shape == (len(boxes), 64, 48, 3)
    for crop, box in zip(crops, boxes, strict=True):
        center, scale = ref.xywh2cs(*box, 48 / 64)
        want = cv2.warpAffine(image, ref.get_affine_transform(center, scale, 0, (48, 64)), (48, 64),
                              flags=cv2.INTER_LINEAR).astype(np.float32)
        assert np.abs(crop - want).max() <= 1.0
        assert np.mean(crop != want) < 0.05


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
    heatmaps[2, 3, 0, 20] = 10.0  # on the border row
    heatmaps[3, 4, 30, 46] = 10.0  # x == W - 2: inside
    centers = RNG.uniform(50, 300, (n, 2))
    scales = RNG.uniform(0.3, 2.0, (n, 2))
    expected, maxvals = ref.get_final_preds(heatmaps, centers, scales)
    ours = codec.decode(heatmaps.transpose(0, 2, 3, 1), centers, scales).numpy()
    assert ours.shape == (n, j, 3)
    np.testing.assert_allclose(ours[..., :2], expected, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(ours[..., 2], maxvals[..., 0])


def test_decode_without_post_process_is_the_plain_argmax():
    heatmaps = np.zeros((1, 8, 8, 1), np.float32)
    heatmaps[0, 3, 4, 0], heatmaps[0, 3, 5, 0] = 1.0, 0.5
    coords, maxima = pose_codec.heatmap_coordinates(heatmaps, post_process=False)
    assert coords.numpy().tolist() == [[[4.0, 3.0]]] and maxima.numpy().tolist() == [[1.0]]
    assert pose_codec.heatmap_coordinates(heatmaps)[0].numpy().tolist() == [[[4.25, 3.0]]]


@pytest.mark.parametrize("keypoints", [COCO, MPII], ids=["coco", "mpii"])
@pytest.mark.parametrize("shift", [True, False])
def test_flip_test_matches_official_flip_back_and_shift(keypoints, shift):
    codec = PoseCodec((192, 256), keypoints=keypoints)
    j = keypoints.num_joints
    out = RNG.normal(size=(2, j, 8, 6)).astype(np.float32)
    out_flipped = RNG.normal(size=(2, j, 8, 6)).astype(np.float32)
    expected = ref.flip_test_average(out, out_flipped, keypoints.flip_pairs, shift)
    ours = codec.flip_average(out.transpose(0, 2, 3, 1), out_flipped.transpose(0, 2, 3, 1), shift)
    np.testing.assert_allclose(ours.numpy().transpose(0, 3, 1, 2), expected, rtol=1e-6)


def test_test_time_heatmaps_average_in_the_mirrored_crops():
    codec = PoseCodec((8, 8), keypoints=COCO)
    crops = RNG.normal(size=(2, 8, 8, 3)).astype(np.float32)
    mixing = tf.constant(RNG.normal(size=(3, 17)).astype(np.float32))
    seen = []

    def forward(x):  # a "network": 17 heatmaps mixed from the crop's channels, at stride 4
        seen.append(np.asarray(x))
        return tf.einsum("nhwc,cj->nhwj", x, mixing)[:, ::4, ::4]

    ours = codec.heatmaps(forward, tf.constant(crops)).numpy()
    np.testing.assert_array_equal(seen[1], crops[:, :, ::-1])  # the official np.flip(input, 3)
    plain, mirrored = (forward(tf.constant(x)).numpy().transpose(0, 3, 1, 2)
                       for x in (crops, crops[:, :, ::-1].copy()))
    expected = ref.flip_test_average(plain, mirrored, COCO.flip_pairs, True)
    np.testing.assert_allclose(ours.transpose(0, 3, 1, 2), expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="keypoint set"):
        PoseCodec((8, 8), keypoints=None).heatmaps(forward, tf.constant(crops))


def test_encode_decode_round_trip_lands_within_a_quarter_stride():
    codec = PoseCodec((192, 256), keypoints=COCO)
    center, scale = np.array([300.0, 200.0]), np.array([1.2, 1.6])
    crop = ref.get_affine_transform(center, scale, 0, codec.image_size)
    joints_img = RNG.uniform([220, 100], [380, 300], (17, 2))
    joints_crop = joints_img @ crop[:, :2].T + crop[:, 2]
    heatmaps, _ = codec.encode(tf.constant(joints_crop, tf.float32), tf.ones(17))
    decoded = codec.decode(heatmaps[None], center[None], scale[None]).numpy()[0]
    # integer-rounded centre (<= 0.5 heatmap px) -> image pixels: 0.5 * 4 px / zoom
    image_per_crop_px = scale[0] * 200 / codec.image_size[0]
    assert np.abs(decoded[:, :2] - joints_img).max() <= 0.5 * 4 * image_per_crop_px + 1e-3
