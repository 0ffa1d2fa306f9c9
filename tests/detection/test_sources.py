"""COCO detection annotations: mmdet's skip rules as counted skips, category ids <-> labels, bad
files as one line."""

import json

import numpy as np
import pytest

from hrnet_tf.detection.sources import load_split
from hrnet_tf.errors import DataError
from tests.detection.helpers import write_coco


def test_skips_are_counted_and_empty_images_kept(tmp_path):
    annotations, images = write_coco(tmp_path)
    split = load_split(annotations, images)
    assert len(split) == 3 and split.image_ids == [1, 2, 3]
    assert split.skipped == {"crowd": 1, "outside_image": 1, "too_small": 1,
                             "unknown_category": 1}
    assert "crowd=1" in split.report("val")
    # category ids 3 and 7 -> labels 0 and 1 in the file's order; boxes x1 y1 x2 y2
    assert split.category_ids == [3, 7] and split.category_names == ["car", "person"]
    np.testing.assert_allclose(split.boxes[0], [[10, 12, 40, 52], [50, 20, 95, 50]])
    assert split.labels[0].tolist() == [1, 0]
    assert split.boxes[1].shape == (0, 4) and split.boxes[2].shape == (0, 4)
    boxes, labels = split.padded(1)  # the largest box kept when there are more
    assert labels.tolist() == [[0], [-1], [-1]] and boxes[0, 0].tolist() == [50, 20, 95, 50]


def test_missing_image_is_one_line(tmp_path):
    annotations, images = write_coco(tmp_path)
    (images / "0002.jpg").unlink()
    with pytest.raises(DataError, match=r"image file not found: .*0002.jpg \(image id 2"):
        load_split(annotations, images)


def test_malformed_box_and_file_are_one_line(tmp_path):
    annotations, images = write_coco(tmp_path, annotations=[
        {"id": 9, "image_id": 1, "category_id": 3, "bbox": [1, 2, 3], "iscrowd": 0}])
    with pytest.raises(DataError, match="annotation id 9 has no \\[x, y, w, h\\] bbox"):
        load_split(annotations, images)
    annotations.write_text("{not json")
    with pytest.raises(DataError, match="malformed json"):
        load_split(annotations, images)
    annotations.write_text(json.dumps([1, 2]))
    with pytest.raises(DataError, match="not a COCO annotation file"):
        load_split(annotations, images)
