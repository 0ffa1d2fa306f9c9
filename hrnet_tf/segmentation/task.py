"""The segmentation task for the shared trainer: config sections, model, data, loss, evaluation.

    python train/segment.py --dataset cityscapes --data-dir /data/cityscapes
    python train/segment.py --config configs/segmentation/cityscapes_w48_512x1024.yaml \\
        --data-dir /data/cityscapes --out runs/w48 --set loss.use_ohem=true
    python train/segment.py --dataset synthetic          # generated scenes, tiny model, CPU

``--dataset NAME`` without ``--config`` picks the official experiment of that dataset
(``DEFAULT_CONFIGS``); with ``--config`` it only overrides ``data.dataset``.
"""

import json
import os
import shutil
from dataclasses import dataclass, field
from typing import Literal

from hrnet_tf.segmentation.datasets import DATASETS, DatasetError, dataset_info, list_pairs
from hrnet_tf.training.config import (
    Config,
    DataConfig,
    EvalConfig,
    ModelConfig,
    TrainConfig,
    image_size_hw,
    load_config,
)
from hrnet_tf.training.task import Task, epoch_seed, per_replica_batch_size

CONFIG_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "configs", "segmentation")
DEFAULT_CONFIGS = {
    "cityscapes": "cityscapes_w48_512x1024.yaml",
    "pascal_context": "pascal_context_w48_cls59_480x480.yaml",
    "pascal_context_60": "pascal_context_w48_cls60_480x480.yaml",
    "lip": "lip_w48_473x473.yaml",
    "generic": "generic_example.yaml",
    "synthetic": "synthetic_tiny.yaml",
}
SYNTHETIC_DEFAULT_DIR = os.path.join("runs", "segment", "synthetic_data")


@dataclass
class SegmentationModelConfig(ModelConfig):
    width: int | str = 48
    num_classes: int = 19
    bn_momentum: float = 0.99  # Keras convention; the official seg BN_MOMENTUM 0.01
    upsample_method: Literal["bilinear", "bilinear_align_corners"] = "bilinear"
    pretrained: str = ""  # ImageNet backbone weights (.pth / .weights.h5), loaded non-strictly


@dataclass
class SegmentationTrainConfig(TrainConfig):
    epochs: int = 484
    batch_size: int = 12
    lr: float = 0.01
    optimizer: Literal["sgd", "adam", "adamw"] = "sgd"
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 5e-4
    schedule: Literal["multistep", "poly", "cosine", "constant"] = "poly"
    poly_power: float = 0.9


@dataclass
class SegmentationDataConfig(DataConfig):
    dataset: str = "cityscapes"
    image_size: int | list[int] = field(default_factory=lambda: [512, 1024])  # crop (h, w)
    base_size: int = 0  # long side at random scale 1.0; 0: the dataset's official value
    scale_factor: int = -1  # random scale 0.5 + randint(0, scale_factor)/10; -1: official
    train_split: str = "train"
    val_split: str = "val"
    ignore_label: int = 255
    id_mapping: dict = field(default_factory=dict)  # generic: {raw label value: class index}
    class_names: list[str] = field(default_factory=list)
    image_dir: str = "images/{split}"  # generic layout
    label_dir: str = "labels/{split}"
    image_suffix: str = ".jpg"
    label_suffix: str = ".png"
    on_bad: Literal["error", "skip"] = "error"  # bad sample: stop with one line, or skip+count
    # Synthetic scenes (--dataset synthetic): counts and scene size (h, w).
    synthetic_train: int = 192
    synthetic_val: int = 12
    synthetic_size: list[int] = field(default_factory=lambda: [256, 512])


@dataclass
class SegmentationLossConfig:
    use_ohem: bool = False
    ohem_thresh: float = 0.9
    ohem_keep: int = 131072
    class_weights: list[float] | None = None  # None: the dataset's (Cityscapes) or uniform
    use_class_weights: bool = True


@dataclass
class SegmentationEvalConfig(EvalConfig):
    mode: Literal["whole", "sliding", "multiscale"] = "whole"
    scales: list[float] = field(default_factory=lambda: [1.0])
    flip: bool = False
    base_size: int = 0  # multiscale: long side at scale 1 (0: the image's own)
    max_images: int = 0  # 0: the whole split
    save_predictions: bool = False


@dataclass
class SegmentationConfig(Config):
    model: SegmentationModelConfig = field(default_factory=SegmentationModelConfig)
    train: SegmentationTrainConfig = field(default_factory=SegmentationTrainConfig)
    data: SegmentationDataConfig = field(default_factory=SegmentationDataConfig)
    eval: SegmentationEvalConfig = field(default_factory=SegmentationEvalConfig)
    loss: SegmentationLossConfig = field(default_factory=SegmentationLossConfig)


def dataset_of(config):
    """The ``DatasetInfo`` of a config (classes, lookup table, augmentation sizes)."""
    d = config.data
    info = dataset_info(
        d.dataset,
        num_classes=config.model.num_classes,
        ignore_label=d.ignore_label,
        id_mapping=d.id_mapping or None,
        class_names=d.class_names or None,
        base_size=d.base_size or None,
        crop_size=image_size_hw(d.image_size),
    )
    if d.scale_factor >= 0:
        info.scale_factor = d.scale_factor
    return info


def data_dir_of(config):
    if config.data.dir:
        return config.data.dir
    if config.data.dataset == "synthetic":
        return SYNTHETIC_DEFAULT_DIR
    raise DatasetError(f"dataset '{config.data.dataset}': no data directory; pass --data-dir DIR")


def ensure_synthetic(config):
    """Generates the synthetic Cityscapes-layout dataset unless it is already there."""
    from hrnet_tf.data.synthetic_segmentation import write_synthetic_cityscapes

    d = config.data
    root = data_dir_of(config)
    marker = os.path.join(root, "synthetic.json")
    wanted = {"train": d.synthetic_train, "val": d.synthetic_val, "size": list(d.synthetic_size),
              "seed": config.seed}
    if os.path.isfile(marker):
        with open(marker) as f:
            if json.load(f) == wanted:
                return root
        # Our own earlier scenes with other settings: replace them, leaving no stale files.
        for sub in ("leftImg8bit", "gtFine"):
            shutil.rmtree(os.path.join(root, sub), ignore_errors=True)
    elif os.path.isdir(root) and os.listdir(root):
        raise DatasetError(
            f"synthetic: {root} is not empty and holds no synthetic.json; the synthetic dataset "
            "is only generated into a new or empty directory"
        )
    write_synthetic_cityscapes(root, d.synthetic_train, d.synthetic_val,
                               tuple(d.synthetic_size), seed=config.seed)
    with open(marker, "w") as f:
        json.dump(wanted, f)
    return root


def load_pairs(config, split):
    """(image, label) pairs of ``split`` and the count of unpaired files skipped."""
    d = config.data
    if d.dataset == "synthetic":
        ensure_synthetic(config)
    return list_pairs(
        d.dataset, data_dir_of(config), split, on_missing=d.on_bad,
        image_dir=d.image_dir, label_dir=d.label_dir,
        image_suffix=d.image_suffix, label_suffix=d.label_suffix,
    )


class SegmentationTask(Task):
    """HRNetV2 semantic segmentation (see the module docstring)."""

    name = "segment"
    config_class = SegmentationConfig

    def __init__(self):
        self._pairs = {}
        self._skipped = {}
        self._report = None
        self._criterion = None

    # -- command line ---------------------------------------------------------------------------
    def default_config(self):
        return os.path.normpath(os.path.join(CONFIG_DIR, DEFAULT_CONFIGS["cityscapes"]))

    def add_arguments(self, parser):
        parser.add_argument(
            "--dataset", choices=DATASETS, default=None,
            help="dataset; without --config also selects its official experiment config",
        )

    def apply_arguments(self, args, config):
        if args.dataset is None:
            return config
        if args.config is None:
            # Re-read the dataset's own experiment with the user's overrides on top.
            path = os.path.normpath(os.path.join(CONFIG_DIR, DEFAULT_CONFIGS[args.dataset]))
            overrides = [f"data.dir={args.data_dir}"] if args.data_dir else []
            overrides += [item for group in args.overrides for item in group]
            config = load_config(path, SegmentationConfig, overrides)
        config.data.dataset = args.dataset
        # Check the data now, before TensorFlow starts: a wrong path gives one line, exit 2.
        self.pairs(config, config.data.train_split)
        return config

    # -- data -----------------------------------------------------------------------------------
    def pairs(self, config, split):
        key = (config.data.dataset, data_dir_of(config), split)
        if key not in self._pairs:
            self._pairs[key], self._skipped[key] = load_pairs(config, split)
        return self._pairs[key]

    def train_dataset(self, config, input_context=None, epoch=0):
        from hrnet_tf.segmentation.pipeline import train_dataset

        pairs = self.pairs(config, config.data.train_split)
        shard = None
        if input_context is not None and input_context.num_input_pipelines > 1:
            shard = (input_context.num_input_pipelines, input_context.input_pipeline_id)
        parallel = config.data.num_parallel_calls
        return train_dataset(
            pairs, dataset_of(config), per_replica_batch_size(config, input_context),
            seed=epoch_seed(config, epoch), on_bad=config.data.on_bad, shard=shard,
            num_parallel_calls=parallel if parallel > 0 else -1,
        )

    def steps_per_epoch(self, config):
        return len(self.pairs(config, config.data.train_split)) // config.train.batch_size

    # -- model and loss -------------------------------------------------------------------------
    def build_model(self, config):
        import hrnet_tf

        m = config.model
        model = hrnet_tf.HRNetV2(
            m.width, num_classes=m.num_classes, bn_momentum=m.bn_momentum,
            upsample_method=m.upsample_method, sync_bn=m.sync_bn,
        )
        if m.pretrained:
            hrnet_tf.load_weights(model, m.pretrained, strict=False)
        # The trainer calls loss() without the config: fix the criterion here.
        self._criterion = self.criterion(config)
        return model

    def criterion(self, config):
        from hrnet_tf.segmentation.loss import SegmentationLoss

        info = dataset_of(config)
        lc = config.loss
        weights = None
        if lc.use_class_weights:
            weights = lc.class_weights or info.class_weights
        return SegmentationLoss(
            info.num_classes, weights, info.ignore_label, lc.use_ohem, lc.ohem_thresh,
            lc.ohem_keep,
        )

    def loss(self, targets, outputs, sample_weight=None):
        if self._criterion is None:
            raise RuntimeError("SegmentationTask.loss needs build_model(config) first")
        if sample_weight is not None:
            raise ValueError("segmentation batches carry no sample weights")
        return self._criterion(targets, outputs)

    # -- evaluation -----------------------------------------------------------------------------
    def evaluate(self, model, config, out_dir):
        from hrnet_tf.segmentation.evaluate import evaluate_pairs

        e = config.eval
        report = evaluate_pairs(
            model, self.pairs(config, config.data.val_split), dataset_of(config),
            out_dir=os.path.join(out_dir, "eval"), mode=e.mode, scales=e.scales, flip=e.flip,
            base_size=e.base_size or None, on_bad=config.data.on_bad,
            save_predictions=e.save_predictions, max_images=e.max_images,
        )
        self._report = report
        return report

    def on_run_end(self):
        lines = []
        skipped = sum(self._skipped.values())
        if skipped:
            lines.append(f"skipped {skipped} unpaired file(s) (data.on_bad=skip)")
        if self._report is not None:
            if self._report["skipped"]:
                lines.append(f"skipped {self._report['skipped']} bad evaluation sample(s)")
            lines.append(f"mIoU {self._report['mIoU']:.4f} ({self._report['num_images']} images)")
        return lines


__all__ = [
    "DEFAULT_CONFIGS",
    "SegmentationConfig",
    "SegmentationTask",
    "dataset_of",
    "load_pairs",
]
