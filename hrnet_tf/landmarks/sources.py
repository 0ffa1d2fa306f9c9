"""Face-landmark datasets on disk: the face table every format is read into, and the readers.

One row per face: the image file, the face centre and scale (box size / 200, BEFORE the official
``x 1.25``), the landmarks [L, 2] in 0-based image pixels, the box size (AFLW's NME normalizer; NaN
elsewhere) and subset flags (WFLW attributes, 300W common/challenge, AFLW frontal).

Formats (HRNet-Facial-Landmark-Detection ``lib/datasets/*.py``, and the datasets' raw releases):

* ``csv``: the official processed CSVs (``data/<set>/face_landmarks_<set>_<split>.csv``): a header
  row, then ``image_name, scale, center_w, center_h, x0, y0, x1, y1, ...``; AFLW's have
  ``box_size`` after ``scale`` (``aflw.py __getitem__``). Image names are relative to the image
  folder (the official ``DATASET.ROOT``).
* ``wflw_txt``: WFLW's ``list_98pt_rect_attr_{train,test}.txt``: 196 floats (98 x, y pairs), the
  4-int face rectangle, 6 attribute flags (pose, expression, illumination, make-up, occlusion,
  blur) and the image path under ``WFLW_images/``.
* ``300w_pts``: 300W's ``.pts`` files (``version: 1``, ``n_points: 68``, ``{``, 68 lines ``x y``,
  ``}``), 1-based (Matlab) pixels, the image beside each with the same stem; listed by a text
  file of image paths (one per line) or every ``.pts`` under a folder.
* ``cofw_mat``: COFW's ``COFW_{train,test}_color.mat`` (``IsTr``/``phisTr``, ``IsT``/``phisT``;
  each row of ``phis`` has 29 x, 29 y and 29 occlusion flags, ``cofw.py``); the images are
  arrays inside the file: they are written once as PNGs beside it (``<file stem>_images/``).
  Matlab v7.3 files (HDF5) are read with h5py, older ones with scipy.

For the raw formats the centre and scale come from the landmark box as the official COFW loader
computes them: centre ``((floor(xmin) + ceil(xmax)) / 2, (floor(ymin) + ceil(ymax)) / 2)``, scale
``max(ceil(xmax) - floor(xmin), ceil(ymax) - floor(ymin)) / 200``. AFLW has no raw reader (its
release is an SQLite database): use the official CSVs.

A face whose image file is missing is skipped and counted (``records.skipped``, reported by
:func:`skip_note`); a row with the wrong number of values is a :class:`DataError` naming the file
and line.

    >>> records = LandmarkRecords.empty(98)
    >>> records.size, records.points.shape
    (0, (0, 98, 2))
"""

import csv
import glob
import math
import os
from dataclasses import dataclass, field

import numpy as np

from hrnet_tf.errors import DataError

FORMATS = ("csv", "wflw_txt", "300w_pts", "cofw_mat")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".JPG", ".PNG", ".JPEG")


@dataclass
class LandmarkRecords:
    """Faces: ``points`` [N, L, 2] 0-based image pixels, ``centers`` [N, 2], ``scales`` [N] (box
    size / 200, unpadded), ``box_sizes`` [N] (NaN where the format has none), ``subsets`` name ->
    bool [N]; ``skipped`` counts faces left out while listing (reason -> count)."""

    image_paths: np.ndarray
    centers: np.ndarray
    scales: np.ndarray
    points: np.ndarray
    box_sizes: np.ndarray
    subsets: dict = field(default_factory=dict)
    skipped: dict = field(default_factory=dict)
    source: str = ""

    @property
    def size(self):
        return len(self.image_paths)

    @property
    def num_points(self):
        return int(self.points.shape[1])

    @classmethod
    def empty(cls, num_points, **kwargs):
        return cls(np.zeros(0, str), np.zeros((0, 2)), np.zeros(0),
                   np.zeros((0, num_points, 2)), np.zeros(0), **kwargs)

    @classmethod
    def from_rows(cls, rows, num_points, subsets=None, skipped=None, source=""):
        """``rows``: (image path, center, scale, points, box size) tuples."""
        if not rows:
            return cls.empty(num_points, subsets={k: np.zeros(0, bool) for k in subsets or {}},
                             skipped=skipped or {}, source=source)
        paths, centers, scales, points, boxes = zip(*rows, strict=True)
        return cls(np.array(paths), np.array(centers, np.float64), np.array(scales, np.float64),
                   np.array(points, np.float64).reshape(len(rows), num_points, 2),
                   np.array(boxes, np.float64),
                   {k: np.asarray(v, bool) for k, v in (subsets or {}).items()},
                   dict(skipped or {}), source)

    def subset(self, index):
        """The rows ``index`` (a slice, bool mask or index array) as new records."""
        return LandmarkRecords(self.image_paths[index], self.centers[index], self.scales[index],
                               self.points[index], self.box_sizes[index],
                               {k: v[index] for k, v in self.subsets.items()},
                               dict(self.skipped), self.source)

    def as_dict(self):
        return {"image_path": self.image_paths, "center": self.centers, "scale": self.scales,
                "points": self.points}


def skip_note(records, what):
    """One line naming what was skipped while listing ``what``, or None."""
    if not records.skipped:
        return None
    parts = ", ".join(f"{n} {why}" for why, n in sorted(records.skipped.items()))
    return f"{what}: skipped {sum(records.skipped.values())} face(s) ({parts})"


def landmark_box_center_scale(points):
    """(centre [2], scale) of the landmark box, as ``cofw.py __getitem__`` computes them."""
    points = np.asarray(points, np.float64)
    xmin, ymin = points.min(axis=0)
    xmax, ymax = points.max(axis=0)
    center = [(math.floor(xmin) + math.ceil(xmax)) / 2.0, (math.floor(ymin) + math.ceil(ymax)) / 2.0]
    scale = max(math.ceil(xmax) - math.floor(xmin), math.ceil(ymax) - math.floor(ymin)) / 200.0
    return center, scale


def _floats(values, path, line):
    try:
        return [float(v) for v in values]
    except ValueError as e:
        raise DataError(f"{path}:{line}: {e}") from None


def _check_file(path, what="annotation file"):
    if not os.path.isfile(path):
        raise DataError(f"{path}: {what} not found")


class _Collector:
    """Rows with their image files checked: a missing image is counted, not fatal."""

    def __init__(self):
        self.rows, self.kept, self.skipped = [], [], {}

    def add(self, image_path, center, scale, points, box_size=float("nan")):
        if not os.path.isfile(image_path):
            self.skipped["missing image"] = self.skipped.get("missing image", 0) + 1
            self.kept.append(False)
            return
        self.rows.append((image_path, center, scale, points, box_size))
        self.kept.append(True)

    def flags(self, values):
        return np.asarray(values, bool)[np.asarray(self.kept, bool)]


# -- official CSVs -------------------------------------------------------------------------------
def read_official_csv(csv_path, image_dir, num_points, box_size=False):
    """The official processed CSV ``csv_path`` (images under ``image_dir``); ``box_size`` for
    AFLW's extra column. -> :class:`LandmarkRecords`."""
    _check_file(csv_path)
    head = 5 if box_size else 4
    width = head + 2 * num_points
    out = _Collector()
    with open(csv_path, newline="") as f:
        for line, row in enumerate(csv.reader(f), start=1):
            if line == 1 or not row:  # the header (pandas.read_csv's)
                continue
            if len(row) != width:
                raise DataError(
                    f"{csv_path}:{line}: {len(row)} columns, expected {width} (image_name, scale, "
                    f"{'box_size, ' if box_size else ''}center_w, center_h and {num_points} x, y "
                    "pairs)")
            values = _floats(row[1:], csv_path, line)
            scale = values[0]
            box = values[1] if box_size else float("nan")
            center = values[head - 3: head - 1]
            out.add(os.path.join(image_dir, row[0].strip()), center, scale,
                    values[head - 1:], box)
    return LandmarkRecords.from_rows(out.rows, num_points, skipped=out.skipped, source=csv_path)


def csv_keys(csv_path, num_points, box_size=False):
    """The (image name, centre) keys of a subset CSV (the official test-subset files)."""
    _check_file(csv_path)
    keys = set()
    head = 5 if box_size else 4
    with open(csv_path, newline="") as f:
        for line, row in enumerate(csv.reader(f), start=1):
            if line == 1 or not row:
                continue
            if len(row) != head + 2 * num_points:
                raise DataError(f"{csv_path}:{line}: {len(row)} columns, expected "
                                f"{head + 2 * num_points}")
            center = _floats(row[head - 2: head], csv_path, line)
            keys.add((row[0].strip(), round(center[0], 2), round(center[1], 2)))
    return keys


def mark_subsets(records, image_dir, subset_files, num_points, box_size=False):
    """Sets ``records.subsets[name]`` for every ``name -> CSV`` of ``subset_files``: the faces that
    CSV lists (matched by image name and centre). Returns the names whose CSV does not exist (left
    out, for the run's notes)."""
    prefix = os.path.join(image_dir, "")
    names = [str(p)[len(prefix):] if str(p).startswith(prefix) else str(p)
             for p in records.image_paths]
    keys = [(n, round(c[0], 2), round(c[1], 2)) for n, c in zip(names, records.centers,
                                                                 strict=True)]
    missing = []
    for name, path in subset_files.items():
        if not os.path.isfile(path):
            missing.append(name)
            continue
        wanted = csv_keys(path, num_points, box_size)
        records.subsets[name] = np.array([k in wanted for k in keys], bool)
    return missing


# -- WFLW ----------------------------------------------------------------------------------------
WFLW_POINTS = 98


def read_wflw_txt(txt_path, image_dir):
    """WFLW ``list_98pt_rect_attr_*.txt`` (images under ``image_dir``, i.e. ``WFLW_images``)."""
    from hrnet_tf.landmarks.landmark_sets import WFLW_ATTRIBUTES

    _check_file(txt_path)
    width = 2 * WFLW_POINTS + 4 + len(WFLW_ATTRIBUTES) + 1
    out, flags = _Collector(), []
    with open(txt_path) as f:
        for line, text in enumerate(f, start=1):
            fields = text.split()
            if not fields:
                continue
            if len(fields) != width:
                raise DataError(
                    f"{txt_path}:{line}: {len(fields)} fields, expected {width} (196 landmark "
                    "coordinates, 4 box values, 6 attribute flags, the image path)")
            values = _floats(fields[:-1], txt_path, line)
            points = np.reshape(values[: 2 * WFLW_POINTS], (WFLW_POINTS, 2))
            center, scale = landmark_box_center_scale(points)
            out.add(os.path.join(image_dir, fields[-1]), center, scale, points)
            flags.append(values[2 * WFLW_POINTS + 4:])
    flags = out.flags(np.asarray(flags, np.float64).reshape(-1, len(WFLW_ATTRIBUTES)) > 0) \
        if flags else np.zeros((0, len(WFLW_ATTRIBUTES)), bool)
    subsets = {name: flags[:, i] for i, name in enumerate(WFLW_ATTRIBUTES)}
    return LandmarkRecords.from_rows(out.rows, WFLW_POINTS, subsets, out.skipped, txt_path)


# -- 300W ----------------------------------------------------------------------------------------
def read_pts(path, num_points=68):
    """The points [n, 2] of a ``.pts`` file, 0-based (the file's 1-based pixels minus 1)."""
    _check_file(path, "landmark file")
    with open(path) as f:
        lines = [ln.strip() for ln in f if ln.strip()]
    try:
        start, end = lines.index("{"), lines.index("}")
    except ValueError:
        raise DataError(f"{path}: not a .pts file (no '{{' ... '}}' block)") from None
    declared = [ln for ln in lines[:start] if ln.startswith("n_points")]
    rows = [ln.split() for ln in lines[start + 1: end]]
    if any(len(r) != 2 for r in rows):
        raise DataError(f"{path}: every point line must hold two numbers")
    n = int(declared[0].split(":")[1]) if declared else len(rows)
    if n != len(rows) or len(rows) != num_points:
        raise DataError(f"{path}: {len(rows)} points (n_points {n}), expected {num_points}")
    return np.array([_floats(r, path, i) for i, r in enumerate(rows)], np.float64) - 1.0


def _image_beside(pts_path):
    stem = os.path.splitext(pts_path)[0]
    for suffix in IMAGE_SUFFIXES:
        if os.path.isfile(stem + suffix):
            return stem + suffix
    return stem + ".jpg"  # missing: counted by the collector


def read_300w(source, root="", num_points=68):
    """300W faces: ``source`` a text file listing image (or ``.pts``) paths relative to ``root``,
    or a folder searched for ``.pts`` files (sorted)."""
    if os.path.isdir(source):
        pts_files = sorted(glob.glob(os.path.join(source, "**", "*.pts"), recursive=True))
    else:
        _check_file(source)
        with open(source) as f:
            names = [ln.strip() for ln in f if ln.strip()]
        pts_files = [os.path.splitext(os.path.join(root, n))[0] + ".pts" for n in names]
    if not pts_files:
        raise DataError(f"{source}: no .pts files")
    out = _Collector()
    for path in pts_files:
        points = read_pts(path, num_points)
        center, scale = landmark_box_center_scale(points)
        out.add(_image_beside(path), center, scale, points)
    return LandmarkRecords.from_rows(out.rows, num_points, skipped=out.skipped, source=source)


# -- COFW ----------------------------------------------------------------------------------------
COFW_POINTS = 29


def _load_mat(path, keys):
    """{key: list of arrays} of a Matlab file: v7.3 (HDF5) with h5py, older ones with scipy."""
    import h5py

    if h5py.is_hdf5(path):
        with h5py.File(path, "r") as f:
            out = {}
            for key in keys:
                if key not in f:
                    raise DataError(f"{path}: no {key!r} in the file")
                data = f[key]
                if data.dtype == h5py.ref_dtype:  # a cell array of images
                    out[key] = [np.array(f[ref]).T for ref in data[()].ravel()]
                else:
                    out[key] = np.array(data).T
            return out
    try:
        import scipy.io
    except ImportError:
        raise DataError(f"{path}: a Matlab file older than v7.3 needs scipy: "
                        'pip install -e ".[mpii]" (or pip install scipy)') from None

    mat = scipy.io.loadmat(path)
    missing = [k for k in keys if k not in mat]
    if missing:
        raise DataError(f"{path}: no {missing[0]!r} in the file")
    out = {}
    for key in keys:
        value = mat[key]
        out[key] = [np.asarray(v) for v in value.ravel()] if value.dtype == object else value
    return out


def read_cofw_mat(mat_path, train):
    """COFW faces of ``mat_path`` (``IsTr``/``phisTr`` when ``train``, else ``IsT``/``phisT``);
    the images are written once into ``<mat stem>_images/`` as PNGs."""
    from hrnet_tf.data.images import write_png

    _check_file(mat_path)
    images_key, points_key = ("IsTr", "phisTr") if train else ("IsT", "phisT")
    mat = _load_mat(mat_path, (images_key, points_key))
    images, phis = mat[images_key], np.asarray(mat[points_key], np.float64)
    if phis.ndim != 2 or phis.shape[1] < 2 * COFW_POINTS:
        raise DataError(f"{mat_path}: {points_key} has shape {phis.shape}, expected [N, 87] "
                        "(29 x, 29 y, 29 occlusion flags)")
    if len(images) != len(phis):
        raise DataError(f"{mat_path}: {len(images)} images but {len(phis)} landmark rows")
    folder = os.path.splitext(mat_path)[0] + "_images"
    os.makedirs(folder, exist_ok=True)
    out = _Collector()
    for i, (image, phi) in enumerate(zip(images, phis, strict=True)):
        path = os.path.join(folder, f"{'train' if train else 'test'}_{i:05d}.png")
        if not os.path.isfile(path):
            image = np.asarray(image)
            if image.ndim == 2:
                image = np.repeat(image[..., None], 3, axis=2)  # cofw.py: grey -> 3 channels
            write_png(path, np.ascontiguousarray(image.astype(np.uint8)))
        points = phi[: 2 * COFW_POINTS].reshape(2, -1).T  # cofw.py: reshape(2, -1).transpose()
        center, scale = landmark_box_center_scale(points)
        out.add(path, center, scale, points)
    return LandmarkRecords.from_rows(out.rows, COFW_POINTS, skipped=out.skipped, source=mat_path)


__all__ = ["FORMATS", "LandmarkRecords", "landmark_box_center_scale", "mark_subsets",
           "read_300w", "read_cofw_mat", "read_official_csv", "read_pts", "read_wflw_txt",
           "skip_note"]
