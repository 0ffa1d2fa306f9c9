"""Label tables against the official ones (hrnet-facts.md section 3.5, cityscapesscripts)."""

import numpy as np
import pytest

from hrnet_tf.segmentation import labels as L
from hrnet_tf.segmentation.sources import dataset_info

# The official HRNet Cityscapes label_mapping (cityscapes.py), typed independently from the
# reference: -1..6 -> 255; 7->0; 8->1; 9,10 -> 255; 11->2; 12->3; 13->4; 14,15,16 -> 255; 17->5;
# 18 -> 255; 19->6 ... 28->15; 29,30 -> 255; 31->16; 32->17; 33->18.
OFFICIAL_MAPPING = {
    -1: 255, 0: 255, 1: 255, 2: 255, 3: 255, 4: 255, 5: 255, 6: 255, 7: 0, 8: 1, 9: 255,
    10: 255, 11: 2, 12: 3, 13: 4, 14: 255, 15: 255, 16: 255, 17: 5, 18: 255, 19: 6, 20: 7,
    21: 8, 22: 9, 23: 10, 24: 11, 25: 12, 26: 13, 27: 14, 28: 15, 29: 255, 30: 255, 31: 16,
    32: 17, 33: 18,
}  # fmt: skip


def test_cityscapes_mapping_equals_official_table():
    lut = L.cityscapes_label_lut()
    for label_id, train_id in OFFICIAL_MAPPING.items():
        if label_id >= 0:
            assert lut[label_id] == train_id, label_id
    # Values no Cityscapes PNG holds are flagged, not silently ignored.
    assert (lut[34:] == L.INVALID).all()


def test_cityscapes_names_colors_and_inverse():
    assert len(L.CITYSCAPES_CLASSES) == 19
    assert L.CITYSCAPES_CLASSES[0] == "road" and L.CITYSCAPES_CLASSES[18] == "bicycle"
    assert L.CITYSCAPES_PALETTE.shape == (19, 3)
    assert L.CITYSCAPES_PALETTE[13].tolist() == [0, 0, 142]  # car
    assert len(L.CITYSCAPES_CLASS_WEIGHTS) == 19
    # trainId -> labelId -> trainId is the identity on the 19 classes.
    train_ids = np.arange(19)
    back = L.cityscapes_label_lut()[L.train_ids_to_label_ids(train_ids)]
    np.testing.assert_array_equal(back, train_ids)


def test_pascal_context_label_transforms():
    raw = np.array([0, 1, 2, 59])
    np.testing.assert_array_equal(L.pascal_context_lut(59)[raw], [255, 0, 1, 58])
    np.testing.assert_array_equal(L.pascal_context_lut(60)[raw], [0, 1, 2, 59])
    assert len(L.PASCAL_CONTEXT_CLASSES_59) == 59 and len(L.PASCAL_CONTEXT_CLASSES_60) == 60
    assert len(set(L.PASCAL_CONTEXT_RAW_IDS)) == 60
    with pytest.raises(ValueError, match="59 or 60"):
        L.pascal_context_lut(21)


def test_lip_classes_and_flip_pairs():
    assert len(L.LIP_CLASSES) == 20
    for left, right in L.LIP_FLIP_PAIRS:
        assert L.LIP_CLASSES[left].startswith("left-")
        assert L.LIP_CLASSES[right] == "right-" + L.LIP_CLASSES[left][len("left-"):]


def test_generic_mapping_and_colorize():
    lut = L.mapping_lut({7: 0, 26: 1}, ignore_label=255)
    np.testing.assert_array_equal(lut[[7, 26, 255, 0]], [0, 1, 255, L.INVALID])
    with pytest.raises(ValueError, match="outside"):
        L.mapping_lut({300: 1})
    colors = L.palette(25)
    assert colors.shape == (25, 3) and len({tuple(c) for c in colors}) == 25
    image = L.colorize(np.array([[13, 255]]), L.CITYSCAPES_PALETTE)
    assert image[0, 0].tolist() == [0, 0, 142] and image[0, 1].tolist() == [0, 0, 0]


def test_palettes_give_every_class_its_own_color():
    # PASCAL-Context had aeroplane and pottedplant in one color: the VOC bit pattern repeats
    # Cityscapes colors. Every palette is injective now, and keeps its first colors.
    for n in (19, 20, 59, 60, 256):
        colors = L.palette(n)
        assert len({tuple(c) for c in colors.tolist()}) == n
    np.testing.assert_array_equal(L.palette(60)[:19], L.CITYSCAPES_PALETTE[:19])
    names = L.PASCAL_CONTEXT_CLASSES_59
    info = dataset_info("pascal_context")
    assert len({tuple(c) for c in info.colors.tolist()}) == len(names) == 59
