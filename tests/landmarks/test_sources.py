"""Each source parses a small file in its real format, written here: the official CSVs (with
AFLW's box_size), WFLW's list_98pt_rect_attr txt, 300W .pts, COFW .mat; a missing image is a
counted skip and a wrong number of points one line naming the file."""

import csv
import os

import numpy as np
import pytest

from hrnet_tf.data.images import write_png
from hrnet_tf.errors import DataError
from hrnet_tf.landmarks import sources
from hrnet_tf.testing import landmarks_reference as ref


def _image(path, size=(40, 50)):
    write_png(str(path), np.full((*size, 3), 90, np.uint8))


def _write_csv(path, rows, box_size=False):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["image_name", "scale", *(["box_size"] if box_size else []),
                         "center_w", "center_h", "x0", "y0"])
        writer.writerows(rows)


def test_official_csv_with_missing_image_and_box_size(tmp_path):
    _image(tmp_path / "images" / "a.png")
    pts = np.arange(6, dtype=float)
    _write_csv(tmp_path / "t.csv", [["a.png", 0.5, 20, 21, *pts], ["gone.png", 0.4, 1, 2, *pts]])
    records = sources.read_official_csv(str(tmp_path / "t.csv"), str(tmp_path / "images"), 3)
    assert records.size == 1 and records.skipped == {"missing image": 1}
    np.testing.assert_array_equal(records.points[0], pts.reshape(3, 2))
    np.testing.assert_array_equal(records.centers[0], [20, 21])
    assert records.scales[0] == 0.5 and np.isnan(records.box_sizes[0])
    assert "skipped 1 face(s) (1 missing image)" in sources.skip_note(records, "t.csv")
    _write_csv(tmp_path / "aflw.csv", [["a.png", 0.5, 123.0, 20, 21, *pts]], box_size=True)
    aflw = sources.read_official_csv(str(tmp_path / "aflw.csv"), str(tmp_path / "images"), 3,
                                     box_size=True)
    assert aflw.box_sizes[0] == 123.0 and aflw.centers[0].tolist() == [20, 21]


def test_official_csv_wrong_point_count_is_one_line(tmp_path):
    _write_csv(tmp_path / "t.csv", [["a.png", 0.5, 20, 21, 1, 2, 3]])
    with pytest.raises(DataError, match=r"t\.csv:2: 7 columns, expected 8"):
        sources.read_official_csv(str(tmp_path / "t.csv"), str(tmp_path), 2)


def test_subset_csvs_mark_the_test_faces(tmp_path):
    for name in ("a.png", "b.png"):
        _image(tmp_path / name)
    rows = [["a.png", 0.5, 20, 21, 1, 2], ["b.png", 0.5, 30, 31, 1, 2]]
    _write_csv(tmp_path / "test.csv", rows)
    _write_csv(tmp_path / "blur.csv", rows[1:])
    records = sources.read_official_csv(str(tmp_path / "test.csv"), str(tmp_path), 1)
    missing = sources.mark_subsets(records, str(tmp_path),
                                   {"blur": str(tmp_path / "blur.csv"),
                                    "makeup": str(tmp_path / "none.csv")}, 1)
    assert records.subsets["blur"].tolist() == [False, True] and missing == ["makeup"]


def test_wflw_txt_attributes_and_landmark_box(tmp_path):
    rng = np.random.default_rng(0)
    _image(tmp_path / "WFLW_images" / "0--Parade" / "x.jpg".replace(".jpg", ".png"))
    points = rng.uniform(10, 60, (98, 2))
    attrs = [1, 0, 0, 1, 0, 0]
    lines = [" ".join([*(f"{v:.4f}" for v in points.ravel()), "5", "6", "70", "80",
                       *map(str, attrs), "0--Parade/x.png"]),
             " ".join([*(f"{v:.4f}" for v in points.ravel()), "5", "6", "70", "80",
                       *map(str, attrs), "0--Parade/missing.png"])]
    (tmp_path / "list.txt").write_text("\n".join(lines) + "\n")
    records = sources.read_wflw_txt(str(tmp_path / "list.txt"), str(tmp_path / "WFLW_images"))
    assert records.size == 1 and records.skipped == {"missing image": 1}
    np.testing.assert_allclose(records.points[0], np.round(points, 4))
    center, scale = ref.cofw_center_scale(np.round(points, 4))
    np.testing.assert_allclose(records.centers[0], center)
    assert records.scales[0] == pytest.approx(scale)
    assert records.subsets["largepose"].tolist() == [True]
    assert records.subsets["makeup"].tolist() == [True]
    assert records.subsets["blur"].tolist() == [False]
    (tmp_path / "bad.txt").write_text("1 2 3 x.png\n")
    with pytest.raises(DataError, match=r"bad\.txt:1: 4 fields, expected 207"):
        sources.read_wflw_txt(str(tmp_path / "bad.txt"), str(tmp_path))


def _pts(path, points):
    body = "\n".join(f"{x:.3f} {y:.3f}" for x, y in points)
    path.write_text(f"version: 1\nn_points: {len(points)}\n{{\n{body}\n}}\n")


def test_300w_pts_are_one_based(tmp_path):
    rng = np.random.default_rng(1)
    points = rng.uniform(1, 40, (68, 2))
    _pts(tmp_path / "a.pts", points)
    _image(tmp_path / "a.png")
    _pts(tmp_path / "b.pts", points)  # no image beside it
    records = sources.read_300w(str(tmp_path))
    assert records.size == 1 and records.skipped == {"missing image": 1}
    np.testing.assert_allclose(records.points[0], np.round(points, 3) - 1)
    (tmp_path / "list.txt").write_text("a.png\n")
    assert sources.read_300w(str(tmp_path / "list.txt"), str(tmp_path)).size == 1
    _pts(tmp_path / "short.pts", points[:60])
    with pytest.raises(DataError, match=r"short\.pts: 60 points .*expected 68"):
        sources.read_pts(str(tmp_path / "short.pts"))


def test_cofw_mat_images_are_written_and_points_read(tmp_path):
    import scipy.io

    rng = np.random.default_rng(2)
    images = np.empty((2, 1), object)
    images[0, 0] = rng.integers(0, 255, (30, 40), dtype=np.uint8)  # grey
    images[1, 0] = rng.integers(0, 255, (30, 40, 3), dtype=np.uint8)
    phis = np.concatenate([rng.uniform(2, 28, (2, 58)), np.zeros((2, 29))], axis=1)
    scipy.io.savemat(str(tmp_path / "COFW_test_color.mat"), {"IsT": images, "phisT": phis})
    records = sources.read_cofw_mat(str(tmp_path / "COFW_test_color.mat"), train=False)
    assert records.size == 2
    for i in range(2):
        want = phis[i, :58].reshape(2, -1).T
        np.testing.assert_allclose(records.points[i], want)
        center, scale = ref.cofw_center_scale(want)
        np.testing.assert_allclose(records.centers[i], center)
        assert os.path.isfile(records.image_paths[i])
    with pytest.raises(DataError, match=r"no 'IsTr'"):
        sources.read_cofw_mat(str(tmp_path / "COFW_test_color.mat"), train=True)
    scipy.io.savemat(str(tmp_path / "bad.mat"), {"IsT": images, "phisT": phis[:, :40]})
    with pytest.raises(DataError, match=r"bad\.mat: phisT has shape \(2, 40\)"):
        sources.read_cofw_mat(str(tmp_path / "bad.mat"), train=False)


def test_cofw_mat_v73_hdf5_as_matlab_stores_it(tmp_path):
    """The released COFW_*_color.mat are Matlab v7.3 (HDF5): column-major arrays (h5py sees them
    transposed) and a cell array of images as object references."""
    import h5py

    rng = np.random.default_rng(3)
    images = [rng.integers(0, 255, (30, 40, 3), dtype=np.uint8),
              rng.integers(0, 255, (20, 25), dtype=np.uint8)]
    phis = np.concatenate([rng.uniform(2, 18, (2, 58)), np.zeros((2, 29))], axis=1)
    path = str(tmp_path / "COFW_train_color.mat")
    with h5py.File(path, "w") as f:
        refs = []
        for i, image in enumerate(images):
            refs.append(f.create_dataset(f"#refs#/{i}", data=image.T).ref)
        f.create_dataset("IsTr", data=np.array(refs, dtype=h5py.ref_dtype).reshape(1, -1))
        f.create_dataset("phisTr", data=phis.T)
    records = sources.read_cofw_mat(path, train=True)
    assert records.size == 2
    np.testing.assert_allclose(records.points[1], phis[1, :58].reshape(2, -1).T)
    from hrnet_tf.data.images import read_image_numpy

    np.testing.assert_array_equal(read_image_numpy(records.image_paths[0]), images[0])
    assert read_image_numpy(records.image_paths[1]).shape == (20, 25, 3)
