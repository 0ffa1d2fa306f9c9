"""The facial-landmark task: config sections and the :class:`~hrnet_tf.training.task.Task`.

    python train/landmarks.py                                   # synthetic face demo (CPU)
    python train/landmarks.py --dataset wflw --data-dir data/wflw
    python train/landmarks.py --dataset 300w --data-dir data/300w
    python train/landmarks.py --dataset cofw --data-dir data/cofw
    python train/landmarks.py --dataset aflw --data-dir data/aflw \\
        --set model.pretrained=hrnetv2_w18_imagenet_pretrained.pth

    >>> from hrnet_tf.training.config import load_config
    >>> task = LandmarkTask()
    >>> config = load_config(task.config_file("wflw"), LandmarkConfig)
    >>> config.data.sigma, config.train.lr, landmark_set_of_config(config).num_points
    (1.5, 0.0001, 98)
"""

import os
from dataclasses import dataclass, field
from typing import Literal

from hrnet_tf.errors import ConfigError
from hrnet_tf.training.config import (
    Config,
    DataConfig,
    EvalConfig,
    ModelConfig,
    TrainConfig,
    image_size_hw,
)
from hrnet_tf.training.task import Task, TaskData, epoch_seed, per_replica_batch_size, shard_of

INPUT_MULTIPLE = 32
OUTPUT_STRIDE = 4


@dataclass
class LandmarkModelConfig(ModelConfig):
    width: int | str = 18
    bn_momentum: float = 0.99  # official BN_MOMENTUM 0.01 (PyTorch convention)
    final_conv_kernel: int = 1
    pretrained: str = ""  # ImageNet backbone (.pth / .weights.h5 / preset), loaded non-strictly
    weights: str = ""  # a complete landmark model to start from


@dataclass
class LandmarkTrainConfig(TrainConfig):
    epochs: int = 60
    batch_size: int = 16  # BATCH_SIZE_PER_GPU 16 on one GPU
    optimizer: Literal["sgd", "adam", "adamw"] = "adam"
    lr: float = 1e-4
    weight_decay: float = 0.0
    nesterov: bool = False
    schedule: Literal["multistep", "poly", "cosine", "constant"] = "multistep"
    lr_steps: list[float] = field(default_factory=lambda: [30.0, 50.0])
    lr_factor: float = 0.1


@dataclass
class LandmarkDataConfig(DataConfig):
    dataset: Literal["wflw", "300w", "cofw", "aflw", "synthetic"] = "wflw"
    format: Literal["csv", "wflw_txt", "300w_pts", "cofw_mat"] = "csv"
    image_size: int | list[int] = 256
    sigma: float = 1.5
    landmarks: str | dict = "wflw"  # a set name or a dict (docs/landmarks.md)
    train_file: str = "face_landmarks_wflw_train.csv"  # relative to data.dir
    test_file: str = "face_landmarks_wflw_test.csv"
    image_dir: str = "images"  # the official DATASET.ROOT, relative to data.dir
    subsets: dict = field(default_factory=dict)  # name -> subset CSV of test faces
    box_size: bool = False  # the CSVs carry AFLW's box_size column
    scale_factor: float = 0.25
    rotation_factor: float = 30.0
    flip: bool = True
    synthetic_train: int = 800
    synthetic_test: int = 100
    synthetic_size: int = 128


@dataclass
class LandmarkEvalConfig(EvalConfig):
    decoding: Literal["official", "float", "dark"] = "official"
    max_samples: int = 0  # evaluate only the first N faces (0 = all)


@dataclass
class LandmarkConfig(Config):
    model: LandmarkModelConfig = field(default_factory=LandmarkModelConfig)
    train: LandmarkTrainConfig = field(default_factory=LandmarkTrainConfig)
    data: LandmarkDataConfig = field(default_factory=LandmarkDataConfig)
    eval: LandmarkEvalConfig = field(default_factory=LandmarkEvalConfig)


def landmark_set_of_config(config):
    from hrnet_tf.landmarks.landmark_sets import LandmarkSet

    try:
        return LandmarkSet.from_config(config.data.landmarks)
    except ValueError as e:
        raise ConfigError(f"data.{e}" if str(e).startswith("landmarks") else
                          f"data.landmarks: {e}") from None


def codec_of(config):
    from hrnet_tf.landmarks.codec import LandmarkCodec

    size = image_size_hw(config.data.image_size)[0]
    return LandmarkCodec(size, size // OUTPUT_STRIDE, config.data.sigma, config.eval.decoding)


def pipeline_of(config, normalization=None):
    from hrnet_tf.data.normalization import IMAGENET
    from hrnet_tf.landmarks.pipeline import Augmentation, LandmarkPipeline

    d = config.data
    return LandmarkPipeline(codec_of(config), landmark_set_of_config(config), Augmentation(
        scale_factor=d.scale_factor, rotation_factor=d.rotation_factor, flip=d.flip),
        normalization or IMAGENET)


def data_dir_of(config):
    from hrnet_tf.data.synthetic import default_root

    if config.data.dir:
        return config.data.dir
    if config.data.dataset == "synthetic":
        return default_root("landmarks")
    raise ConfigError(f"data.dir is empty: pass --data-dir DIR (the {config.data.dataset} root)")


def _check(ok, key, value, expected):
    if not ok:
        raise ConfigError(f"{key}={value!r}: {expected}")


def read_records(config, root, train, notes=None):
    """The train or test faces of ``config`` under ``root`` (subsets marked on the test faces; a
    subset CSV that does not exist is named in ``notes``)."""
    from hrnet_tf.landmarks import sources

    d = config.data
    n = landmark_set_of_config(config).num_points
    name = d.train_file if train else d.test_file
    path = os.path.join(root, name)
    image_dir = os.path.join(root, d.image_dir)
    if d.format == "csv":
        records = sources.read_official_csv(path, image_dir, n, d.box_size)
    elif d.format == "wflw_txt":
        records = sources.read_wflw_txt(path, image_dir)
    elif d.format == "300w_pts":
        records = sources.read_300w(path, image_dir, n)
    else:
        records = sources.read_cofw_mat(path, train)
    if records.num_points != n:
        raise ConfigError(f"data.landmarks={d.landmarks!r}: {n} points, but {path} has "
                          f"{records.num_points}")
    if not train and d.subsets:
        missing = sources.mark_subsets(
            records, image_dir, {k: os.path.join(root, v) for k, v in d.subsets.items()}, n,
            d.box_size)
        if missing and notes is not None:
            notes.append(f"test subsets without their CSV under {root}, not reported: "
                         + ", ".join(f"{k} ({d.subsets[k]})" for k in missing))
    return records


class LandmarkTask(Task):
    """Facial landmarks with HRNetV2-W18 (WFLW, 300W, COFW, AFLW; synthetic demo)."""

    name = "landmarks"
    config_class = LandmarkConfig
    config_dir = "landmarks"
    dataset_configs = {
        "wflw": "wflw_hrnet_w18.yaml",
        "300w": "300w_hrnet_w18.yaml",
        "cofw": "cofw_hrnet_w18.yaml",
        "aflw": "aflw_hrnet_w18.yaml",
        "synthetic": "synthetic_faces.yaml",
    }
    default_dataset = "wflw"

    def validate(self, config):
        from hrnet_tf.models.specs import resolve_spec

        d, m, t, e = config.data, config.model, config.train, config.eval
        size = d.image_size
        _check(not isinstance(size, list) or (len(size) == 2 and size[0] == size[1]),
               "data.image_size", size, "the face crop is square: one int or [S, S]")
        side = image_size_hw(size)[0]
        _check(side > 0 and side % INPUT_MULTIPLE == 0, "data.image_size", size,
               f"must be a positive multiple of {INPUT_MULTIPLE}")
        _check(d.sigma > 0, "data.sigma", d.sigma, "must be > 0 (heatmap pixels)")
        landmarks = landmark_set_of_config(config)
        if landmarks.uses_box:
            _check(d.box_size or d.dataset == "synthetic", "data.box_size", d.box_size,
                   f"the {landmarks.name} NME divides by the box size: the CSVs must carry it")
        _check(0 <= d.scale_factor < 1, "data.scale_factor", d.scale_factor, "must be in [0, 1)")
        _check(d.rotation_factor >= 0, "data.rotation_factor", d.rotation_factor, "must be >= 0")
        if d.format == "cofw_mat":
            _check(landmarks.num_points == 29, "data.landmarks", d.landmarks,
                   "COFW has 29 points")
        if d.format == "wflw_txt":
            _check(landmarks.num_points == 98, "data.landmarks", d.landmarks,
                   "WFLW has 98 points")
        if d.dataset == "synthetic":
            _check(d.synthetic_train > 0 and d.synthetic_test > 0, "data.synthetic_train/test",
                   [d.synthetic_train, d.synthetic_test], "must both be > 0")
            _check(d.synthetic_size >= 32, "data.synthetic_size", d.synthetic_size, "must be >= 32")
        try:
            resolve_spec(m.width)
        except ConfigError as error:
            raise ConfigError(f"model.width: {error}") from None
        _check(m.final_conv_kernel in (1, 3), "model.final_conv_kernel", m.final_conv_kernel,
               "must be 1 or 3 (the official FINAL_CONV_KERNEL options)")
        for key, path in (("model.pretrained", m.pretrained), ("model.weights", m.weights)):
            _check(not path or os.path.isfile(path) or not path.endswith((".pth", ".h5", ".keras")),
                   key, path, "file not found")
        _check(t.batch_size > 0, "train.batch_size", t.batch_size, "must be > 0")
        _check(e.batch_size >= 0, "eval.batch_size", e.batch_size, "must be >= 0 (0: train's)")
        _check(e.max_samples >= 0, "eval.max_samples", e.max_samples, "must be >= 0 (0: all)")
        data_dir_of(config)

    def load_data(self, config):
        from hrnet_tf.landmarks.sources import skip_note

        d = config.data
        root = data_dir_of(config)
        if d.dataset == "synthetic":
            from hrnet_tf.landmarks.synthetic import ensure_synthetic

            ensure_synthetic(root, d.synthetic_train, d.synthetic_test, d.synthetic_size,
                             seed=config.seed)
        subset_notes = []
        train = read_records(config, root, train=True)
        test = read_records(config, root, train=False, notes=subset_notes)
        if config.eval.max_samples:
            test = test.subset(slice(0, config.eval.max_samples))
        notes = [n for n in (skip_note(train, d.train_file), skip_note(test, d.test_file)) if n]
        notes += subset_notes
        if train.size == 0:
            from hrnet_tf.errors import DataError

            raise DataError(f"{os.path.join(root, d.train_file)}: no usable training faces")
        print(f"{d.train_file}: {train.size} faces; {d.test_file}: {test.size}", flush=True)
        return TaskData(train=train, val=test, notes=notes, num_train=train.size)

    def train_dataset(self, config, data, input_context=None, epoch=0):
        parallel = config.data.num_parallel_calls
        return pipeline_of(config).train_dataset(
            data.train, per_replica_batch_size(config, input_context),
            seed=epoch_seed(config, epoch), shards=shard_of(input_context),
            num_parallel_calls=parallel if parallel > 0 else -1)

    def build_model(self, config):
        import hrnet_tf

        m = config.model
        side = image_size_hw(config.data.image_size)[0]
        landmarks = landmark_set_of_config(config)
        model = hrnet_tf.HRNetV2Landmarks(
            m.width, num_landmarks=landmarks.num_points, input_shape=(side, side, 3),
            landmarks=landmarks.to_config(), final_conv_kernel=m.final_conv_kernel,
            bn_momentum=m.bn_momentum, sync_bn=m.sync_bn)
        model.info.labels["sigma"] = float(config.data.sigma)  # what predict decodes with
        if m.pretrained:
            hrnet_tf.load_weights(model, m.pretrained, strict=False)
        if m.weights:
            hrnet_tf.load_weights(model, m.weights)
        return model

    def build_criterion(self, config):
        from hrnet_tf.landmarks.loss import HeatmapMSELoss

        return HeatmapMSELoss()

    def build_evaluator(self, config, data):
        from hrnet_tf.landmarks.evaluator import LandmarkEvaluator

        e = config.eval
        return LandmarkEvaluator(pipeline_of(config), data.val,
                                 batch_size=e.batch_size or config.train.batch_size,
                                 decoding=e.decoding, train_records=data.train)


__all__ = ["LandmarkConfig", "LandmarkTask", "codec_of", "landmark_set_of_config",
           "pipeline_of", "read_records"]
