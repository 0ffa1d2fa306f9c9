"""The pose task for the shared trainer: config sections, model, data, loss, evaluation.

    python train/pose.py                                   # synthetic demo (generated data, CPU)
    python train/pose.py --data-dir data/coco              # official W32 256x192 on real COCO
    python train/pose.py --config configs/pose/coco_w48_384x288.yaml --data-dir data/coco \\
        --set model.pretrained=hrnetv2_w48_imagenet_pretrained.pth
"""

import os
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from hrnet_tf.training.config import (
    Config,
    DataConfig,
    EvalConfig,
    ModelConfig,
    TrainConfig,
    image_size_hw,
)
from hrnet_tf.training.task import Task, epoch_seed, per_replica_batch_size

CONFIG_DIR = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "configs",
                                           "pose"))
SYNTHETIC_CONFIG = os.path.join(CONFIG_DIR, "synthetic_tiny.yaml")
COCO_CONFIG = os.path.join(CONFIG_DIR, "coco_w32_256x192.yaml")
SYNTHETIC_DEFAULT_DIR = os.path.join("runs", "pose", "synthetic_data")


@dataclass
class PoseModelConfig(ModelConfig):
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
    max_samples: int = 0  # evaluate only the first N crops (0 = all)


@dataclass
class PoseConfig(Config):
    model: PoseModelConfig = field(default_factory=PoseModelConfig)
    train: PoseTrainConfig = field(default_factory=PoseTrainConfig)
    data: PoseDataConfig = field(default_factory=PoseDataConfig)
    eval: PoseEvalConfig = field(default_factory=PoseEvalConfig)


def data_dir_of(config):
    if config.data.dir:
        return config.data.dir
    if config.data.dataset == "synthetic":
        return SYNTHETIC_DEFAULT_DIR
    raise ValueError("data.dir is empty: pass --data-dir DIR (the COCO root)")


def codec_of(config):
    from hrnet_tf.pose.codec import PoseCodec
    from hrnet_tf.pose.keypoints import KeypointSet

    height, width = image_size_hw(config.data.image_size)
    heatmap = config.data.heatmap_size or [height // 4, width // 4]
    return PoseCodec(
        (width, height), (heatmap[1], heatmap[0]), config.data.sigma,
        KeypointSet.from_config(config.data.keypoints), config.data.use_different_joints_weight,
    )


def pipeline_of(config):
    from hrnet_tf.pose.pipeline import Augmentation, PosePipeline

    d = config.data
    return PosePipeline(codec_of(config), Augmentation(
        scale_factor=d.scale_factor, rotation_factor=d.rotation_factor, flip=d.flip,
        prob_half_body=d.prob_half_body, num_joints_half_body=d.num_joints_half_body))


def ensure_synthetic(config):
    """Generates the synthetic dataset once (skipped when its annotation files exist)."""
    from hrnet_tf.pose.coco import annotation_path
    from hrnet_tf.pose.synthetic import make_synthetic_coco

    root = data_dir_of(config)
    if not all(os.path.isfile(annotation_path(root, s)) for s in ("train2017", "val2017")):
        h, w = config.data.synthetic_size
        print(f"generating the synthetic pose dataset in {root} ...", flush=True)
        make_synthetic_coco(root, config.data.synthetic_train, config.data.synthetic_val,
                            (w, h), seed=config.seed)
    return root


class PoseTask(Task):
    """Top-down HRNetV1 pose estimation (COCO layout; synthetic demo)."""

    name = "pose"
    config_class = PoseConfig

    def __init__(self):
        self._records = {}
        self._last_stats = None

    # -- command line ---------------------------------------------------------------------------
    def default_config(self):
        return SYNTHETIC_CONFIG

    def apply_arguments(self, args, config):
        if config.data.dataset == "synthetic":
            ensure_synthetic(config)
        # Read the training annotations now: a bad path or file gives one line, exit 2.
        self.records(config, config.data.train_split)
        return config

    # -- data -----------------------------------------------------------------------------------
    def records(self, config, split, detections=False):
        from hrnet_tf.pose.coco import DEFAULT_DETECTIONS, load_coco
        from hrnet_tf.pose.mpii import load_mpii
        from hrnet_tf.training.config import DataError

        root = data_dir_of(config)
        if config.data.dataset == "synthetic":
            ensure_synthetic(config)
        if config.data.dataset == "mpii":
            key = (root, split, "mpii")
            if key not in self._records:
                try:
                    self._records[key] = load_mpii(root, split, codec_of(config).keypoints)
                except ValueError as e:
                    raise DataError(str(e)) from None
                print(f"{split}: {self._records[key].size} MPII person crops", flush=True)
            return self._records[key]
        det_file = None
        if detections:
            det_file = config.eval.detection_file or os.path.join(
                root, "person_detection_results", DEFAULT_DETECTIONS)
        key = (root, split, det_file)
        if key not in self._records:
            codec = codec_of(config)
            try:
                records = load_coco(root, split, codec.aspect_ratio, codec.keypoints,
                                    detection_file=det_file,
                                    image_threshold=config.eval.image_threshold)
            except ValueError as e:
                raise DataError(str(e)) from None
            from hrnet_tf.pose.coco import format_skipped

            note = format_skipped(records.skipped)
            print(f"{split}: {records.size} person crops"
                  f"{' from detector boxes' if det_file else ''}" + (f" ({note})" if note else ""),
                  flush=True)
            self._records[key] = records
        return self._records[key]

    def train_dataset(self, config, input_context=None, epoch=0):
        parallel = config.data.num_parallel_calls
        return pipeline_of(config).train_dataset(
            self.records(config, config.data.train_split),
            per_replica_batch_size(config, input_context), seed=epoch_seed(config, epoch),
            input_context=input_context, num_parallel_calls=parallel if parallel > 0 else -1)

    def steps_per_epoch(self, config):
        return self.records(config, config.data.train_split).size // config.train.batch_size

    # -- model and loss -------------------------------------------------------------------------
    def build_model(self, config):
        import hrnet_tf

        m = config.model
        height, width = image_size_hw(config.data.image_size)
        model = hrnet_tf.HRNetV1(
            m.width, num_outputs=codec_of(config).num_joints, input_shape=(height, width, 3),
            final_conv_kernel=m.final_conv_kernel, bn_momentum=m.bn_momentum, sync_bn=m.sync_bn)
        if m.pretrained:
            hrnet_tf.load_weights(model, m.pretrained, strict=False)
        if m.weights:
            hrnet_tf.load_weights(model, m.weights)
        return model

    def loss(self, targets, outputs, sample_weight=None):
        import tensorflow as tf

        from hrnet_tf.pose.loss import joints_mse

        # plain tensor ops: nothing for autograph to convert (re-reading this file's source
        # while it is edited under a running job would convert the wrong lines)
        loss_fn = tf.autograph.experimental.do_not_convert(joints_mse)
        return loss_fn(targets["heatmaps"], outputs, targets["target_weight"])

    # -- evaluation -----------------------------------------------------------------------------
    def evaluate(self, model, config, out_dir):
        from hrnet_tf.pose.evaluate import evaluate_coco

        e = config.eval
        if config.data.dataset == "mpii":
            return self.evaluate_mpii(model, config, out_dir)
        records = self.records(config, config.data.val_split, detections=not e.use_gt_bbox)
        if e.max_samples:
            records = records.subset(slice(0, e.max_samples))
        stats = evaluate_coco(
            model, pipeline_of(config), records, out_dir,
            batch_size=e.batch_size or config.train.batch_size, flip_test=e.flip_test,
            shift_heatmap=e.shift_heatmap, post_process=e.post_process,
            in_vis_threshold=e.in_vis_threshold, oks_threshold=e.oks_threshold)
        self._last_stats = stats
        print("COCO keypoints: " + "  ".join(f"{k} {v:.3f}" for k, v in stats.items()),
              flush=True)
        return stats

    def evaluate_mpii(self, model, config, out_dir):
        """Official MPII validation: flip test, decoding, PCKh against annot/gt_<split>.mat."""
        import json

        from hrnet_tf.pose.evaluate import predict_heatmaps
        from hrnet_tf.pose.mpii import pckh

        e = config.eval
        pipeline = pipeline_of(config)
        records = self.records(config, config.data.val_split)
        heatmaps = predict_heatmaps(
            model, pipeline.eval_dataset(records, e.batch_size or config.train.batch_size),
            pipeline.codec, e.flip_test, e.shift_heatmap)
        keypoints = pipeline.codec.decode(heatmaps, records.centers, records.scales,
                                          e.post_process)
        os.makedirs(out_dir, exist_ok=True)
        with open(os.path.join(out_dir, "mpii_predictions.json"), "w") as f:
            json.dump(np.round(keypoints, 2).tolist(), f)
        gt_file = os.path.join(data_dir_of(config), "annot", f"gt_{config.data.val_split}.mat")
        stats = pckh(keypoints[..., :2], gt_file)
        self._last_stats = stats
        print("MPII PCKh: " + "  ".join(f"{k} {v:.2f}" for k, v in stats.items()), flush=True)
        return stats

    def on_run_end(self):
        if self._last_stats is None:
            return []
        if "AP" not in self._last_stats:
            return [f"PCKh@0.5 mean {self._last_stats['Mean']:.2f} (MPII)"]
        return [f"AP {self._last_stats['AP']:.4f} (COCO keypoints, pycocotools)"]


__all__ = ["PoseConfig", "PoseTask", "codec_of", "pipeline_of"]
