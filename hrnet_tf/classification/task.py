"""ImageNet classification with HRNet-Wxx-C: the config and the Task.

Defaults are the official recipe (HRNet-Image-Classification ``experiments/cls_hrnet_w*_sgd_lr5e-2_
wd1e-4_bs32_x100.yaml`` and ``tools/train.py``): SGD with Nesterov momentum 0.9, lr 0.05, weight
decay 1e-4 (L2 on the gradient), global batch 128, 100 epochs, x0.1 at epochs 30/60/90,
cross-entropy.

    python train/classify.py                         # the demo: tiny HRNet, generated data
    python train/classify.py --data-dir /data/imagenet          # the official W18-C recipe
    python train/classify.py --config configs/classification/w32.yaml --data-dir /data/imagenet

    >>> from hrnet_tf.training.config import load_config
    >>> task = ClassificationTask()
    >>> config = load_config(task.config_file("synthetic"), ClassificationConfig)
    >>> task.validate(config)
    >>> config.data.dataset, config.model.width
    ('synthetic', 'tiny')
"""

import os
from dataclasses import dataclass, field
from typing import Literal

from hrnet_tf.classification import pipeline
from hrnet_tf.classification.sources import (
    TFRecordSplit,
    class_folders,
    list_image_folder,
    scan_tfrecords,
    tfrecord_files,
)
from hrnet_tf.errors import ConfigError, DataError
from hrnet_tf.training.config import (
    Config,
    DataConfig,
    EvalConfig,
    ModelConfig,
    TrainConfig,
    image_size_hw,
)
from hrnet_tf.training.task import Task, TaskData, epoch_seed, per_replica_batch_size, shard_of


@dataclass
class ClassificationModelConfig(ModelConfig):
    num_classes: int = 1000
    head_conv_bias: bool = True  # False for the SSLD checkpoints
    bn_momentum: float = 0.9  # Keras convention (PyTorch 0.1)
    weights: str = ""  # optional initial weights (.weights.h5 / .keras / official .pth)
    # "official": the HRNet-Wxx-C head (Bottlenecks, stride-2 merges, 2048-d). "pooled": global
    # average pool of the HRNetV2 concatenation + linear layer; not an official model, a light
    # head for quick experiments and tests (the official head is most of a tiny network's cost).
    head: Literal["official", "pooled"] = "official"


@dataclass
class ClassificationDataConfig(DataConfig):
    # "imagenet": an ImageNet-style dataset in data.dir (any number of classes); "synthetic": the
    # generated demo set (written to data.dir, default runs/synthetic/classification).
    dataset: Literal["imagenet", "synthetic"] = "imagenet"
    format: Literal["folder", "tfrecord"] = "folder"
    train_split: str = "train"
    val_split: str = "val"
    train_pattern: str = "train-*"  # TFRecord shards
    val_pattern: str = "validation-*"
    label_offset: int = 0  # subtracted from TFRecord labels (1 for 1..1000 shards)
    num_train_examples: int = 0  # TFRecord: 0 = count the records once
    crop_scale: list[float] = field(default_factory=lambda: list(pipeline.CROP_SCALE))
    crop_ratio: list[float] = field(default_factory=lambda: list(pipeline.CROP_RATIO))
    eval_crop_fraction: float = pipeline.EVAL_CROP_FRACTION  # 224 / 0.875 = 256, crop 224
    check_files: bool = True  # check magic bytes and end markers while listing
    synthetic_classes: int = 4
    synthetic_train_per_class: int = 40
    synthetic_val_per_class: int = 10


@dataclass
class ClassificationConfig(Config):
    model: ClassificationModelConfig = field(default_factory=ClassificationModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    data: ClassificationDataConfig = field(default_factory=ClassificationDataConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)


def data_root(data_config):
    """The dataset folder of ``config.data``: the generated demo set, or ``data.dir`` checked."""
    d = data_config
    if d.dataset == "synthetic":
        from hrnet_tf.classification.synthetic import ensure_synthetic

        return ensure_synthetic(d)
    if not d.dir:
        raise DataError("no data directory: pass --data-dir DIR or set data.dir")
    if not os.path.isdir(d.dir):
        raise DataError(f"data directory not found: {d.dir}")
    return d.dir


def class_names(config):
    """The class names a model of ``config`` is trained with: the training split's folder names
    (synthetic: generated names; TFRecords or no data yet: [])."""
    d = config.data
    if d.dataset == "synthetic":
        from hrnet_tf.classification.synthetic import class_name

        return [class_name(i) for i in range(d.synthetic_classes)]
    train_dir = os.path.join(d.dir, d.train_split)
    if d.format != "folder" or not d.dir or not os.path.isdir(train_dir):
        return []
    return class_folders(train_dir)


def pooled_classifier(width, num_classes, input_shape, *, bn_momentum=0.9, sync_bn=False,
                      name=None):
    """The unofficial light classifier: the HRNetV2 concatenation (all branches at stride 4),
    global average pool, linear. An ``HRNetModel`` that knows it is a classifier."""
    import keras

    from hrnet_tf.models import HRNetV2
    from hrnet_tf.models.model import HRNetModel
    from hrnet_tf.models.specs import spec_name

    trunk = HRNetV2(width, num_classes=None, input_shape=input_shape, upsample_method="nearest",
                    bn_momentum=bn_momentum, sync_bn=sync_bn)
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(trunk.output)
    logits = keras.layers.Dense(num_classes, name="classifier")(x)
    info = trunk.info.replace(task="classification", architecture="HRNetV2-pooled",
                              output_stride=None)
    return HRNetModel(trunk.inputs, logits, info=info,
                      name=name or f"hrnet_{spec_name(width)}_pooled_c")


def _check_range(key, values, low, high):
    ok = len(values) == 2 and low < values[0] <= values[1] <= high
    if not ok:
        raise ConfigError(f"{key}={values!r}: expected [min, max] with {low} < min <= max <= {high}")


class ClassificationTask(Task):
    """HRNet-Wxx-C on an ImageNet-style dataset (folder layout or TFRecords) or the demo set."""

    name = "classify"
    config_class = ClassificationConfig
    config_dir = "classification"
    dataset_configs = {"imagenet": "w18.yaml", "synthetic": "tiny_synthetic.yaml"}
    default_dataset = "imagenet"

    # -- configuration ---------------------------------------------------------------------------
    def validate(self, config):
        from hrnet_tf.models.specs import resolve_spec

        m, d, t = config.model, config.data, config.train
        try:
            resolve_spec(m.width)
        except ConfigError as e:
            raise ConfigError(f"model.width: {e}") from None
        h, w = image_size_hw(d.image_size)
        if h < 32 or w < 32 or h % 32 or w % 32:
            raise ConfigError(
                f"data.image_size={d.image_size!r}: height and width must be multiples of 32 "
                "(HRNet-Wxx-C fuses its branches by nearest upsampling with fixed factors), "
                "e.g. 224"
            )
        if m.num_classes < 1:
            raise ConfigError(f"model.num_classes={m.num_classes}: must be at least 1")
        if d.dataset == "synthetic":
            for key in ("synthetic_classes", "synthetic_train_per_class", "synthetic_val_per_class"):
                if getattr(d, key) < 1:
                    raise ConfigError(f"data.{key}={getattr(d, key)}: must be at least 1")
            if m.num_classes < d.synthetic_classes:
                raise ConfigError(
                    f"model.num_classes={m.num_classes} is smaller than "
                    f"data.synthetic_classes={d.synthetic_classes}"
                )
        _check_range("data.crop_scale", d.crop_scale, 0.0, 1.0)
        _check_range("data.crop_ratio", d.crop_ratio, 0.0, float("inf"))
        if not 0.0 < d.eval_crop_fraction <= 1.0:
            raise ConfigError(
                f"data.eval_crop_fraction={d.eval_crop_fraction}: must be in (0, 1] (0.875: "
                "resize to 256, crop 224)"
            )
        if t.batch_size < 1 or config.eval.batch_size < 0:
            raise ConfigError(
                f"train.batch_size={t.batch_size} must be >= 1 and eval.batch_size="
                f"{config.eval.batch_size} >= 0"
            )

    # -- data -----------------------------------------------------------------------------------
    def load_data(self, config):
        d, num_classes = config.data, config.model.num_classes
        root = data_root(d)
        if d.dataset == "synthetic" or d.format == "folder":
            train = list_image_folder(os.path.join(root, d.train_split), check_files=d.check_files)
            if len(train.class_names) > num_classes:
                raise DataError(
                    f"{train.root}: {len(train.class_names)} class folders but model.num_classes="
                    f"{num_classes}"
                )
            val = list_image_folder(
                os.path.join(root, d.val_split), train.class_names, check_files=d.check_files
            )
            notes = [line for line in (train.report(), val.report()) if line]
            return TaskData(train=train, val=val, notes=notes, num_train=len(train))
        if d.num_train_examples:
            files = tfrecord_files(root, d.train_pattern)
            train = TFRecordSplit(root=root, files=files, num_examples=d.num_train_examples)
        else:
            train = scan_tfrecords(root, d.train_pattern, d.label_offset, num_classes)
        # Bad validation records are reported by name by the evaluation itself.
        val = scan_tfrecords(root, d.val_pattern, d.label_offset, num_classes)
        notes = [line for line in (train.report(),) if line]
        return TaskData(train=train, val=val, notes=notes, num_train=len(train))

    def train_dataset(self, config, data, input_context=None, epoch=0):
        d = config.data
        common = {
            "batch_size": per_replica_batch_size(config, input_context),
            "image_size": image_size_hw(d.image_size),
            "seed": epoch_seed(config, epoch),
            "shard": shard_of(input_context),
            "scale": tuple(d.crop_scale),
            "ratio": tuple(d.crop_ratio),
            "num_parallel_calls": d.num_parallel_calls,
        }
        if isinstance(data.train, TFRecordSplit):
            return pipeline.tfrecord_train_dataset(
                data.train, num_classes=config.model.num_classes, label_offset=d.label_offset,
                shuffle_buffer=d.shuffle_buffer, **common,
            )
        return pipeline.folder_train_dataset(data.train, **common)

    # -- model, loss, evaluation ----------------------------------------------------------------
    def build_model(self, config):
        from hrnet_tf.models import HRNetClassifier

        m, d = config.model, config.data
        h, w = image_size_hw(d.image_size)
        if m.head == "pooled":
            from hrnet_tf.convert.checkpoints import load_weights

            model = pooled_classifier(m.width, m.num_classes, (h, w, 3),
                                      bn_momentum=m.bn_momentum, sync_bn=m.sync_bn)
            if m.weights:
                load_weights(model, m.weights)
        else:
            model = HRNetClassifier(
                m.width,
                num_classes=m.num_classes,
                input_shape=(h, w, 3),
                head_conv_bias=m.head_conv_bias,
                bn_momentum=m.bn_momentum,
                sync_bn=m.sync_bn,
                weights=m.weights or None,
            )
        model.info = model.info.replace(labels={
            "dataset": d.dataset,
            "class_names": class_names(config),
            "eval_crop_fraction": d.eval_crop_fraction,
        })
        return model

    def build_criterion(self, config):
        from hrnet_tf.classification.loss import CrossEntropy

        return CrossEntropy()

    def build_evaluator(self, config, data):
        from hrnet_tf.classification.evaluator import ClassificationEvaluator

        d = config.data
        return ClassificationEvaluator(
            data.val,
            image_size=image_size_hw(d.image_size),
            batch_size=config.eval.batch_size or config.train.batch_size,
            num_classes=config.model.num_classes,
            crop_fraction=d.eval_crop_fraction,
            label_offset=d.label_offset,
            num_parallel_calls=d.num_parallel_calls,
        )


__all__ = [
    "ClassificationConfig",
    "ClassificationDataConfig",
    "ClassificationModelConfig",
    "ClassificationTask",
    "class_names",
    "data_root",
    "pooled_classifier",
]
