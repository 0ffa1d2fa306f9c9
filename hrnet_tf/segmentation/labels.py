"""Class tables of the segmentation datasets: Cityscapes, PASCAL-Context and LIP.

The Cityscapes table is our own copy of the official one (cityscapesscripts' ``labels.py``, whose
evaluator no longer runs on numpy 2.4): label id, name, train id, color. HRNet trains on the 19
classes with a train id and maps every other label id to the ignore label 255.

    >>> from hrnet_tf.segmentation import labels
    >>> lut = labels.cityscapes_label_lut()
    >>> int(lut[7]), int(lut[26]), int(lut[0])      # road, car, unlabeled
    (0, 13, 255)
    >>> labels.CITYSCAPES_CLASSES[13]
    'car'
"""

import numpy as np

IGNORE_LABEL = 255
# Marks label values that no mapping covers, so that bad data is reported instead of trained on.
INVALID = -1

# (label id, name, train id, RGB color) -- cityscapesscripts/helpers/labels.py.
CITYSCAPES_TABLE = (
    (0, "unlabeled", 255, (0, 0, 0)),
    (1, "ego vehicle", 255, (0, 0, 0)),
    (2, "rectification border", 255, (0, 0, 0)),
    (3, "out of roi", 255, (0, 0, 0)),
    (4, "static", 255, (0, 0, 0)),
    (5, "dynamic", 255, (111, 74, 0)),
    (6, "ground", 255, (81, 0, 81)),
    (7, "road", 0, (128, 64, 128)),
    (8, "sidewalk", 1, (244, 35, 232)),
    (9, "parking", 255, (250, 170, 160)),
    (10, "rail track", 255, (230, 150, 140)),
    (11, "building", 2, (70, 70, 70)),
    (12, "wall", 3, (102, 102, 156)),
    (13, "fence", 4, (190, 153, 153)),
    (14, "guard rail", 255, (180, 165, 180)),
    (15, "bridge", 255, (150, 100, 100)),
    (16, "tunnel", 255, (150, 120, 90)),
    (17, "pole", 5, (153, 153, 153)),
    (18, "polegroup", 255, (153, 153, 153)),
    (19, "traffic light", 6, (250, 170, 30)),
    (20, "traffic sign", 7, (220, 220, 0)),
    (21, "vegetation", 8, (107, 142, 35)),
    (22, "terrain", 9, (152, 251, 152)),
    (23, "sky", 10, (70, 130, 180)),
    (24, "person", 11, (220, 20, 60)),
    (25, "rider", 12, (255, 0, 0)),
    (26, "car", 13, (0, 0, 142)),
    (27, "truck", 14, (0, 0, 70)),
    (28, "bus", 15, (0, 60, 100)),
    (29, "caravan", 255, (0, 0, 90)),
    (30, "trailer", 255, (0, 0, 110)),
    (31, "train", 16, (0, 80, 100)),
    (32, "motorcycle", 17, (0, 0, 230)),
    (33, "bicycle", 18, (119, 11, 32)),
)

CITYSCAPES_CLASSES = tuple(name for _, name, train_id, _ in CITYSCAPES_TABLE if train_id != 255)
CITYSCAPES_PALETTE = np.array(
    [color for _, _, train_id, color in CITYSCAPES_TABLE if train_id != 255], dtype=np.uint8
)
# trainId -> labelId, for files sent to the official benchmark server.
CITYSCAPES_TRAIN_TO_LABEL_ID = np.array(
    [label_id for label_id, _, train_id, _ in CITYSCAPES_TABLE if train_id != 255], dtype=np.uint8
)
# Official HRNet Cityscapes class weights (cityscapes.py), in train id order.
CITYSCAPES_CLASS_WEIGHTS = (
    0.8373, 0.918, 0.866, 1.0345, 1.0166, 0.9969, 0.9754, 1.0489, 0.8786, 1.0023,
    0.9539, 0.9843, 1.1116, 0.9037, 1.0865, 1.0955, 1.0865, 1.1529, 1.0507,
)  # fmt: skip

# PASCAL-Context: 59 classes (background ignored) or 60 (background is class 0). Label PNGs hold
# 0 = background, 1..59 = the classes below, as produced by the Detail API conversion.
PASCAL_CONTEXT_CLASSES_59 = (
    "aeroplane", "bag", "bed", "bedclothes", "bench", "bicycle", "bird", "boat", "book", "bottle",
    "building", "bus", "cabinet", "car", "cat", "ceiling", "chair", "cloth", "computer", "cow",
    "cup", "curtain", "dog", "door", "fence", "floor", "flower", "food", "grass", "ground",
    "horse", "keyboard", "light", "motorbike", "mountain", "mouse", "person", "plate", "platform",
    "pottedplant", "road", "rock", "sheep", "shelves", "sidewalk", "sign", "sky", "snow", "sofa",
    "table", "track", "train", "tree", "truck", "tvmonitor", "wall", "water", "window", "wood",
)  # fmt: skip
PASCAL_CONTEXT_CLASSES_60 = ("background", *PASCAL_CONTEXT_CLASSES_59)
# The 60 raw PASCAL-Context (459-category) ids that the official code keeps, sorted; raw masks
# are mapped to their index in this list (pascal_ctx.py `_mapping`).
PASCAL_CONTEXT_RAW_IDS = tuple(sorted((
    0, 2, 259, 260, 415, 324, 9, 258, 144, 18, 19, 22, 23, 397, 25, 284, 158, 159, 416, 33, 162,
    420, 454, 295, 296, 427, 44, 45, 46, 308, 59, 440, 445, 31, 232, 65, 354, 424, 68, 326, 72,
    458, 34, 207, 80, 355, 85, 347, 220, 349, 360, 98, 187, 104, 105, 366, 189, 368, 113, 115,
)))  # fmt: skip

LIP_CLASSES = (
    "background", "hat", "hair", "glove", "sunglasses", "upper-clothes", "dress", "coat", "socks",
    "pants", "jumpsuits", "scarf", "skirt", "face", "left-arm", "right-arm", "left-leg",
    "right-leg", "left-shoe", "right-shoe",
)  # fmt: skip
# Horizontal flips swap left and right body parts (lip.py): (left, right) class pairs.
LIP_FLIP_PAIRS = ((14, 15), (16, 17), (18, 19))


def cityscapes_label_lut():
    """A 256-entry int32 table: Cityscapes label id -> train id (255 = ignore, -1 = not a label id).

    >>> cityscapes_label_lut()[[7, 8, 33, 34]].tolist()
    [0, 1, 18, -1]
    """
    lut = np.full(256, INVALID, dtype=np.int32)
    for label_id, _, train_id, _ in CITYSCAPES_TABLE:
        lut[label_id] = train_id
    return lut


def mapping_lut(id_mapping, ignore_label=IGNORE_LABEL, size=256):
    """A lookup table from a ``{raw id: class index}`` dict (the generic dataset's ``id_mapping``).

    Raw ids missing from the dict map to -1 (reported as bad data), except ``ignore_label`` itself,
    which stays ignored.

    >>> mapping_lut({7: 0, 26: 1}, ignore_label=255)[[7, 26, 255, 3]].tolist()
    [0, 1, 255, -1]
    """
    lut = np.full(size, INVALID, dtype=np.int32)
    if 0 <= ignore_label < size:
        lut[ignore_label] = ignore_label
    for raw, index in id_mapping.items():
        raw, index = int(raw), int(index)
        if not 0 <= raw < size:
            raise ValueError(f"id_mapping: raw label id {raw} is outside 0..{size - 1}")
        lut[raw] = index
    return lut


def identity_lut(num_classes, ignore_label=IGNORE_LABEL, size=256):
    """Labels already hold class indices: 0..num_classes-1 and ignore_label are valid."""
    return mapping_lut({i: i for i in range(num_classes)}, ignore_label, size)


def pascal_context_lut(num_classes, ignore_label=IGNORE_LABEL):
    """PASCAL-Context label PNGs (0 background, 1..59) -> train ids.

    59 classes: background becomes ignore and class k becomes k-1 (official ``label_transform``);
    60 classes: labels are used as they are.
    """
    if num_classes == 60:
        return identity_lut(60, ignore_label)
    if num_classes == 59:
        mapping = {0: ignore_label, **{k: k - 1 for k in range(1, 60)}}
        return mapping_lut(mapping, ignore_label)
    raise ValueError(f"PASCAL-Context has 59 or 60 classes, got num_classes={num_classes}")


def palette(num_classes):
    """Colors for ``num_classes`` classes: the Cityscapes colors first, then a fixed bit pattern
    (the PASCAL VOC color map) for any further class, skipping colors already taken so that no
    two classes share one (the VOC pattern repeats Cityscapes' road and car colors).

    >>> palette(2).tolist()
    [[128, 64, 128], [244, 35, 232]]
    >>> len({tuple(c) for c in palette(60).tolist()})
    60
    """
    colors = [tuple(c) for c in CITYSCAPES_PALETTE[:num_classes]]
    k = 1
    while len(colors) < num_classes:
        r = g = b = 0
        c = k
        for bit in range(8):
            r |= ((c >> 0) & 1) << (7 - bit)
            g |= ((c >> 1) & 1) << (7 - bit)
            b |= ((c >> 2) & 1) << (7 - bit)
            c >>= 3
        if (r, g, b) not in colors:
            colors.append((r, g, b))
        k += 1
    return np.array(colors, dtype=np.uint8).reshape(-1, 3)


def colors_for_names(class_names):
    """Cityscapes colors for classes named like a Cityscapes class, the generic palette otherwise.

    >>> colors_for_names(["sky", "thing"]).tolist()
    [[70, 130, 180], [244, 35, 232]]
    """
    generic = palette(len(class_names))
    by_name = dict(zip(CITYSCAPES_CLASSES, CITYSCAPES_PALETTE.tolist(), strict=True))
    rows = [by_name.get(name, generic[i].tolist()) for i, name in enumerate(class_names)]
    return np.array(rows, dtype=np.uint8).reshape(-1, 3)


def colorize(train_ids, colors, ignore_color=(0, 0, 0)):
    """An RGB image (uint8 [H, W, 3]) of a train-id map; ignore/unknown ids get ``ignore_color``.

    >>> colorize(np.array([[0, 255]]), palette(1)).tolist()
    [[[128, 64, 128], [0, 0, 0]]]
    """
    train_ids = np.asarray(train_ids)
    table = np.tile(np.array(ignore_color, dtype=np.uint8), (256, 1))
    table[: len(colors)] = colors
    return table[np.clip(train_ids, 0, 255).astype(np.intp)]


def train_ids_to_label_ids(train_ids):
    """Cityscapes train ids -> label ids (what the official benchmark server reads); ignore -> 0.

    >>> train_ids_to_label_ids(np.array([[0, 13, 255]])).tolist()
    [[7, 26, 0]]
    """
    table = np.zeros(256, dtype=np.uint8)
    table[: len(CITYSCAPES_TRAIN_TO_LABEL_ID)] = CITYSCAPES_TRAIN_TO_LABEL_ID
    return table[np.clip(np.asarray(train_ids), 0, 255).astype(np.intp)]
