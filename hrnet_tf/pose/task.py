"""The pose task: config sections and the :class:`~hrnet_tf.training.task.Task` the trainer holds.

    python train/pose.py                                   # synthetic demo (generated data, CPU)
    python train/pose.py --data-dir data/coco              # official W32 256x192 on real COCO
    python train/pose.py --dataset mpii --data-dir data/mpii
    python train/pose.py --config configs/pose/coco_w48_384x288.yaml --data-dir data/coco \\
        --set model.pretrained=hrnetv2_w48_imagenet_pretrained.pth

    >>> from hrnet_tf.training.config import load_config
    >>> task = PoseTask()
    >>> config = load_config(task.config_file("synthetic"), PoseConfig)
    >>> task.validate(config)
    >>> codec_of(config).image_size, codec_of(config).heatmap_size    # (width, height)
    ((96, 128), (24, 32))
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

# HRNetV1 fuses branches with nearest upsampling by fixed factors: the input must divide by 32.
INPUT_MULTIPLE = 32
OUTPUT_STRIDE = 4


@dataclass
class PoseModelConfig(ModelConfig):
    # "hrnet": HRNetV1 (width 32, 48, ...); "litehrnet": Lite-HRNet (width 18, 30 or "tiny")
    architecture: Literal["hrnet", "litehrnet"] = "hrnet"
    width: int | str = 32
    bn_momentum: float = 0.9  # PyTorch BN momentum 0.1
    final_conv_kernel: int = 1
    pretrained: str = ""  # ImageNet backbone (.pth / .weights.h5), loaded non-strictly
    weights: str = ""  # a complete pose model to start from (.weights.h5 / .keras / .pth)


@dataclass
class PoseTrainConfig(TrainConfig):
    epochs: int = 210
    batch_size: int = 128  # 32 per GPU x 4 GPUs
    optimizer: Literal["sgd", "adam", "adamw"] = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0  # the official get_optimizer ignores WD for Adam
    nesterov: bool = False
    schedule: Literal["multistep", "poly", "cosine", "constant"] = "multistep"
    lr_steps: list[float] = field(default_factory=lambda: [170.0, 200.0])
    lr_factor: float = 0.1
    # Online hard keypoint mining (official LOSS.USE_OHKM / LOSS.TOPK, JointsOHKMMSELoss)
    use_ohkm: bool = False
    ohkm_topk: int = 8


@dataclass
class PoseDataConfig(DataConfig):
    dataset: Literal["coco", "mpii", "synthetic"] = "coco"
    image_size: int | list[int] = field(default_factory=lambda: [256, 192])  # [height, width]
    heatmap_size: list[int] = field(default_factory=list)  # [height, width]; [] = image / 4
    sigma: float = 2.0
    keypoints: str | dict = "coco"  # "coco", "mpii" or a dict (see docs/pose.md)
    train_split: str = "train2017"
    val_split: str = "val2017"
    scale_factor: float = 0.35
    rotation_factor: float = 45.0
    flip: bool = True
    prob_half_body: float = 0.3
    num_joints_half_body: int = 8
    use_different_joints_weight: bool = False
    # Official DATASET.SELECT_DATA: drop training crops whose box centre is far from their joints.
    select_data: bool = False
    # Targets: "standard" (official, Gaussian at the rounded joint) or "unbiased" (DARK).
    encoding: Literal["standard", "unbiased"] = "standard"
    # Read each training image's first and last bytes while listing: incomplete files (truncated,
    # not an image) are skipped and named at the end instead of stopping the run mid-epoch.
    check_files: bool = True
    # data.dataset "synthetic": generated into data.dir (default runs/synthetic/pose)
    synthetic_train: int = 2000
    synthetic_val: int = 100
    synthetic_size: list[int] = field(default_factory=lambda: [160, 160])  # [height, width]


@dataclass
class PoseEvalConfig(EvalConfig):
    use_gt_bbox: bool = False  # False: detector boxes, as the published numbers
    detection_file: str = ""  # "" = DIR/person_detection_results/COCO_val2017_..._56_person.json
    image_threshold: float = 0.0
    flip_test: bool = True
    shift_heatmap: bool = True
    post_process: bool = True
    in_vis_threshold: float = 0.2
    oks_threshold: float = 0.9
    soft_nms: bool = False  # official TEST.SOFT_NMS: soft-OKS-NMS instead of greedy OKS-NMS
    # Sub-pixel decoding: "standard" (quarter offset, eval.post_process) or "dark" (DARK's Taylor
    # step on the log of the blur_kernel-modulated heatmaps; DarkPose TEST.BLUR_KERNEL 11).
    decoding: Literal["standard", "dark"] = "standard"
    blur_kernel: int = 11
    max_samples: int = 0  # evaluate only the first N crops (0 = all)


@dataclass
class PoseConfig(Config):
    model: PoseModelConfig = field(default_factory=PoseModelConfig)
    train: PoseTrainConfig = field(default_factory=PoseTrainConfig)
    data: PoseDataConfig = field(default_factory=PoseDataConfig)
    eval: PoseEvalConfig = field(default_factory=PoseEvalConfig)


def keypoints_of(config):
    """The :class:`KeypointSet` of ``data.keypoints`` (``ConfigError`` naming the key)."""
    from hrnet_tf.pose.keypoints import KeypointSet

    try:
        return KeypointSet.from_config(config.data.keypoints)
    except ValueError as e:
        raise ConfigError(f"data.{e}" if str(e).startswith("keypoints") else
                          f"data.keypoints: {e}") from None


def heatmap_size_hw(config):
    """(height, width) of the heatmaps: ``data.heatmap_size``, or the input / 4 when it is empty."""
    height, width = image_size_hw(config.data.image_size)
    if config.data.heatmap_size:
        return tuple(int(v) for v in config.data.heatmap_size)
    return height // OUTPUT_STRIDE, width // OUTPUT_STRIDE


def codec_of(config):
    from hrnet_tf.pose.codec import PoseCodec

    height, width = image_size_hw(config.data.image_size)
    hm_h, hm_w = heatmap_size_hw(config)
    return PoseCodec((width, height), (hm_w, hm_h), config.data.sigma, keypoints_of(config),
                     config.data.use_different_joints_weight, encoding=config.data.encoding,
                     decoding=config.eval.decoding, blur_kernel=config.eval.blur_kernel)


def pipeline_of(config):
    from hrnet_tf.pose.pipeline import Augmentation, PosePipeline

    d = config.data
    return PosePipeline(codec_of(config), Augmentation(
        scale_factor=d.scale_factor, rotation_factor=d.rotation_factor, flip=d.flip,
        prob_half_body=d.prob_half_body, num_joints_half_body=d.num_joints_half_body))


def data_dir_of(config):
    """``data.dir``, or for the synthetic demo its default folder ``runs/synthetic/pose``."""
    from hrnet_tf.data.synthetic import default_root

    if config.data.dir:
        return config.data.dir
    if config.data.dataset == "synthetic":
        return default_root("pose")
    raise ConfigError(f"data.dir is empty: pass --data-dir DIR (the {config.data.dataset} root)")


def _check_size(key, value, multiple):
    if isinstance(value, list) and len(value) != 2:
        raise ConfigError(f"{key}={value!r}: expected [height, width] or one int")
    for name, v in zip(("height", "width"), image_size_hw(value), strict=True):
        if v <= 0 or v % multiple:
            raise ConfigError(
                f"{key}={value!r}: the {name} {v} is not a positive multiple of {multiple} "
                "(HRNetV1 fuses its branches by upsampling with fixed factors)"
            )


def _check(ok, key, value, expected):
    if not ok:
        raise ConfigError(f"{key}={value!r}: {expected}")


class PoseTask(Task):
    """Top-down HRNetV1 pose estimation (COCO, MPII, synthetic demo in the COCO layout)."""

    name = "pose"
    config_class = PoseConfig
    config_dir = "pose"
    dataset_configs = {
        "coco": "coco_w32_256x192.yaml",
        "mpii": "mpii_w32_256x256.yaml",
        "synthetic": "synthetic_tiny.yaml",
    }
    default_dataset = "coco"

    # -- configuration ---------------------------------------------------------------------------
    def validate(self, config):
        """Everything the network and the data pipeline cannot take, named by its key."""
        from hrnet_tf.models.specs import resolve_spec

        d, m, t, e = config.data, config.model, config.train, config.eval
        _check_size("data.image_size", d.image_size, INPUT_MULTIPLE)
        height, width = image_size_hw(d.image_size)
        want = [height // OUTPUT_STRIDE, width // OUTPUT_STRIDE]
        if d.heatmap_size and list(d.heatmap_size) != want:
            raise ConfigError(
                f"data.heatmap_size={list(d.heatmap_size)!r} does not fit "
                f"data.image_size={d.image_size!r}: HRNetV1's heatmaps are the input / 4, {want} "
                "(or leave heatmap_size empty, [], to derive it)"
            )
        _check(d.sigma > 0, "data.sigma", d.sigma, "must be > 0 (heatmap pixels)")
        keypoints = keypoints_of(config)
        if d.dataset == "mpii":
            _check(keypoints.num_joints == 16, "data.keypoints", d.keypoints,
                   f"MPII has 16 joints, this set has {keypoints.num_joints}")
        if d.dataset == "synthetic":
            _check(keypoints.num_joints == 17, "data.keypoints", d.keypoints,
                   "the synthetic demo draws the 17 COCO joints")
            _check(d.synthetic_train > 0 and d.synthetic_val > 0, "data.synthetic_train/val",
                   [d.synthetic_train, d.synthetic_val], "must both be > 0")
            _check(len(d.synthetic_size) == 2 and min(d.synthetic_size) >= 32,
                   "data.synthetic_size", d.synthetic_size, "expected [height, width] >= 32")
        _check(d.scale_factor >= 0, "data.scale_factor", d.scale_factor, "must be >= 0")
        _check(d.rotation_factor >= 0, "data.rotation_factor", d.rotation_factor, "must be >= 0")
        _check(d.prob_half_body <= 1, "data.prob_half_body", d.prob_half_body,
               "must be <= 1 (< 0 switches half-body crops off)")
        if m.architecture == "litehrnet":
            from hrnet_tf.models.litehrnet import LITE_HRNET_SPECS

            _check(str(m.width) in LITE_HRNET_SPECS, "model.width", m.width,
                   f"Lite-HRNet comes in {sorted(LITE_HRNET_SPECS)}")
            _check(m.final_conv_kernel == 1, "model.final_conv_kernel", m.final_conv_kernel,
                   "Lite-HRNet's head (TopDownSimpleHead) has a 1x1 final layer")
        else:
            try:
                resolve_spec(m.width)
            except ConfigError as error:
                raise ConfigError(f"model.width: {error}") from None
        _check(m.final_conv_kernel in (1, 3), "model.final_conv_kernel", m.final_conv_kernel,
               "must be 1 or 3 (the official FINAL_CONV_KERNEL options)")
        for key, path in (("model.pretrained", m.pretrained), ("model.weights", m.weights)):
            _check(not path or os.path.isfile(path), key, path, "file not found")
        _check(t.batch_size > 0, "train.batch_size", t.batch_size, "must be > 0")
        _check(e.batch_size >= 0, "eval.batch_size", e.batch_size, "must be >= 0 (0: train's)")
        _check(e.max_samples >= 0, "eval.max_samples", e.max_samples, "must be >= 0 (0: all)")
        _check(0 < e.oks_threshold <= 1, "eval.oks_threshold", e.oks_threshold, "must be in (0, 1]")
        _check(e.blur_kernel > 0 and e.blur_kernel % 2 == 1, "eval.blur_kernel", e.blur_kernel,
               "must be a positive odd size (cv2.GaussianBlur)")
        _check(not t.use_ohkm or 0 < t.ohkm_topk <= keypoints.num_joints, "train.ohkm_topk",
               t.ohkm_topk, f"must be in [1, {keypoints.num_joints}] (the number of joints)")
        if "test" in d.val_split:
            _check(d.dataset == "coco" and not e.use_gt_bbox, "eval.use_gt_bbox", e.use_gt_bbox,
                   f"{d.val_split} has no annotations: COCO test splits use detector boxes "
                   "(eval.use_gt_bbox: false)")
        _check(0 <= e.in_vis_threshold < 1, "eval.in_vis_threshold", e.in_vis_threshold,
               "must be in [0, 1)")
        data_dir_of(config)

    # -- data -----------------------------------------------------------------------------------
    def load_data(self, config):
        """Lists (and checks) the training crops and the evaluation crops with their ground truth;
        the synthetic demo is generated first. ``DataError`` names what is unusable."""
        from hrnet_tf.pose.sources import skip_note, without_bad_images

        d = config.data
        root = data_dir_of(config)
        if d.dataset == "synthetic":
            from hrnet_tf.pose.synthetic import ensure_synthetic

            height, width = d.synthetic_size
            ensure_synthetic(root, d.synthetic_train, d.synthetic_val, (width, height),
                             seed=config.seed)
        if d.dataset == "mpii":
            train, val = self._mpii_records(config, root)
        else:
            train, val = self._coco_records(config, root)
        if d.select_data:  # official: training crops only, COCO and MPII
            from hrnet_tf.pose.sources import select_data

            train = select_data(train)
        if config.eval.max_samples:
            val = val.subset(slice(0, config.eval.max_samples))
        image_note = None
        if d.check_files:
            # Validation images are checked by the evaluation pipeline and skipped there by name.
            train, image_note = without_bad_images(train, d.train_split)
        notes = [note for note in (skip_note(train, d.train_split), image_note,
                                   skip_note(val, d.val_split)) if note]
        detector = d.dataset != "mpii" and not config.eval.use_gt_bbox
        print(f"{d.train_split}: {train.size} person crops; {d.val_split}: {val.size} "
              f"({'detector' if detector else 'ground-truth'} boxes)", flush=True)
        return TaskData(train=train, val=val, notes=notes, num_train=train.size)

    def _coco_records(self, config, root):
        from hrnet_tf.pose.coco import detection_path, load_coco

        d, e = config.data, config.eval
        keypoints = keypoints_of(config)
        ratio = codec_of(config).aspect_ratio
        train = load_coco(root, d.train_split, ratio, keypoints)
        detections = None if e.use_gt_bbox else (e.detection_file
                                                 or detection_path(root, d.val_split))
        val = load_coco(root, d.val_split, ratio, keypoints, detection_file=detections,
                        image_threshold=e.image_threshold)
        return train, val

    def _mpii_records(self, config, root):
        from hrnet_tf.errors import DataError
        from hrnet_tf.pose.mpii import load_mpii, read_gt_mat

        d = config.data
        keypoints = keypoints_of(config)
        train = load_mpii(root, d.train_split, keypoints)
        val = load_mpii(root, d.val_split, keypoints)
        gt = read_gt_mat(val.ground_truth)[0]  # now, not after 210 epochs of training
        if len(gt) != val.size:
            raise DataError(f"{val.ground_truth}: {len(gt)} people, but {val.source} lists "
                            f"{val.size}")
        return train, val

    def train_dataset(self, config, data, input_context=None, epoch=0):
        parallel = config.data.num_parallel_calls
        return pipeline_of(config).train_dataset(
            data.train, per_replica_batch_size(config, input_context),
            seed=epoch_seed(config, epoch), shards=shard_of(input_context),
            num_parallel_calls=parallel if parallel > 0 else -1)

    # -- model, loss, evaluation ----------------------------------------------------------------
    def build_model(self, config):
        import hrnet_tf

        m = config.model
        height, width = image_size_hw(config.data.image_size)
        keypoints = keypoints_of(config)
        if m.architecture == "litehrnet":
            model = hrnet_tf.LiteHRNet(str(m.width), num_outputs=keypoints.num_joints,
                                       input_shape=(height, width, 3), bn_momentum=m.bn_momentum)
        else:
            model = hrnet_tf.HRNetV1(
                m.width, num_outputs=keypoints.num_joints, input_shape=(height, width, 3),
                final_conv_kernel=m.final_conv_kernel, bn_momentum=m.bn_momentum,
                sync_bn=m.sync_bn)
        # What predict and the export read the heatmaps with (flip pairs, joint names).
        # With DARK decoding, the model records it (codec_for_model reads it).
        model.info.labels = {"keypoints": keypoints.to_config()}
        if config.eval.decoding != "standard":
            model.info.labels.update(decoding=config.eval.decoding,
                                     blur_kernel=config.eval.blur_kernel)
        if m.pretrained:
            hrnet_tf.load_weights(model, m.pretrained, strict=False)
        if m.weights:
            hrnet_tf.load_weights(model, m.weights)
        return model

    def build_criterion(self, config):
        from hrnet_tf.pose.loss import JointsMSELoss, JointsOHKMMSELoss

        if config.train.use_ohkm:
            return JointsOHKMMSELoss(use_target_weight=True, topk=config.train.ohkm_topk)
        return JointsMSELoss(use_target_weight=True)

    def build_evaluator(self, config, data):
        from hrnet_tf.pose.evaluator import CocoKeypointEvaluator, MpiiEvaluator

        e = config.eval
        common = dict(batch_size=e.batch_size or config.train.batch_size, flip_test=e.flip_test,
                      shift_heatmap=e.shift_heatmap, post_process=e.post_process)
        if config.data.dataset == "mpii":
            return MpiiEvaluator(pipeline_of(config), data.val, **common)
        return CocoKeypointEvaluator(pipeline_of(config), data.val, **common,
                                     in_vis_threshold=e.in_vis_threshold,
                                     oks_threshold=e.oks_threshold, soft_nms=e.soft_nms,
                                     split=config.data.val_split)


__all__ = ["PoseConfig", "PoseTask", "codec_of", "keypoints_of", "pipeline_of"]
