"""LIP and PASCAL-Context layouts, label transforms and the LIP-specific pipeline steps."""

import os

import cv2
import numpy as np
import pytest
import tensorflow as tf

from hrnet_tf.segmentation import pipeline
from hrnet_tf.segmentation.datasets import DatasetError, dataset_info, list_pairs
from hrnet_tf.segmentation.evaluate import evaluate_pairs


def _write(path, array):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    cv2.imwrite(str(path), array)


class ConstantModel:
    """Predicts class ``k`` everywhere (logits at stride 4)."""

    def __init__(self, k, classes):
        self.k, self.classes = k, classes

    def __call__(self, images, training=False):
        n, h, w = images.shape[0], -(-images.shape[1] // 4), -(-images.shape[2] // 4)
        return tf.one_hot(tf.fill((n, h, w), self.k), self.classes) * 10.0


def test_lip_layout_resize_first_and_label_size_evaluation(tmp_path):
    rng = np.random.default_rng(0)
    sizes = [(40, 30), (25, 50)]  # LIP images have various sizes
    for split in ("train", "val"):
        for i, (h, w) in enumerate(sizes):
            _write(tmp_path / "TrainVal_images" / f"{split}_images" / f"{i}.jpg",
                   rng.integers(0, 255, (h, w, 3)).astype(np.uint8))
            label = rng.integers(0, 20, (h, w)).astype(np.uint8)
            _write(tmp_path / "TrainVal_parsing_annotations" / f"{split}_segmentations" /
                   f"{i}.png", label)
    pairs, _ = list_pairs("lip", tmp_path, "train")
    assert [os.path.basename(p[0]) for p in pairs] == ["0.jpg", "1.jpg"]
    info = dataset_info("lip", crop_size=(33, 33), base_size=33)
    assert info.resize_to_crop_first and info.scale_factor == 11
    batch = next(iter(pipeline.train_dataset(pairs, info, 2)))
    assert batch[0].shape == (2, 33, 33, 3)
    # Evaluation compares at the label's own size although the model runs at 33x33.
    val, _ = list_pairs("lip", tmp_path, "val")
    report = evaluate_pairs(ConstantModel(5, 20), val, info)
    labels = np.concatenate([cv2.imread(p, cv2.IMREAD_UNCHANGED).ravel() for _, p in val])
    assert report["num_pixels"] == labels.size
    assert report["per_class"]["upper-clothes"] == pytest.approx((labels == 5).mean())


def test_pascal_context_split_list_and_59_class_transform(tmp_path):
    rng = np.random.default_rng(1)
    for name in ("2008_000001", "2008_000002", "2008_000003"):
        _write(tmp_path / "JPEGImages" / f"{name}.jpg",
               rng.integers(0, 255, (20, 24, 3)).astype(np.uint8))
        _write(tmp_path / "SegmentationClassContext" / f"{name}.png",
               rng.integers(0, 60, (20, 24)).astype(np.uint8))
    split_dir = tmp_path / "ImageSets" / "SegmentationContext"
    os.makedirs(split_dir)
    (split_dir / "val.txt").write_text("2008_000001\n2008_000003\n")
    pairs, _ = list_pairs("pascal_context", tmp_path, "val")
    assert [os.path.basename(p[1]) for p in pairs] == ["2008_000001.png", "2008_000003.png"]
    info59 = dataset_info("pascal_context")
    _, label = pipeline.load_pair(*pairs[0], info59.label_lut)
    raw = cv2.imread(pairs[0][1], cv2.IMREAD_UNCHANGED).astype(np.int32)
    np.testing.assert_array_equal(label.numpy(), np.where(raw == 0, 255, raw - 1))
    info60 = dataset_info("pascal_context_60")
    _, label = pipeline.load_pair(*pairs[0], info60.label_lut)
    np.testing.assert_array_equal(label.numpy(), raw)
    (split_dir / "train.txt").write_text("2008_000009\n")
    with pytest.raises(DatasetError, match="2008_000009.jpg: listed in the split but not found"):
        list_pairs("pascal_context", tmp_path, "train")


def test_generic_layout_with_id_mapping(tmp_path):
    for split in ("train",):
        for name in ("a", "b"):
            _write(tmp_path / "images" / split / "sub" / f"{name}.jpg",
                   np.zeros((8, 8, 3), np.uint8))
            _write(tmp_path / "labels" / split / "sub" / f"{name}.png",
                   np.array([[0, 128, 200, 255] * 2] * 8, np.uint8))
    info = dataset_info("generic", num_classes=3, id_mapping={0: 0, 128: 1, 200: 2})
    pairs, _ = list_pairs("generic", tmp_path, "train")
    assert len(pairs) == 2
    _, label = pipeline.load_pair(*pairs[0], info.label_lut)
    assert label.numpy()[0, :4].tolist() == [0, 1, 2, 255]
    with pytest.raises(DatasetError, match="needs model.num_classes"):
        dataset_info("generic")
