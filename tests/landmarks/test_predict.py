"""python -m hrnet_tf.landmarks.predict, in-process: JSON points and a drawing from a trained
model.keras; bad input is one line (exit 2)."""

import json
import os

import numpy as np

import hrnet_tf
from hrnet_tf.landmarks.predict import main
from hrnet_tf.landmarks.synthetic import IMAGE_DIR, SYNTHETIC_SET
from tests.helpers import assert_user_error


def test_predict_writes_points_and_a_drawing(synthetic_faces, tmp_path, capsys):
    model = hrnet_tf.HRNetV2Landmarks("tiny", num_landmarks=10, input_shape=(64, 64, 3),
                                      landmarks=SYNTHETIC_SET)
    weights = str(tmp_path / "model.keras")
    model.save(weights)
    image = os.path.join(synthetic_faces, IMAGE_DIR, "test", "00000.png")
    out = tmp_path / "drawn.png"
    assert main([image, "--box", "20,20,50,50", "--weights", weights, "--out", str(out)]) == 0
    faces = json.loads(capsys.readouterr().out)
    assert len(faces) == 1 and np.shape(faces[0]["points"]) == (10, 2)
    assert faces[0]["box"] == [20.0, 20.0, 50.0, 50.0] and out.is_file()
    assert_user_error(main([image, "--box", "1,2,3", "--weights", weights]), capsys,
                      r"--box '1,2,3': expected x,y,w,h")
    assert_user_error(main([image, "--weights", weights, "--landmarks", "wflw"]), capsys,
                      r"--landmarks: .*is a \.keras model")
    assert_user_error(main([str(tmp_path / "none.png"), "--weights", weights]), capsys,
                      r"none\.png")
