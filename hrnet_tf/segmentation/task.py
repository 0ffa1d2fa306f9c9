"""The segmentation task: its config sections and the ``Task`` the shared trainer runs.

    python train/segment.py                                   # the synthetic demo (CPU, no data)
    python train/segment.py --data-dir /data/cityscapes       # Cityscapes HRNetV2-W48, official
    python train/segment.py --dataset lip --data-dir /data/lip
    python train/segment.py --config configs/segmentation/cityscapes_w48_ohem_512x1024.yaml \\
        --data-dir /data/cityscapes --out runs/w48 --set loss.use_ohem=true

``--dataset NAME`` without ``--config`` picks the official experiment of that dataset
(``DATASET_CONFIGS``); with ``--config`` it only sets ``data.dataset``.
"""

import os
from dataclasses import dataclass, field
from typing import Literal

from hrnet_tf.errors import ConfigError, DataError
from hrnet_tf.segmentation.sources import dataset_info, layout_of, list_pairs
from hrnet_tf.training.config import (
    Config,
    DataConfig,
    EvalConfig,
    ModelConfig,
    TrainConfig,
    image_size_hw,
)
from hrnet_tf.training.task import Task, TaskData, epoch_seed, per_replica_batch_size, shard_of

DATASET_CONFIGS = {
    "cityscapes": "cityscapes_w48_512x1024.yaml",
    "pascal_context": "pascal_context_w48_cls59_480x480.yaml",
    "pascal_context_60": "pascal_context_w48_cls60_480x480.yaml",
    "lip": "lip_w48_473x473.yaml",
    "generic": "generic_example.yaml",
    "synthetic": "synthetic_tiny.yaml",
}


@dataclass
class SegmentationModelConfig(ModelConfig):
    width: int | str = 48
    num_classes: int = 19
    head: Literal["hrnetv2", "ocr"] = "hrnetv2"  # official MODEL.NAME seg_hrnet / seg_hrnet_ocr
    bn_momentum: float = 0.99  # Keras convention; the official seg BN_MOMENTUM 0.01 (OCR: 0.1)
    # MODEL.ALIGN_CORNERS: the fusion upsampling, the loss's and the test's logit resizes.
    # None: True for head=ocr, False for hrnetv2 (or what upsample_method says).
    align_corners: bool | None = None
    upsample_method: Literal["", "bilinear", "bilinear_align_corners"] = ""  # "" = align_corners
    final_conv_kernel: int = 1  # MODEL.EXTRA.FINAL_CONV_KERNEL (HRNetV2 head)
    ocr_mid_channels: int = 512  # MODEL.OCR.MID_CHANNELS
    ocr_key_channels: int = 256  # MODEL.OCR.KEY_CHANNELS
    ocr_dropout: float = 0.05  # MODEL.OCR.DROPOUT
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
    ohem_images_per_group: int = 3  # min_kept per this many images (official: per GPU, 3 each)
    balance_weights: list[float] = field(default_factory=lambda: [0.4, 1.0])  # OCR [aux, out]


@dataclass
class SegmentationEvalConfig(EvalConfig):
    mode: Literal["whole", "sliding", "multiscale"] = "whole"
    scales: list[float] = field(default_factory=lambda: [1.0])
    flip: bool = False
    base_size: int = 0  # multiscale: long side at scale 1, TEST.BASE_SIZE (0: the image's own)
    test_size: list[int] = field(default_factory=list)  # TEST.IMAGE_SIZE (h, w); []: dataset's
    stride: list[int] = field(default_factory=list)  # window stride (h, w); []: official
    protocol: Literal["", "cityscapes", "generic"] = ""  # "": the dataset's official rule
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
    if config.eval.test_size:
        size = config.eval.test_size
        info.test_size = (int(size[0]), int(size[-1]))
    elif d.dataset == "synthetic":
        info.test_size = tuple(int(v) for v in d.synthetic_size)  # whole scenes, as Cityscapes
    if config.eval.protocol:
        info.protocol = config.eval.protocol
    return info


def align_corners_of(config):
    """``model.align_corners`` resolved (official ``MODEL.ALIGN_CORNERS``): True for HRNet-OCR,
    False for HRNetV2, unless set (or implied by ``model.upsample_method``)."""
    m = config.model
    if m.align_corners is not None:
        return bool(m.align_corners)
    if m.upsample_method:
        return m.upsample_method == "bilinear_align_corners"
    return m.head == "ocr"


def upsample_method_of(config):
    return "bilinear_align_corners" if align_corners_of(config) else "bilinear"


def data_dir_of(config):
    """``data.dir``; for the synthetic demo, ``runs/synthetic/segment`` when it is empty."""
    from hrnet_tf.data.synthetic import default_root

    d = config.data
    if d.dir:
        return d.dir
    if d.dataset == "synthetic":
        return default_root(SegmentationTask.name)
    layout = layout_of(d.dataset, d.train_split, d.image_dir, d.label_dir, d.image_suffix,
                       d.label_suffix)[-1]
    raise DataError(f"{d.dataset}: data.dir is empty; pass --data-dir DIR (expected {layout})")


def _require(ok, key, value, why):
    if not ok:
        raise ConfigError(f"{key}={value!r}: {why}")


class SegmentationTask(Task):
    """HRNetV2 semantic segmentation (see the module docstring). Stateless: every method works
    from the config (and the :class:`TaskData` that ``load_data`` returned)."""

    name = "segment"
    config_class = SegmentationConfig
    config_dir = "segmentation"
    dataset_configs = DATASET_CONFIGS
    default_dataset = "cityscapes"

    # -- configuration ---------------------------------------------------------------------------
    def validate(self, config):
        from hrnet_tf.models.specs import resolve_spec

        m, d, t, e, lo = config.model, config.data, config.train, config.eval, config.loss
        try:
            resolve_spec(m.width)
        except ConfigError as err:
            raise ConfigError(f"model.width={m.width!r}: {err}") from None
        _require(m.num_classes >= 1, "model.num_classes", m.num_classes, "must be at least 1")
        _require(not m.pretrained or os.path.isfile(m.pretrained), "model.pretrained",
                 m.pretrained, "file not found")
        crop = image_size_hw(d.image_size)
        _require(min(crop) >= 1, "data.image_size", d.image_size,
                 "the crop height and width must be positive")
        _require(d.base_size >= 0, "data.base_size", d.base_size, "must be >= 0 (0: official)")
        _require(d.scale_factor >= -1, "data.scale_factor", d.scale_factor,
                 "must be >= 0 (-1: official)")
        _require(0 <= d.ignore_label <= 255, "data.ignore_label", d.ignore_label,
                 "label PNGs hold 0..255")
        _require(bool(d.train_split and d.val_split), "data.train_split/val_split",
                 [d.train_split, d.val_split], "both must be set")
        _require(d.ignore_label >= m.num_classes, "data.ignore_label", d.ignore_label,
                 f"is a class index (model.num_classes={m.num_classes})")
        info = dataset_of(config)  # class counts vs the dataset, id_mapping, class_names
        if lo.use_class_weights and lo.class_weights is not None:
            _require(len(lo.class_weights) == info.num_classes, "loss.class_weights",
                     lo.class_weights,
                     f"has {len(lo.class_weights)} entries for {info.num_classes} classes")
            _require(min(lo.class_weights) >= 0, "loss.class_weights", lo.class_weights,
                     "weights must be >= 0")
        _require(0 < lo.ohem_thresh <= 1, "loss.ohem_thresh", lo.ohem_thresh,
                 "is a probability in (0, 1]")
        _require(lo.ohem_keep >= 1, "loss.ohem_keep", lo.ohem_keep, "must be at least 1")
        _require(t.batch_size >= 1, "train.batch_size", t.batch_size, "must be at least 1")
        _require(bool(e.scales) and min(e.scales) > 0, "eval.scales", e.scales,
                 "needs at least one scale, all > 0")
        _require(e.base_size >= 0, "eval.base_size", e.base_size, "must be >= 0")
        _require(not e.test_size or (len(e.test_size) in (1, 2) and min(e.test_size) >= 1),
                 "eval.test_size", e.test_size, "is [height, width], both >= 1 ([]: official)")
        _require(not e.stride or (len(e.stride) == 2 and min(e.stride) >= 1), "eval.stride",
                 e.stride, "is [height, width], both >= 1 ([]: official)")
        _require(m.final_conv_kernel in (1, 3), "model.final_conv_kernel", m.final_conv_kernel,
                 "is 1 or 3 (official FINAL_CONV_KERNEL)")
        _require(m.head == "hrnetv2" or m.final_conv_kernel == 1, "model.final_conv_kernel",
                 m.final_conv_kernel, "HRNet-OCR's cls_head is 1x1")
        _require(min(m.ocr_mid_channels, m.ocr_key_channels) >= 1,
                 "model.ocr_mid_channels/ocr_key_channels",
                 [m.ocr_mid_channels, m.ocr_key_channels], "must be >= 1")
        _require(0 <= m.ocr_dropout < 1, "model.ocr_dropout", m.ocr_dropout, "is in [0, 1)")
        _require(m.align_corners is None or not m.upsample_method
                 or (m.upsample_method == "bilinear_align_corners") == bool(m.align_corners),
                 "model.upsample_method", m.upsample_method,
                 f"contradicts model.align_corners={m.align_corners}")
        _require(lo.ohem_images_per_group >= 1, "loss.ohem_images_per_group",
                 lo.ohem_images_per_group, "must be at least 1")
        _require(m.head != "ocr" or len(lo.balance_weights) == 2, "loss.balance_weights",
                 lo.balance_weights, "HRNet-OCR has two outputs: [aux, out]")
        _require(e.max_images >= 0, "eval.max_images", e.max_images, "must be >= 0 (0: all)")
        if d.dataset == "synthetic":
            size = list(d.synthetic_size)
            _require(len(size) == 2 and min(size) >= 8, "data.synthetic_size", size,
                     "is [height, width], both >= 8")
            _require(d.synthetic_train >= t.batch_size, "data.synthetic_train",
                     d.synthetic_train, f"fewer scenes than train.batch_size={t.batch_size}")
            _require(d.synthetic_val >= 1, "data.synthetic_val", d.synthetic_val,
                     "must be at least 1")

    # -- data -----------------------------------------------------------------------------------
    def list_split(self, config, split):
        """(image, label) pairs of ``split`` and the unpaired ``(file, why)`` skipped; generates
        the synthetic scenes first (regenerated when their settings change)."""
        d = config.data
        root = data_dir_of(config)
        if d.dataset == "synthetic":
            from hrnet_tf.segmentation.synthetic import ensure_scenes

            ensure_scenes(root, d.synthetic_train, d.synthetic_val, d.synthetic_size, config.seed)
        return list_pairs(d.dataset, root, split, d.on_bad, image_dir=d.image_dir,
                          label_dir=d.label_dir, image_suffix=d.image_suffix,
                          label_suffix=d.label_suffix)

    def load_data(self, config):
        from hrnet_tf.evaluation import SkipReport
        from hrnet_tf.segmentation.pipeline import check_pairs

        d = config.data
        train, train_skips = self.list_split(config, d.train_split)
        val, val_skips = self.list_split(config, d.val_split)
        if d.on_bad == "skip":
            # Bad samples are left out of training; finding them first is what lets the run
            # name them at its end.
            train, bad = check_pairs(train, dataset_of(config).label_lut)
            train_skips += bad
            if not train:
                raise DataError(f"{data_dir_of(config)}: no usable training pair in split "
                                f"'{d.train_split}' ({len(train_skips)} skipped)")
        notes = []
        for split, skips in ((d.train_split, train_skips), (d.val_split, val_skips)):
            report = SkipReport(f"{split} split")
            for file, why in skips:
                report.add(file, why)
            notes += report.lines()
        return TaskData(train=train, val=val, notes=notes, num_train=len(train))

    def train_dataset(self, config, data, input_context=None, epoch=0):
        from hrnet_tf.segmentation.pipeline import train_dataset

        parallel = config.data.num_parallel_calls
        return train_dataset(
            data.train, dataset_of(config), per_replica_batch_size(config, input_context),
            seed=epoch_seed(config, epoch), on_bad=config.data.on_bad,
            shard=shard_of(input_context), num_parallel_calls=parallel if parallel > 0 else -1,
        )

    # -- model, loss, evaluation ----------------------------------------------------------------
    def build_model(self, config):
        import hrnet_tf

        m = config.model
        info = dataset_of(config)
        if m.head == "ocr":
            model = hrnet_tf.HRNetOCR(
                m.width, num_classes=info.num_classes, bn_momentum=m.bn_momentum,
                upsample_method=upsample_method_of(config), sync_bn=m.sync_bn,
                ocr_mid_channels=m.ocr_mid_channels, ocr_key_channels=m.ocr_key_channels,
                dropout=m.ocr_dropout,
            )
        else:
            model = hrnet_tf.HRNetV2(
                m.width, num_classes=info.num_classes, bn_momentum=m.bn_momentum,
                upsample_method=upsample_method_of(config), sync_bn=m.sync_bn,
                final_conv_kernel=m.final_conv_kernel,
            )
        # What predict, evaluate and export need to read the output.
        model.info.labels = {"dataset": config.data.dataset,
                             "class_names": list(info.class_names)}
        if m.pretrained:
            hrnet_tf.load_weights(model, m.pretrained, strict=False)
        return model

    def build_criterion(self, config):
        from hrnet_tf.segmentation.loss import SegmentationLoss

        info = dataset_of(config)
        lo = config.loss
        weights = (lo.class_weights or info.class_weights) if lo.use_class_weights else None
        return SegmentationLoss(
            info.num_classes, weights, info.ignore_label, lo.use_ohem, lo.ohem_thresh,
            lo.ohem_keep, balance_weights=lo.balance_weights,
            images_per_group=lo.ohem_images_per_group, align_corners=align_corners_of(config),
        )

    def build_evaluator(self, config, data):
        return evaluator_of(config, data.val)


def evaluator_of(config, pairs, input_size=None, normalization=None, align_corners=None):
    """The :class:`~hrnet_tf.segmentation.evaluator.SegmentationEvaluator` of ``config.eval`` on
    ``pairs`` (LIP runs the network at the test size, as its official test). ``align_corners``:
    the model's (default: the config's ``model.align_corners``)."""
    from hrnet_tf.data.normalization import IMAGENET
    from hrnet_tf.segmentation.evaluator import SegmentationEvaluator

    info = dataset_of(config)
    e = config.eval
    if info.resize_to_crop_first:
        input_size = info.test_size
    return SegmentationEvaluator(
        pairs, info, mode=e.mode, scales=e.scales, flip=e.flip, base_size=e.base_size or None,
        stride=e.stride or None, input_size=input_size, on_bad=config.data.on_bad,
        save_predictions=e.save_predictions, max_images=e.max_images,
        normalization=normalization or IMAGENET, test_size=info.test_size,
        protocol=info.protocol,
        align_corners=align_corners_of(config) if align_corners is None else align_corners,
    )


__all__ = [
    "DATASET_CONFIGS",
    "SegmentationConfig",
    "align_corners_of",
    "SegmentationTask",
    "data_dir_of",
    "dataset_of",
    "evaluator_of",
    "upsample_method_of",
]
