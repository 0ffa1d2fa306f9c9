"""python -m hrnet_tf.summary, in-process (the published figures: tests/models)."""

import numpy as np
import pytest

import hrnet_tf
from hrnet_tf.summary import count_gflops, count_parameters
from hrnet_tf.summary import main as summary_main
from tests.helpers import assert_user_error


def test_prints_the_trainable_parameters_and_gflops(capsys):
    assert summary_main(["--model", "pose", "--width", "tiny", "--input-size", "64x64"]) == 0
    out = capsys.readouterr().out
    model = hrnet_tf.HRNetV1("tiny", input_shape=(64, 64, 3))
    # independent count: every trainable variable's size (BN moving statistics are not trainable)
    assert f"{sum(int(np.prod(w.shape)) for w in model.trainable_weights):,} trainable" in out
    assert count_parameters(model) < count_parameters(model, trainable_only=False)
    assert f"{count_gflops(model, (64, 64)):.2f} GFLOPs at 64x64" in out


def test_user_errors_are_one_line_and_status_2(capsys):
    assert_user_error(summary_main(["--width", "20"]), capsys, r"unknown HRNet width 20; choose one")
    assert_user_error(summary_main(["--model", "pose", "--width", "tiny", "--input-size", "64x50"]),
                      capsys, r"input size \(64, 50\) must be a multiple of 32")
    assert_user_error(summary_main(["--input-size", "big"]), capsys,
                      r"argument --input-size: size must be N or HxW .* got 'big'")
    assert_user_error(summary_main(["--model", "resnet"]), capsys,
                      r"argument --model: invalid choice: 'resnet'")


def test_help_of_every_model_command_exits_0(capsys):
    """--help is not an error: argparse's exit 0 passes through hrnet_tf.cli.run untouched."""
    from hrnet_tf.convert.__main__ import main as convert_main
    from hrnet_tf.export.__main__ import main as export_main

    for main, usage in [(summary_main, "python -m hrnet_tf.summary"),
                        (convert_main, "python -m hrnet_tf.convert"),
                        (export_main, "python -m hrnet_tf.export")]:
        with pytest.raises(SystemExit) as exit_info:
            main(["--help"])
        assert exit_info.value.code == 0
        assert capsys.readouterr().out.startswith(f"usage: {usage}")
