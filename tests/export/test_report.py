"""The accuracy report of an export, against figures worked out by hand."""

import numpy as np
import pytest

from hrnet_tf.export.report import accuracy_report, output_errors, summary_line


def one_hot_heatmaps(peaks, shape=(16, 12)):
    """[1, h, w, J] heatmaps, 1.0 at each (y, x) peak and 0 elsewhere (no quarter offset: both
    neighbours are equal)."""
    heatmaps = np.zeros((1, *shape, len(peaks)), np.float32)
    for j, (y, x) in enumerate(peaks):
        heatmaps[0, y, x, j] = 1.0
    return heatmaps


def test_pose_report_measures_keypoints_in_input_pixels():
    reference = one_hot_heatmaps([(5, 5), (8, 3)])
    candidate = one_hot_heatmaps([(5, 6), (8, 3)])  # the first joint one heatmap pixel to the right
    report = accuracy_report(reference, candidate, "pose", input_size=(64, 48))
    # 64 / 16 = stride 4: the moved joint is 4 input pixels off, the other exactly on
    assert report["keypoint_error_px"]["max"] == pytest.approx(4.0)
    assert report["keypoint_error_px"]["mean"] == pytest.approx(2.0)
    assert report["max_abs_error"] == 1.0 and report["relative_error"] == 1.0
    assert "keypoints mean 2.00px max 4.00px" in summary_line({"accuracy": report})


def test_label_agreement_counts_the_argmax_per_pixel():
    reference = np.zeros((1, 2, 2, 3), np.float32)
    reference[..., 1] = 1.0  # class 1 everywhere
    candidate = reference.copy()
    candidate[0, 0, 0, 2] = 2.0  # one pixel of four becomes class 2
    report = accuracy_report(reference, candidate, "segmentation")
    assert report["label_agreement"] == 0.75
    assert report["mean_abs_error"] == pytest.approx(2.0 / 12)


def test_dict_outputs_are_compared_level_by_level():
    want = {"P2": np.ones((1, 4, 4, 2)), "P3": np.full((1, 2, 2, 2), -3.0)}
    got = {"P2": np.ones((1, 4, 4, 2)), "P3": np.full((1, 2, 2, 2), -2.7)}
    errors = output_errors(want, got)
    assert errors["max_abs_error"] == pytest.approx(0.3)
    assert errors["relative_error"] == pytest.approx(0.1)
    with pytest.raises(ValueError, match=r"output shapes differ: reference \[\(1, 4, 4, 2\)"):
        output_errors(want, {"P2": np.ones((1, 4, 4, 2)), "P3": np.ones((1, 3, 3, 2))})
