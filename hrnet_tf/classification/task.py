"""ImageNet classification with HRNet-Wxx-C: config, task, evaluation (top-1 / top-5).

Defaults are the official recipe (HRNet-Image-Classification ``cls_hrnet_w*_sgd_lr5e-2_wd1e-4_
bs32_x100.yaml``): SGD with Nesterov momentum 0.9, lr 0.05, weight decay 1e-4 (L2 on the
gradient), global batch 128, 100 epochs, x0.1 at epochs 30/60/90, cross-entropy.

    python train/classify.py --config configs/classification/w18.yaml --data-dir /data/imagenet
"""

import math
import os
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from hrnet_tf.training.config import (
    Config,
    DataConfig,
    DataError,
    EvalConfig,
    ModelConfig,
    TrainConfig,
    image_size_hw,
)
from hrnet_tf.training.task import Task, epoch_seed, per_replica_batch_size


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
    format: Literal["folder", "tfrecord", "synthetic"] = "folder"
    train_split: str = "train"
    val_split: str = "val"
    train_pattern: str = "train-*"  # TFRecord shards
    val_pattern: str = "validation-*"
    label_offset: int = 0  # subtracted from TFRecord labels (1 for 1..1000 shards)
    num_train_examples: int = 0  # TFRecord: 0 = count the records once
    crop_scale: list[float] = field(default_factory=lambda: [0.08, 1.0])
    crop_ratio: list[float] = field(default_factory=lambda: [3 / 4, 4 / 3])
    eval_crop_fraction: float = 0.875  # resize to 224 / 0.875 = 256, centre-crop 224
    check_files: bool = True  # check magic bytes and end markers while listing
    # format "synthetic": a generated folder dataset (written to data.dir, or runs/.synthetic)
    synthetic_classes: int = 4
    synthetic_train_per_class: int = 40
    synthetic_val_per_class: int = 10


@dataclass
class ClassificationConfig(Config):
    model: ClassificationModelConfig = field(default_factory=ClassificationModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    data: ClassificationDataConfig = field(default_factory=ClassificationDataConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)


def cross_entropy(labels, logits):
    """Per-example softmax cross-entropy of integer labels (PyTorch ``CrossEntropyLoss``)."""
    import tensorflow as tf

    return tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.cast(tf.reshape(labels, [-1]), tf.int32), logits=tf.cast(logits, tf.float32)
    )


def topk_correct(labels, logits, k):
    """1.0 where the label is among the ``k`` highest logits (ties count as correct)."""
    import tensorflow as tf

    labels = tf.cast(tf.reshape(labels, [-1]), tf.int32)
    k = min(k, int(logits.shape[-1]))
    return tf.cast(tf.math.in_top_k(labels, tf.cast(logits, tf.float32), k), tf.float32)


class ClassificationTask(Task):
    """HRNet-Wxx-C on an ImageNet-style dataset (folder layout, TFRecords or synthetic)."""

    name = "classify"
    config_class = ClassificationConfig

    def __init__(self):
        self._train_listing = None
        self._val_listing = None
        self._tfrecord_scan = None
        self._reports = {}

    # -- command line ---------------------------------------------------------------------------
    def default_overrides(self):
        """No ``--config``: a quick synthetic demo with the tiny network."""
        return [
            "model.width=tiny",
            "model.num_classes=4",
            "data.format=synthetic",
            "data.image_size=32",
            "train.batch_size=16",
            "train.epochs=3",
            "train.lr=0.05",
            "train.lr_steps=[2]",
            "train.checkpoint_every_steps=20",
        ]

    # -- data -----------------------------------------------------------------------------------
    def _data_dir(self, config):
        d = config.data
        if d.format == "synthetic":
            from hrnet_tf.data.synthetic_classification import write_image_folder

            root = d.dir or os.path.join("runs", ".synthetic_classification")
            ours = os.path.exists(os.path.join(root, ".done"))
            if os.path.isdir(root) and os.listdir(root) and not ours:
                raise DataError(
                    f"data.format=synthetic would write into {root}, which holds other files; "
                    "use data.format=folder to read it, or an empty data.dir"
                )
            return write_image_folder(
                root, d.synthetic_classes, d.synthetic_train_per_class, d.synthetic_val_per_class
            )
        if not d.dir:
            raise DataError("no data directory: pass --data-dir DIR or set data.dir")
        if not os.path.isdir(d.dir):
            raise DataError(f"data directory not found: {d.dir}")
        return d.dir

    def _listing(self, config, split):
        from hrnet_tf.data.imagenet import list_image_folder

        if split == "train":
            if self._train_listing is None:
                root = os.path.join(self._data_dir(config), config.data.train_split)
                self._train_listing = list_image_folder(root, check_files=config.data.check_files)
                self._note(self._train_listing)
            return self._train_listing
        if self._val_listing is None:
            train = self._listing(config, "train")
            root = os.path.join(self._data_dir(config), config.data.val_split)
            self._val_listing = list_image_folder(
                root, train.class_names, check_files=config.data.check_files
            )
            self._note(self._val_listing)
        return self._val_listing

    def _note(self, listing):
        line = listing.report()
        if line:
            self._reports[listing.root] = line

    def _check_classes(self, config, num_found):
        if num_found > config.model.num_classes:
            raise DataError(
                f"{self._data_dir(config)}: {num_found} classes found but model.num_classes="
                f"{config.model.num_classes}"
            )

    def _tfrecords(self, config, split):
        from hrnet_tf.data.imagenet import tfrecord_files

        pattern = config.data.train_pattern if split == "train" else config.data.val_pattern
        return tfrecord_files(self._data_dir(config), pattern)

    def steps_per_epoch(self, config):
        if config.data.format == "tfrecord":
            count = config.data.num_train_examples
            if not count:
                from hrnet_tf.data.imagenet import scan_tfrecords

                files = self._tfrecords(config, "train")
                count, bad, first = scan_tfrecords(files, config.data.label_offset)
                count -= bad
                if bad:
                    self._reports["tfrecord-train"] = (
                        f"{config.data.dir}: skipped {bad} of {count + bad} records that are not "
                        f"complete images: {'; '.join(first)}"
                    )
        else:
            listing = self._listing(config, "train")
            self._check_classes(config, len(listing.class_names))
            count = len(listing.paths)
        return count // config.train.batch_size

    def train_dataset(self, config, input_context=None, epoch=0):
        from hrnet_tf.data import imagenet

        d = config.data
        common = {
            "batch_size": per_replica_batch_size(config, input_context),
            "image_size": image_size_hw(d.image_size),
            "seed": epoch_seed(config, epoch),
            "input_context": input_context,
            "scale": tuple(d.crop_scale),
            "ratio": tuple(d.crop_ratio),
            "num_parallel_calls": d.num_parallel_calls,
        }
        if d.format == "tfrecord":
            return imagenet.tfrecord_train_dataset(
                self._tfrecords(config, "train"),
                label_offset=d.label_offset,
                shuffle_buffer=d.shuffle_buffer,
                **common,
            )
        listing = self._listing(config, "train")
        return imagenet.folder_train_dataset(listing.paths, listing.labels, **common)

    def eval_dataset(self, config):
        from hrnet_tf.data import imagenet

        d = config.data
        batch = config.eval.batch_size or config.train.batch_size
        size = image_size_hw(d.image_size)
        if d.format == "tfrecord":
            return imagenet.tfrecord_eval_dataset(
                self._tfrecords(config, "val"), batch, size, d.label_offset, d.eval_crop_fraction
            )
        listing = self._listing(config, "val")
        return imagenet.folder_eval_dataset(
            listing.paths, listing.labels, batch, size, d.eval_crop_fraction
        )

    # -- model and loss -------------------------------------------------------------------------
    def build_model(self, config):
        from hrnet_tf.models import HRNetClassifier

        h, w = image_size_hw(config.data.image_size)
        m = config.model
        if m.head == "pooled":
            return pooled_classifier(config)
        return HRNetClassifier(
            m.width,
            num_classes=m.num_classes,
            input_shape=(h, w, 3),
            head_conv_bias=m.head_conv_bias,
            bn_momentum=m.bn_momentum,
            sync_bn=m.sync_bn,
            weights=m.weights or None,
        )

    def loss(self, targets, outputs, sample_weight=None):
        per_example = cross_entropy(targets, outputs)
        if sample_weight is not None:
            per_example = per_example * sample_weight
        return per_example

    def train_metrics(self, targets, outputs, sample_weight=None):
        return {"top1": topk_correct(targets, outputs, 1)}

    # -- evaluation -----------------------------------------------------------------------------
    def evaluate(self, model, config, out_dir):
        metrics = evaluate_classifier(model, self.eval_dataset(config))
        if config.data.format != "tfrecord":
            # Files that pass the header/end-marker check but fail in the decoder are dropped by
            # the pipeline; count them here so that they are reported, not silently missing.
            listing = self._listing(config, "val")
            undecodable = len(listing.paths) - int(metrics["examples"])
            if undecodable > 0:
                metrics["undecodable"] = undecodable
                self._reports["val_undecodable"] = (
                    f"{listing.root}: {undecodable} image(s) could not be decoded and are left out "
                    "of top1/top5"
                )
        return metrics

    def on_run_end(self):
        return list(self._reports.values())


def pooled_classifier(config):
    """HRNetV2 features (all branches at stride 4, concatenated), global average pool, linear."""
    import keras

    from hrnet_tf.models import HRNetV2

    m = config.model
    h, w = image_size_hw(config.data.image_size)
    trunk = HRNetV2(
        m.width,
        num_classes=None,
        input_shape=(h, w, 3),
        bn_momentum=m.bn_momentum,
        sync_bn=m.sync_bn,
    )
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(trunk.output)
    logits = keras.layers.Dense(m.num_classes, name="classifier")(x)
    model = keras.Model(trunk.input, logits, name=f"{trunk.name}_pooled_cls")
    if m.weights:
        model.load_weights(m.weights)
    return model


def evaluate_classifier(model, dataset):
    """Top-1 / top-5 accuracy (fractions) and the example count over ``dataset``.

    >>> # metrics = evaluate_classifier(model, task.eval_dataset(config))
    """
    import tensorflow as tf

    @tf.function
    def predict(images):
        return tf.cast(model(images, training=False), tf.float32)

    correct1 = correct5 = total = 0
    for images, labels in dataset:
        logits = predict(images)
        correct1 += float(tf.reduce_sum(topk_correct(labels, logits, 1)))
        correct5 += float(tf.reduce_sum(topk_correct(labels, logits, 5)))
        total += int(labels.shape[0])
    if total == 0:
        return {"top1": math.nan, "top5": math.nan, "examples": 0}
    return {
        "top1": correct1 / total,
        "top5": correct5 / total,
        "examples": float(np.float64(total)),
    }


__all__ = [
    "ClassificationConfig",
    "ClassificationDataConfig",
    "ClassificationModelConfig",
    "ClassificationTask",
    "cross_entropy",
    "evaluate_classifier",
    "topk_correct",
]
