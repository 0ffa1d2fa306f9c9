"""In-graph top-down pose inference against the NumPy codec and cv2 (the official formulas)."""

import cv2
import numpy as np
import tensorflow as tf

from hrnet_tf.export.pose_graph import boxes_to_centers_scales, crop_boxes, decode_heatmaps
from hrnet_tf.pose.codec import PoseCodec, affine_matrix, box_to_center_scale

BOXES = np.array(
    [[10, 20, 60, 100], [0, 0, 30, 100], [5.5, 7.25, 120, 40], [40, 30, 48, 64]], np.float32
)


def test_boxes_to_centers_scales_matches_official_xywh2cs():
    centers, scales = boxes_to_centers_scales(tf.constant(BOXES), 192 / 256)
    for box, center, scale in zip(BOXES, centers.numpy(), scales.numpy(), strict=True):
        want_center, want_scale = box_to_center_scale(box, 192 / 256)
        np.testing.assert_allclose(center, want_center, rtol=1e-6)
        np.testing.assert_allclose(scale, want_scale, rtol=1e-6)


def test_crops_match_cv2_warp_affine():
    rng = np.random.default_rng(0)
    # A smooth image: cv2 quantizes source coordinates to 1/32 pixel, which on smooth content moves
    # values by far less than one grey level.
    coarse = rng.uniform(0, 255, (12, 16, 3)).astype(np.float32)
    image = cv2.resize(coarse, (160, 120), interpolation=cv2.INTER_CUBIC)
    centers, scales = boxes_to_centers_scales(tf.constant(BOXES), 48 / 64)
    crops = crop_boxes(tf.constant(image), centers, scales, (64, 48)).numpy()
    assert crops.shape == (len(BOXES), 64, 48, 3)
    for crop, center, scale in zip(crops, centers.numpy(), scales.numpy(), strict=True):
        matrix = affine_matrix(center, scale, 0, (48, 64))
        want = cv2.warpAffine(image, matrix, (48, 64), flags=cv2.INTER_LINEAR)
        # Skip the one-pixel frame where cv2 and TF treat the image edge differently.
        diff = np.abs(crop - want)[1:-1, 1:-1]
        assert diff.mean() < 0.5, diff.mean()
        assert np.percentile(diff, 99) < 3.0


def test_decode_matches_official_get_final_preds():
    rng = np.random.default_rng(3)
    heatmaps = rng.normal(size=(4, 16, 12, 5)).astype(np.float32)
    heatmaps[0, :, :, 1] = -1.0  # maximum <= 0: coordinates zeroed, no offset
    heatmaps[1, 0, 5, 2] = 10.0  # maximum on the border row: no quarter offset
    heatmaps[2, 7, 1, 3] = 10.0  # x == 1: not strictly inside
    centers, scales = boxes_to_centers_scales(tf.constant(BOXES), 0.75)
    keypoints, scores = decode_heatmaps(tf.constant(heatmaps), centers, scales)
    codec = PoseCodec(image_size=(48, 64), heatmap_size=(12, 16))
    want = codec.decode(heatmaps, centers.numpy(), scales.numpy())
    np.testing.assert_allclose(keypoints.numpy(), want[..., :2], rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(scores.numpy(), want[..., 2], rtol=1e-6)
