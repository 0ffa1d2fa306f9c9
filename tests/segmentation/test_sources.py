"""Dataset layouts, pairing with counted skips, and the dataset tables (class counts, mappings)."""

import os

import numpy as np
import pytest

from hrnet_tf.errors import ConfigError, DataError
from hrnet_tf.segmentation.sources import dataset_info, list_pairs

from .helpers import label_path, write, write_lip


def test_cityscapes_pairs_by_name(city):
    pairs, skipped = list_pairs("cityscapes", city, "train")
    assert len(pairs) == 4 and skipped == []
    for image, label in pairs:
        stem = os.path.basename(image).replace("_leftImg8bit.png", "")
        assert os.path.basename(label) == f"{stem}_gtFine_labelIds.png"
    assert [p[0] for p in pairs] == sorted(p[0] for p in pairs)


def test_missing_directory_is_one_line_naming_path_and_layout(tmp_path):
    with pytest.raises(DataError) as e:
        list_pairs("cityscapes", tmp_path / "nonexistent", "train")
    message = str(e.value)
    assert str(tmp_path / "nonexistent") in message
    assert "leftImg8bit/train" in message and "gtFine/train" in message and "\n" not in message
    (tmp_path / "lip").mkdir()
    with pytest.raises(DataError, match="TrainVal_images/val_images"):
        list_pairs("lip", tmp_path / "lip", "val")


def test_image_without_label_is_one_line_or_a_named_skip(city):
    missing = label_path(city, "train", 2)
    os.remove(missing)
    with pytest.raises(DataError, match="000002_000019_leftImg8bit.png: no label") as e:
        list_pairs("cityscapes", city, "train")
    assert os.path.basename(missing) in str(e.value)
    pairs, skipped = list_pairs("cityscapes", city, "train", on_bad="skip")
    assert len(pairs) == 3
    assert [(os.path.basename(f), why) for f, why in skipped] == [
        ("synthcity_000002_000019_leftImg8bit.png", "no label")]


def test_lip_layout(tmp_path):
    for split in ("train", "val"):
        write_lip(tmp_path, split)
    pairs, _ = list_pairs("lip", tmp_path, "train")
    assert [os.path.basename(p[0]) for p in pairs] == ["0.jpg", "1.jpg"]
    info = dataset_info("lip")
    assert info.resize_to_crop_first and info.scale_factor == 11 and info.crop_size == (473, 473)
    assert info.flip_pairs == ((14, 15), (16, 17), (18, 19))


def test_pascal_context_split_list_and_class_transforms(tmp_path):
    rng = np.random.default_rng(1)
    for name in ("2008_000001", "2008_000002", "2008_000003"):
        write(tmp_path / "JPEGImages" / f"{name}.jpg",
              rng.integers(0, 255, (20, 24, 3)).astype(np.uint8))
        write(tmp_path / "SegmentationClassContext" / f"{name}.png",
              rng.integers(0, 60, (20, 24)).astype(np.uint8))
    split_dir = tmp_path / "ImageSets" / "SegmentationContext"
    os.makedirs(split_dir)
    (split_dir / "val.txt").write_text("2008_000001\n2008_000003\n")
    pairs, _ = list_pairs("pascal_context", tmp_path, "val")
    assert [os.path.basename(p[1]) for p in pairs] == ["2008_000001.png", "2008_000003.png"]
    # 59 classes: background ignored, k -> k-1 (official label_transform); 60: as they are.
    raw = np.arange(60)
    np.testing.assert_array_equal(dataset_info("pascal_context").label_lut[raw],
                                  np.where(raw == 0, 255, raw - 1))
    np.testing.assert_array_equal(dataset_info("pascal_context_60").label_lut[raw], raw)
    (split_dir / "train.txt").write_text("2008_000002\n2008_000009\n")
    with pytest.raises(DataError, match="2008_000009.jpg: listed in the split but not found"):
        list_pairs("pascal_context", tmp_path, "train")
    pairs, skipped = list_pairs("pascal_context", tmp_path, "train", on_bad="skip")
    assert len(pairs) == 1
    assert [os.path.basename(f) for f, _ in skipped] == ["2008_000009.jpg"]


def test_generic_layout_with_id_mapping(tmp_path):
    for name in ("a", "b"):
        write(tmp_path / "images" / "train" / "sub" / f"{name}.jpg", np.zeros((8, 8, 3), np.uint8))
        write(tmp_path / "labels" / "train" / "sub" / f"{name}.png",
              np.array([[0, 128, 200, 255] * 2] * 8, np.uint8))
    info = dataset_info("generic", num_classes=3, id_mapping={0: 0, 128: 1, 200: 2})
    assert info.label_lut[[0, 128, 200, 255, 7]].tolist() == [0, 1, 2, 255, -1]
    assert len(list_pairs("generic", tmp_path, "train")[0]) == 2


@pytest.mark.parametrize("kwargs,message", [
    ({"name": "cityscapes", "num_classes": 21}, "model.num_classes=21: dataset 'cityscapes' has 19"),
    ({"name": "lip", "num_classes": 19}, "model.num_classes=19: dataset 'lip' has 20"),
    ({"name": "pascal_context_60", "num_classes": 59}, "has 60 classes"),
    ({"name": "generic"}, "model.num_classes=None: dataset 'generic' needs it"),
    ({"name": "generic", "num_classes": 3, "class_names": ["a", "b"]},
     "data.class_names has 2 names for model.num_classes=3"),
    ({"name": "generic", "num_classes": 3, "id_mapping": {10: 0, 20: 5}},
     r"data.id_mapping maps to \[5\], outside 0..2"),
    ({"name": "generic", "num_classes": 3, "id_mapping": {300: 0}}, "data.id_mapping: raw label"),
    ({"name": "ade20k"}, "data.dataset='ade20k': choose one of"),
])
def test_inconsistent_dataset_settings_name_the_key(kwargs, message):
    name = kwargs.pop("name")
    with pytest.raises(ConfigError, match=message):
        dataset_info(name, **kwargs)
