"""The shapes demo set: a valid COCO detection layout whose boxes are the drawn shapes."""

import cv2
import numpy as np

from hrnet_tf.detection.sources import load_split
from hrnet_tf.detection.synthetic import CATEGORIES, ensure_synthetic


def test_shapes_set_is_coco_and_boxes_are_tight(tmp_path):
    root = ensure_synthetic(tmp_path / "shapes", num_train=24, num_val=4, seed=3)
    split = load_split(f"{root}/annotations/instances_train.json", f"{root}/train")
    assert len(split) == 24 and split.category_names == list(CATEGORIES)
    assert not any(split.skipped.values())
    for path, (h, w), boxes in zip(split.image_paths, split.sizes, split.boxes, strict=True):
        image = cv2.imread(path)
        assert image.shape[:2] == (h, w)
        assert ((boxes[:, 0] >= 0) & (boxes[:, 2] <= w) & (boxes[:, 3] <= h)).all()
        # shapes of 16 to 56 px: triangles and discs drawn anti-aliased, a little smaller
        sides = np.concatenate([boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]])
        assert ((sides >= 8) & (sides <= 60)).all()
    assert ensure_synthetic(tmp_path / "shapes", 24, 4, seed=3) == root  # reused, not redone
    assert np.mean([len(b) for b in split.boxes]) > 1
