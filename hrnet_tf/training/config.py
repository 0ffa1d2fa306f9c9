"""Typed run configuration: dataclasses loaded from YAML, with ``key=value`` overrides.

Every task shares the sections below; a task extends a section by subclassing its dataclass and
re-declaring the section field on a ``Config`` subclass::

    @dataclass
    class PoseModelConfig(ModelConfig):
        num_joints: int = 17

    @dataclass
    class PoseConfig(Config):
        model: PoseModelConfig = field(default_factory=PoseModelConfig)

    config = load_config("configs/pose/w32.yaml", PoseConfig, overrides=["train.lr=0.002"])

Types are checked against the annotations: an unknown key or a value of the wrong type raises
``ConfigError`` with one line naming the key and the file (or ``--set`` for an override).
"""

import dataclasses
import os
import types
import typing
from dataclasses import dataclass, field
from typing import Literal

import yaml

from hrnet_tf.errors import ConfigError, DataError

# The experiment files ship inside the package (``hrnet_tf/configs/<task>/*.yaml``); the repository's
# top-level ``configs`` is a link to them, so ``--config configs/pose/...`` works from a checkout and
# after a regular ``pip install``.
CONFIG_ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs")


def config_path(path):
    """``path`` if that file exists, else the packaged experiment it names: ``configs/pose/x.yaml``,
    ``pose/x.yaml`` and ``hrnet_tf/configs/pose/x.yaml`` all find ``CONFIG_ROOT/pose/x.yaml``.

    >>> os.path.relpath(config_path("pose/coco_w32_256x192.yaml"), CONFIG_ROOT)
    'pose/coco_w32_256x192.yaml'
    """
    path = os.fspath(path)
    if os.path.isfile(path):
        return path
    parts = os.path.normpath(path).split(os.sep)
    if "configs" in parts:
        parts = parts[len(parts) - parts[::-1].index("configs"):]
    packaged = os.path.join(CONFIG_ROOT, *parts)
    if os.path.isfile(packaged):
        return packaged
    raise ConfigError(f"config file not found: {path}")


@dataclass
class ModelConfig:
    width: int | str = 18
    # Synchronized BatchNorm across replicas (tf.distribute); a no-op with one replica.
    sync_bn: bool = False


@dataclass
class TrainConfig:
    epochs: int = 100
    batch_size: int = 128  # global: summed over all replicas and workers
    lr: float = 0.05
    optimizer: Literal["sgd", "adam", "adamw"] = "sgd"
    momentum: float = 0.9
    nesterov: bool = True
    # sgd/adam: L2 added to the gradient before the update (PyTorch ``weight_decay``, applied to
    # every parameter, BN included); adamw: decoupled decay (PyTorch ``AdamW``).
    weight_decay: float = 1e-4
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_epsilon: float = 1e-8  # PyTorch's default (Keras uses 1e-7)
    schedule: Literal["multistep", "poly", "cosine", "constant"] = "multistep"
    lr_steps: list[float] = field(default_factory=lambda: [30.0, 60.0, 90.0])  # in epochs
    lr_factor: float = 0.1
    poly_power: float = 0.9
    min_lr: float = 0.0  # cosine floor
    warmup_epochs: float = 0.0  # linear warm-up from warmup_factor * lr
    warmup_factor: float = 0.0
    # global gradient-norm clipping of the loss gradient, before weight decay (torch
    # clip_grad_norm_ ahead of optimizer.step); 0 = off
    clip_norm: float = 0.0
    # official TRAIN.NONBACKBONE_KEYWORDS / NONBACKBONE_MULT: variables whose name holds a keyword
    # (e.g. [cls, aux, ocr], the HRNet-OCR heads) train at nonbackbone_mult x the rate; SGD only
    nonbackbone_keywords: list[str] = field(default_factory=list)
    nonbackbone_mult: float = 10.0
    # mmcv DefaultOptimizerConstructor paramwise_cfg (the mmdet FCOS configs: 2 and 0): the biases
    # of convolution and dense layers (not of normalization layers) train at bias_lr_mult x the
    # rate with bias_decay_mult x the weight decay; SGD only
    bias_lr_mult: float = 1.0
    bias_decay_mult: float = 1.0
    mixed_precision: Literal["none", "float16", "bfloat16"] = "none"
    jit_compile: bool = False
    steps_per_epoch: int = 0  # 0: from the dataset size (task.steps_per_epoch)
    checkpoint_every_steps: int = 1000
    keep_checkpoints: int = 3
    deterministic: bool = False  # tf.config.experimental.enable_op_determinism()
    log_every_steps: int = 10  # TensorBoard scalars


@dataclass
class DataConfig:
    image_size: int | list[int] = 224  # int, or [height, width]
    dir: str = ""
    num_parallel_calls: int = -1  # -1: tf.data.AUTOTUNE
    shuffle_buffer: int = 10000


@dataclass
class EvalConfig:
    batch_size: int = 0  # 0: the training batch size
    every_epochs: int = 0  # also evaluate every N epochs during training; 0: only at the end
    # With every_epochs: keep OUT/model_best.keras ranked by this result key ("" = the evaluator's
    # own metric: pose AP / MPII Mean, segmentation mIoU, classification top1, landmarks NME) and
    # direction ("auto" = the evaluator's higher_is_better).
    best_metric: str = ""
    best_mode: Literal["auto", "max", "min"] = "auto"


@dataclass
class Config:
    seed: int = 0
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    data: DataConfig = field(default_factory=DataConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)


# ----------------------------------------------------------------------------------------------
# Type checking


def _type_name(tp):
    if tp is type(None):
        return "null"
    origin = typing.get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in typing.get_args(tp))
    if origin in (list, tuple):
        args = typing.get_args(tp)
        return f"list of {_type_name(args[0])}" if args else "list"
    if origin is dict:
        return "mapping"
    return getattr(tp, "__name__", str(tp))


class _Mismatch(Exception):
    pass


def _coerce(value, tp, key, where):
    """``value`` converted to ``tp`` (int -> float is the only widening), or _Mismatch."""
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise _Mismatch
        return _from_dict(tp, value, key, where)
    if origin is Literal:
        if value in typing.get_args(tp):
            return value
        raise _Mismatch
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(tp):
            try:
                return _coerce(value, option, key, where)
            except _Mismatch:
                continue
        raise _Mismatch
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise _Mismatch
        args = typing.get_args(tp)
        item_type = args[0] if args else typing.Any
        return [_coerce(v, item_type, f"{key}[{i}]", where) for i, v in enumerate(value)]
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise _Mismatch
        return dict(value)
    if tp is typing.Any:
        return value
    if tp is type(None):
        if value is None:
            return None
        raise _Mismatch
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise _Mismatch
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _Mismatch
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise _Mismatch
    if tp is str:
        if isinstance(value, str):
            return value
        raise _Mismatch
    raise _Mismatch


def _check(value, tp, key, where):
    try:
        return _coerce(value, tp, key, where)
    except _Mismatch:
        raise ConfigError(
            f"{where}: key '{key}' must be {_type_name(tp)}, got {value!r}"
        ) from None


def _from_dict(cls, data, prefix, where):
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for name, value in data.items():
        key = f"{prefix}.{name}" if prefix else str(name)
        if name not in names:
            raise ConfigError(f"{where}: unknown key '{key}' (known: {', '.join(names)})")
        kwargs[name] = _check(value, hints[name], key, where)
    return cls(**kwargs)


# ----------------------------------------------------------------------------------------------
# Public functions


def config_to_dict(config):
    """The configuration as plain dicts and lists (what ``save_config`` writes).

    >>> config_to_dict(Config())["train"]["lr"]
    0.05
    """
    return dataclasses.asdict(config)


def _merge(base, update):
    out = dict(base)
    for k, v in update.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def _parse_override(text):
    if "=" not in text:
        raise ConfigError(f"--set {text!r}: expected key=value, e.g. train.lr=0.1")
    key, raw = text.split("=", 1)
    key = key.strip()
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw  # an unparsable value stays a string; the type check decides
    nested = value
    for part in reversed(key.split(".")):
        nested = {part: nested}
    return key, nested


def load_config(path, config_cls=Config, overrides=()):
    """Reads a YAML file into ``config_cls`` and applies ``key=value`` overrides.

    ``path`` may be None (the dataclass defaults). Overrides are YAML values on dotted keys
    (``train.lr=0.1``, ``train.lr_steps=[30,60]``, ``model.width=18-small-v1``).

    >>> load_config(None, Config, ["train.lr=0.1", "model.width=32"]).train.lr
    0.1
    """
    data = {}
    where = "defaults"
    if path is not None:
        path = config_path(path)
        where = path
        with open(path) as f:
            try:
                data = yaml.safe_load(f) or {}
            except yaml.YAMLError as e:
                line = getattr(getattr(e, "problem_mark", None), "line", None)
                at = f" line {line + 1}" if line is not None else ""
                raise ConfigError(f"{path}{at}: not valid YAML") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: the top level must be a mapping of sections")
    config = _from_dict(config_cls, data, "", where)
    for text in overrides or ():
        key, nested = _parse_override(text)
        merged = _merge(config_to_dict(config), nested)
        # Re-validate the whole tree; errors name the override.
        config = _from_dict(config_cls, merged, "", f"--set {key}")
    return config


def save_config(config, path):
    """Writes the resolved configuration as YAML (``load_config`` reads it back unchanged)."""
    path = os.fspath(path)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        yaml.safe_dump(config_to_dict(config), f, sort_keys=False)
    os.replace(tmp, path)


def image_size_hw(image_size):
    """``data.image_size`` as (height, width): 224 -> (224, 224); [256, 192] -> (256, 192)."""
    if isinstance(image_size, int):
        return image_size, image_size
    if len(image_size) != 2:
        raise ConfigError(f"data.image_size must be an int or [height, width], got {image_size!r}")
    return int(image_size[0]), int(image_size[1])


__all__ = [
    "Config",
    "ConfigError",
    "DataConfig",
    "DataError",
    "EvalConfig",
    "ModelConfig",
    "TrainConfig",
    "config_path",
    "config_to_dict",
    "image_size_hw",
    "load_config",
    "save_config",
]
