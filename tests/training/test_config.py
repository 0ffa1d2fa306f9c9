"""Config loading: types, unknown keys, overrides, round trip, and the CLI's one-line errors."""

from dataclasses import dataclass, field

import pytest

from hrnet_tf.training.config import (
    Config,
    ConfigError,
    ModelConfig,
    config_to_dict,
    load_config,
    save_config,
)


@dataclass
class _PoseModel(ModelConfig):
    num_joints: int = 17


@dataclass
class _PoseConfig(Config):
    model: _PoseModel = field(default_factory=_PoseModel)


def _write(tmp_path, text):
    path = tmp_path / "exp.yaml"
    path.write_text(text)
    return path


def test_yaml_values_and_overrides(tmp_path):
    path = _write(tmp_path, "seed: 3\nmodel: {width: 32}\ntrain: {lr: 1, lr_steps: [30, 60]}\n")
    config = load_config(path, Config, ["train.lr=0.2", "model.width=18-small-v1"])
    assert config.seed == 3
    assert config.train.lr == 0.2 and isinstance(config.train.lr, float)
    assert config.train.lr_steps == [30.0, 60.0]
    assert config.model.width == "18-small-v1"
    assert config.train.epochs == Config().train.epochs  # untouched default


def test_subclassed_sections(tmp_path):
    path = _write(tmp_path, "model: {num_joints: 16}\n")
    config = load_config(path, _PoseConfig, ["model.num_joints=14"])
    assert config.model.num_joints == 14
    with pytest.raises(ConfigError, match="model.num_joints"):
        load_config(path, Config)  # the base config has no such key


@pytest.mark.parametrize(
    "text, key",
    [
        ("train: {lrr: 0.1}\n", "train.lrr"),
        ("train: {lr: fast}\n", "train.lr"),
        ("train: {epochs: 1.5}\n", "train.epochs"),
        ("train: {optimizer: rmsprop}\n", "train.optimizer"),
        ("model: {sync_bn: 1}\n", "model.sync_bn"),
        ("data: {image_size: [1, two]}\n", "data.image_size"),
        ("bogus: 1\n", "bogus"),
    ],
)
def test_bad_file_names_key_and_file(tmp_path, text, key):
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path, Config)
    message = str(info.value)
    assert f"'{key}'" in message and str(path) in message and "\n" not in message


def test_bad_override_names_the_override():
    with pytest.raises(ConfigError, match=r"--set train.momentum: key 'train.momentum'"):
        load_config(None, Config, ["train.momentum=high"])
    with pytest.raises(ConfigError, match="key=value"):
        load_config(None, Config, ["train.lr"])


def test_save_and_reload_round_trip(tmp_path):
    config = load_config(None, _PoseConfig, ["train.lr=0.3", "data.image_size=[256, 192]"])
    save_config(config, tmp_path / "out" / "config.yaml")
    again = load_config(tmp_path / "out" / "config.yaml", _PoseConfig)
    assert config_to_dict(again) == config_to_dict(config)


def test_cli_reports_bad_key_in_one_line(tmp_path, capsys):
    from tests.training.tiny_task import main

    status = main(["--out", str(tmp_path), "--set", "train.nope=1"])
    err = capsys.readouterr().err.strip()
    assert status == 2
    assert err.count("\n") == 0 and "train.nope" in err
    assert not (tmp_path / "config.yaml").exists()  # stopped before anything was written
