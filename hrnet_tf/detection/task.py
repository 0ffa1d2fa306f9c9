"""The detection task (FCOS or RetinaNet on HRNetV2p): its config sections and the ``Task`` the trainer runs.

    python train/detect.py                                  # the synthetic shapes demo (CPU)
    python train/detect.py --data-dir /data/coco            # FCOS HRNetV2p-W32 1x, mmdet recipe
    python train/detect.py --config configs/detection/fcos_hrnetv2p_w18_1x.yaml --data-dir /data/coco
    python train/detect.py --config configs/detection/synthetic_people.yaml   # person detector
    python train/detect.py --config configs/detection/retinanet_hrnetv2p_w32_1x.yaml --data-dir COCO

``model.detector`` picks the head: ``fcos`` (default) or ``retinanet`` (keras-hub's RetinaNet
layers, :mod:`hrnet_tf.models.retinanet`; its coder :mod:`hrnet_tf.detection.retinanet`, its
criterion :class:`hrnet_tf.detection.loss.RetinaNetLoss`; everything else is shared).

Defaults are mmdetection's ``configs/hrnet/fcos_hrnetv2p_w32_gn-head_4x4_1x_coco.py`` (on
``configs/fcos/fcos_r50_caffe_fpn_gn-head_1x_coco.py``): SGD lr 0.01 for 16 images, momentum 0.9,
weight decay 1e-4, gradient clipping at norm 35, linear warm-up (500 iterations from lr / 3), 12
epochs with drops at 8 and 11; BatchNorm of the trunk frozen (``norm_eval=True``: here the BN layers
are not trainable, which also freezes their scale and shift); focal + IoU + centerness losses;
the FCOS configs' ``paramwise_cfg`` (biases at 2x the rate without weight decay: ``train.bias_lr_mult``,
``train.bias_decay_mult``), clipping the loss gradient before weight decay as mmcv does.

    >>> from hrnet_tf.training.config import load_config
    >>> task = DetectionTask()
    >>> config = load_config(task.config_file("synthetic"), DetectionConfig)
    >>> task.validate(config)
    >>> config.data.dataset, config.model.width
    ('synthetic', 'tiny')
"""

import os
from dataclasses import dataclass, field
from typing import Literal

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
class DetectionModelConfig(ModelConfig):
    detector: Literal["fcos", "retinanet"] = "fcos"
    width: int | str = 32
    num_classes: int = 80
    out_channels: int = 256  # HRFPN channels
    feat_channels: int = 256  # head tower channels
    stacked_convs: int = 4
    gn_groups: int = 32
    norm_on_bbox: bool = False
    centerness_on_reg: bool = False
    bn_momentum: float = 0.9
    freeze_bn: bool = True  # mmdet norm_eval=True
    weights: str = ""  # initial weights: a detector (.keras/.weights.h5/mmdet .pth), strict
    pretrained: str = ""  # ImageNet trunk weights (.pth / .weights.h5), non-strict


@dataclass
class DetectionHeadConfig:
    """FCOS assignment, loss and test settings (mmdet ``FCOSHead``, ``test_cfg``)."""

    regress_ranges: list[list[float]] = field(default_factory=lambda: [
        [-1.0, 64.0], [64.0, 128.0], [128.0, 256.0], [256.0, 512.0], [512.0, 1e8]])
    center_sampling: bool = False
    center_sample_radius: float = 1.5
    bbox_loss: Literal["iou", "giou"] = "iou"
    focal_alpha: float = 0.25
    focal_gamma: float = 2.0
    nms_pre: int = 1000
    score_threshold: float = 0.05
    iou_threshold: float = 0.5
    max_per_image: int = 100
    # RetinaNet only (mmdet retinanet_r50_fpn.py): MaxIoUAssigner and the anchor generator
    pos_iou_threshold: float = 0.5
    neg_iou_threshold: float = 0.4
    low_quality_matches: bool = True  # min_pos_iou=0
    anchor_size: float = 4.0  # octave_base_scale
    anchor_scales: int = 3  # scales_per_octave
    anchor_ratios: list[float] = field(default_factory=lambda: [0.5, 1.0, 2.0])


@dataclass
class DetectionTrainConfig(TrainConfig):
    epochs: int = 12
    batch_size: int = 16
    lr: float = 0.01
    nesterov: bool = False
    weight_decay: float = 1e-4
    lr_steps: list[float] = field(default_factory=lambda: [8.0, 11.0])
    warmup_epochs: float = 500 / 7330  # 500 iterations of 16 images on COCO train2017
    warmup_factor: float = 1.0 / 3.0
    clip_norm: float = 35.0


@dataclass
class DetectionDataConfig(DataConfig):
    # "coco": a COCO-format dataset under data.dir; "synthetic": the generated shapes demo
    # "synthetic_people": the pose demo's stick figures (runs/synthetic/pose, generated with the
    # pose demo's settings, so both demos share one folder), category "person"
    dataset: Literal["coco", "synthetic", "synthetic_people"] = "coco"
    image_size: int | list[int] = field(default_factory=lambda: [800, 1344])  # canvas (h, w)
    scale: list[int] = field(default_factory=lambda: [1333, 800])  # keep-ratio (long, short)
    flip_ratio: float = 0.5
    max_objects: int = 100
    train_annotations: str = "annotations/instances_train2017.json"
    train_images: str = "train2017"
    val_annotations: str = "annotations/instances_val2017.json"
    val_images: str = "val2017"
    max_val_images: int = 0  # 0: all
    synthetic_train: int = 400
    synthetic_val: int = 50


@dataclass
class DetectionConfig(Config):
    model: DetectionModelConfig = field(default_factory=DetectionModelConfig)
    head: DetectionHeadConfig = field(default_factory=DetectionHeadConfig)
    train: DetectionTrainConfig = field(default_factory=DetectionTrainConfig)
    data: DetectionDataConfig = field(default_factory=DetectionDataConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)


def data_root(d):
    if d.dataset == "synthetic":
        from hrnet_tf.data.synthetic import default_root
        from hrnet_tf.detection.synthetic import ensure_synthetic

        return ensure_synthetic(d.dir or default_root("detection"), d.synthetic_train,
                                d.synthetic_val, seed=0)
    if d.dataset == "synthetic_people":
        from hrnet_tf.data.synthetic import default_root
        from hrnet_tf.pose.synthetic import ensure_synthetic as ensure_people

        return ensure_people(d.dir or default_root("pose"), **PEOPLE_SETTINGS)
    if not d.dir:
        raise DataError("no data directory: pass --data-dir DIR or set data.dir")
    if not os.path.isdir(d.dir):
        raise DataError(f"data directory not found: {d.dir}")
    return d.dir


# The pose demo's data settings (hrnet_tf/configs/pose/synthetic_tiny.yaml), width x height.
PEOPLE_SETTINGS = {"num_train": 2000, "num_val": 100, "image_size": (160, 160), "seed": 0}


def split_files(config, root, which):
    d = config.data
    if d.dataset == "synthetic":
        return (os.path.join(root, "annotations", f"instances_{which}.json"),
                os.path.join(root, which))
    if d.dataset == "synthetic_people":
        split = f"{which}2017"
        return (os.path.join(root, "annotations", f"person_keypoints_{split}.json"),
                os.path.join(root, "images", split))
    annotations, images = ((d.train_annotations, d.train_images) if which == "train"
                           else (d.val_annotations, d.val_images))
    return os.path.join(root, annotations), os.path.join(root, images)


def anchors_of(config):
    h = config.head
    return {"num_scales": int(h.anchor_scales), "aspect_ratios": [float(r) for r in h.anchor_ratios],
            "anchor_size": float(h.anchor_size)}


def coder_of(config, num_classes=None):
    from dataclasses import asdict

    from hrnet_tf.detection.codec import FCOSCoder, level_strides

    h = config.head
    if config.model.detector == "retinanet":
        from hrnet_tf.detection.retinanet import coder_from_head

        return coder_from_head(num_classes or config.model.num_classes, asdict(h), anchors_of(config))
    return FCOSCoder(
        num_classes=int(num_classes or config.model.num_classes),
        strides=tuple(level_strides(2)), fpn_stride=2,
        regress_ranges=tuple(tuple(float(v) for v in r) for r in h.regress_ranges),
        center_sampling=h.center_sampling, center_sample_radius=h.center_sample_radius,
        nms_pre=h.nms_pre, score_threshold=h.score_threshold, iou_threshold=h.iou_threshold,
        max_per_image=h.max_per_image)


class DetectionTask(Task):
    """FCOS or RetinaNet with an HRNetV2p backbone on COCO-format data or the generated shapes."""

    name = "detect"
    config_class = DetectionConfig
    config_dir = "detection"
    dataset_configs = {"coco": "fcos_hrnetv2p_w32_1x.yaml", "synthetic": "synthetic_shapes.yaml",
                       "synthetic_people": "synthetic_people.yaml"}
    default_dataset = "coco"

    def validate(self, config):
        from hrnet_tf.models.specs import resolve_spec

        m, d, h = config.model, config.data, config.head
        try:
            resolve_spec(m.width)
        except ConfigError as e:
            raise ConfigError(f"model.width: {e}") from None
        height, width = image_size_hw(d.image_size)
        if height < 128 or width < 128 or height % 32 or width % 32:
            raise ConfigError(f"data.image_size={d.image_size!r}: the canvas (h, w) must be "
                              "multiples of 32 and at least 128 (P7 has stride 128)")
        if len(d.scale) != 2 or min(d.scale) <= 0:
            raise ConfigError(f"data.scale={d.scale!r}: expected [long edge, short edge]")
        if len(h.regress_ranges) != 5 or any(len(r) != 2 or r[0] >= r[1]
                                             for r in h.regress_ranges):
            raise ConfigError(f"head.regress_ranges={h.regress_ranges!r}: five [low, high] "
                              "pairs, one per level P3-P7")
        if m.detector == "retinanet":
            from hrnet_tf.models.model import require_keras_hub

            require_keras_hub("model.detector=retinanet")
            if height % 128 or width % 128:
                raise ConfigError(f"data.image_size={d.image_size!r}: RetinaNet canvases must be "
                                  "multiples of 128 (keras-hub's AnchorGenerator derives P7's "
                                  "stride from the image size)")
            if not 0.0 < h.neg_iou_threshold <= h.pos_iou_threshold <= 1.0:
                raise ConfigError(f"head.neg_iou_threshold={h.neg_iou_threshold}, "
                                  f"head.pos_iou_threshold={h.pos_iou_threshold}: need 0 < neg <= "
                                  "pos <= 1")
            if h.anchor_scales < 1 or not h.anchor_ratios or min(h.anchor_ratios) <= 0:
                raise ConfigError(f"head.anchor_scales={h.anchor_scales}, head.anchor_ratios="
                                  f"{h.anchor_ratios!r}: at least one scale and positive ratios")
        if m.num_classes < 1:
            raise ConfigError(f"model.num_classes={m.num_classes}: must be at least 1")
        for key in ("out_channels", "feat_channels") if m.detector == "fcos" else ():
            if getattr(m, key) % m.gn_groups:
                raise ConfigError(f"model.{key}={getattr(m, key)} is not divisible by "
                                  f"model.gn_groups={m.gn_groups}")
        if not 0.0 <= d.flip_ratio <= 1.0:
            raise ConfigError(f"data.flip_ratio={d.flip_ratio}: must be in [0, 1]")
        if d.max_objects < 1:
            raise ConfigError(f"data.max_objects={d.max_objects}: must be at least 1")

    def load_data(self, config):
        from hrnet_tf.detection.sources import load_split

        root = data_root(config.data)
        train = load_split(*split_files(config, root, "train"))
        val = load_split(*split_files(config, root, "val"),
                         max_images=config.data.max_val_images)
        if len(train.category_ids) > config.model.num_classes:
            raise DataError(f"{train.annotation_file}: {len(train.category_ids)} categories but "
                            f"model.num_classes={config.model.num_classes}")
        if val.category_ids != train.category_ids:
            raise DataError(f"{val.annotation_file}: its categories differ from "
                            f"{train.annotation_file}'s")
        notes = [line for line in (train.report("train"), val.report("val")) if line]
        return TaskData(train=train, val=val, notes=notes, num_train=len(train))

    def train_dataset(self, config, data, input_context=None, epoch=0):
        from hrnet_tf.data.normalization import IMAGENET
        from hrnet_tf.detection import pipeline

        d = config.data
        return pipeline.train_dataset(
            data.train, coder_of(config), per_replica_batch_size(config, input_context),
            image_size_hw(d.image_size), epoch_seed(config, epoch), shard_of(input_context),
            scale=tuple(d.scale), flip_ratio=d.flip_ratio, max_objects=d.max_objects,
            normalization=IMAGENET, num_parallel_calls=d.num_parallel_calls)

    def build_model(self, config):
        import keras

        from hrnet_tf.models import HRNetFCOS, HRNetRetinaNet

        m, d = config.model, config.data
        height, width = image_size_hw(d.image_size)
        if m.detector == "retinanet":
            model = HRNetRetinaNet(m.width, m.num_classes, input_shape=(height, width, 3),
                                   anchors=anchors_of(config), out_channels=m.out_channels,
                                   feat_channels=m.feat_channels, stacked_convs=m.stacked_convs,
                                   bn_momentum=m.bn_momentum, sync_bn=m.sync_bn)
        else:
            model = HRNetFCOS(m.width, m.num_classes, input_shape=(height, width, 3),
                              out_channels=m.out_channels, feat_channels=m.feat_channels,
                              stacked_convs=m.stacked_convs, gn_groups=m.gn_groups,
                              norm_on_bbox=m.norm_on_bbox, centerness_on_reg=m.centerness_on_reg,
                              bn_momentum=m.bn_momentum, sync_bn=m.sync_bn)
        if m.pretrained:
            from hrnet_tf.convert.checkpoints import load_weights

            load_weights(model, m.pretrained, strict=False)
        if m.weights:
            from hrnet_tf.convert.checkpoints import load_weights

            load_weights(model, m.weights)
        if m.freeze_bn:
            for layer in model._flatten_layers():
                if isinstance(layer, keras.layers.BatchNormalization):
                    layer.trainable = False
        model.info = model.info.replace(labels={**model.info.labels, **self.labels(config)})
        return model

    def labels(self, config):
        """What predict/export need to read the output (``model.info.labels``)."""
        from dataclasses import asdict

        names, ids = category_names(config)
        return {"dataset": config.data.dataset, "category_names": names, "category_ids": ids,
                "scale": list(config.data.scale), "head": asdict(config.head)}

    def build_criterion(self, config):
        from hrnet_tf.detection.loss import FCOSLoss, RetinaNetLoss

        h = config.head
        if config.model.detector == "retinanet":
            return RetinaNetLoss(config.model.num_classes, h.focal_alpha, h.focal_gamma)
        return FCOSLoss(config.model.num_classes, h.focal_alpha, h.focal_gamma, h.bbox_loss)

    def build_evaluator(self, config, data):
        from hrnet_tf.data.normalization import IMAGENET
        from hrnet_tf.detection.evaluator import DetectionEvaluator

        d = config.data
        return DetectionEvaluator(data.val, coder_of(config), image_size_hw(d.image_size),
                                  tuple(d.scale), config.eval.batch_size or 2, IMAGENET,
                                  d.num_parallel_calls)


def category_names(config):
    """(names, COCO ids) of the categories: the training annotation file's, when it is there."""
    from hrnet_tf.detection.sources import open_coco

    d = config.data
    if d.dataset == "synthetic":
        from hrnet_tf.detection.synthetic import CATEGORIES

        return list(CATEGORIES), list(range(1, len(CATEGORIES) + 1))
    if d.dataset == "synthetic_people":
        return ["person"], [1]
    path = os.path.join(d.dir, d.train_annotations) if d.dir else ""
    if path and os.path.isfile(path):
        categories = open_coco(path).dataset["categories"]
        return [str(c.get("name", c["id"])) for c in categories], [int(c["id"]) for c in
                                                                     categories]
    n = config.model.num_classes
    return [str(i) for i in range(n)], list(range(1, n + 1))


__all__ = ["DetectionConfig", "DetectionTask", "coder_of", "data_root"]
