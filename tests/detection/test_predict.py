"""``python -m hrnet_tf.detection.predict`` and ``detect_people``: bad input as one line."""

import numpy as np
import pytest

from hrnet_tf.detection import predict
from hrnet_tf.errors import ModelFileError
from tests.helpers import assert_user_error


def test_bad_arguments_are_one_line(tmp_path, capsys):
    image = tmp_path / "photo.jpg"
    assert_user_error(predict.main([str(image), "--weights", "x.keras"]), capsys,
                      "image not found")
    import cv2

    cv2.imwrite(str(image), np.zeros((40, 50, 3), np.uint8))
    assert_user_error(predict.main([str(image), "--weights", "fcos.pth"]), capsys,
                      r"pass a \.keras detector")
    assert_user_error(predict.main([str(image)]), capsys, "--weights: pass a trained detector")


def test_person_category_is_required_with_several_classes(tmp_path):
    import hrnet_tf

    model = hrnet_tf.HRNetFCOS("tiny", num_classes=2, input_shape=(128, 128, 3), out_channels=16,
                               feat_channels=16, stacked_convs=1, gn_groups=4)
    model.info.labels = {**model.info.labels, "category_names": ["cat", "dog"]}
    path = tmp_path / "pets.keras"
    model.save(path)
    with pytest.raises(ModelFileError, match="no 'person' category .*cat, dog"):
        predict.detect_people(str(path), np.zeros((60, 80, 3), np.uint8))
