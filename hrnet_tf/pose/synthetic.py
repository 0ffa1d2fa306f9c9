"""A small synthetic COCO-keypoints dataset: stick-figure people, written in the official layout.

Each image shows one front-facing figure (so, as in COCO, the person's left side is on the image's
right) drawn as coloured limbs on a cluttered background: torso, upper/lower arms and legs in a
fixed palette shared by left and right (so horizontal flips stay consistent), a head with eyes,
nose and ears, joint dots coloured by joint type. Keypoints that fall outside the image are
unlabelled (0, 0, 0), as in COCO. ``area`` is the drawn figure's pixel count (COCO uses the
segmentation area).

    >>> make_synthetic_coco("/tmp/synth", num_train=200, num_val=20)   # doctest: +SKIP
    '/tmp/synth'
    >>> ensure_synthetic("runs/synthetic/pose", 2000, 100, (160, 160))   # doctest: +SKIP
    'runs/synthetic/pose'

The directory then holds ``annotations/person_keypoints_{train,val}2017.json``,
``images/{train,val}2017/*.jpg`` and a ``person_detection_results`` file with jittered ground-truth
boxes (scores 0.6-1) plus a few low-score false positives, for the detector-box path.
"""

import json
import math
import os

import cv2
import numpy as np

from hrnet_tf.data.synthetic import ensure_generated
from hrnet_tf.pose.coco import DEFAULT_DETECTIONS
from hrnet_tf.pose.keypoints import COCO

# Bump when the generator draws differently: folders generated before are then regenerated.
GENERATOR_VERSION = 1

# Limb colours (RGB), one per limb type, identical for left and right.
PALETTE = {
    "torso": (200, 60, 60),
    "upper_arm": (230, 160, 40),
    "forearm": (60, 180, 75),
    "thigh": (60, 90, 210),
    "shin": (170, 70, 200),
    "head": (235, 200, 160),
}
# Joint dot colours, one per joint type (again shared by left and right): shoulders, elbows,
# wrists, hips, knees, ankles. They make each joint a local pattern a tiny network learns fast.
JOINT_COLORS = {5: (250, 250, 250), 7: (250, 250, 0), 9: (20, 20, 20), 11: (0, 250, 250),
                13: (250, 0, 250), 15: (255, 120, 0)}


def _direction(angle_deg, side):
    """Unit vector `angle_deg` away from straight down, toward the person's `side` (+1 = left,
    which is the image's right for a front-facing figure)."""
    a = math.radians(angle_deg)
    return np.array([side * math.sin(a), math.cos(a)])


def random_pose(rng):
    """17 COCO keypoints of a figure of unit height, pelvis at the origin, y pointing down."""
    kp = np.zeros((17, 2))
    neck = np.array([0.0, -0.30])
    head = np.array([0.0, -0.40]) + rng.normal(0, 0.01, 2)
    kp[0] = head + [0.0, 0.012]
    kp[1], kp[2] = head + [0.028, -0.012], head + [-0.028, -0.012]
    kp[3], kp[4] = head + [0.062, 0.0], head + [-0.062, 0.0]
    shoulder_w = rng.uniform(0.09, 0.12)
    kp[5], kp[6] = neck + [shoulder_w, 0.01], neck + [-shoulder_w, 0.01]
    hip_w = rng.uniform(0.065, 0.09)
    kp[11], kp[12] = np.array([hip_w, 0.0]), np.array([-hip_w, 0.0])
    for side, (s, e, w) in ((1, (5, 7, 9)), (-1, (6, 8, 10))):
        upper = rng.uniform(-15, 150)
        lower = upper + rng.uniform(-80, 80)
        kp[e] = kp[s] + 0.16 * _direction(upper, side)
        kp[w] = kp[e] + 0.14 * _direction(lower, side)
    for side, (h, k, a) in ((1, (11, 13, 15)), (-1, (12, 14, 16))):
        thigh = rng.uniform(-10, 45)
        shin = thigh + rng.uniform(-35, 20)
        kp[k] = kp[h] + 0.24 * _direction(thigh, side)
        kp[a] = kp[k] + 0.23 * _direction(shin, side)
    return kp


def _limbs():
    return [
        ((11, 13), "thigh"), ((13, 15), "shin"), ((12, 14), "thigh"), ((14, 16), "shin"),
        ((5, 7), "upper_arm"), ((7, 9), "forearm"), ((6, 8), "upper_arm"), ((8, 10), "forearm"),
    ]


def _jitter(color, rng, amount=25):
    return tuple(int(np.clip(c + rng.integers(-amount, amount + 1), 0, 255)) for c in color)


def _background(rng, width, height):
    base = rng.integers(40, 216, 3)
    image = np.empty((height, width, 3), np.uint8)
    image[:] = base
    for _ in range(rng.integers(2, 6)):  # clutter: grey-ish boxes and lines
        grey = int(rng.integers(30, 226))
        color = tuple(int(np.clip(grey + rng.integers(-30, 31), 0, 255)) for _ in range(3))
        p1 = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        p2 = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        if rng.random() < 0.5:
            cv2.rectangle(image, p1, p2, color, -1)
        else:
            cv2.line(image, p1, p2, color, int(rng.integers(1, 4)))
    noise = rng.normal(0, 6, image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


def draw_person(image, mask, keypoints, height_px, rng):
    """Draws a figure whose keypoints are in image pixels; marks its pixels in ``mask``."""
    thickness = max(2, int(round(height_px * rng.uniform(0.06, 0.08))))

    def pt(i):
        return tuple(int(round(v * 16)) for v in keypoints[i])  # 4 fractional bits

    def line(a, b, color):
        for canvas, c in ((image, color), (mask, 255)):
            cv2.line(canvas, pt(a), pt(b), c, thickness, cv2.LINE_AA, shift=4)

    torso = np.round(keypoints[[5, 6, 12, 11]] * 16).astype(np.int32)
    cv2.fillPoly(image, [torso], _jitter(PALETTE["torso"], rng), cv2.LINE_AA, shift=4)
    cv2.fillPoly(mask, [torso], 255, cv2.LINE_AA, shift=4)
    for (a, b), part in _limbs():
        line(a, b, _jitter(PALETTE[part], rng))
    line(5, 6, _jitter(PALETTE["torso"], rng))
    neck = (keypoints[5] + keypoints[6]) / 2
    head_center = (keypoints[3] + keypoints[4]) / 2
    cv2.line(image, tuple(int(v) for v in neck), tuple(int(v) for v in head_center),
             PALETTE["head"], thickness)
    radius = int(round(np.linalg.norm(keypoints[3] - keypoints[4]) * 0.55 * 16))
    center16 = tuple(int(round(v * 16)) for v in head_center)
    cv2.circle(image, center16, radius, _jitter(PALETTE["head"], rng, 15), -1, cv2.LINE_AA, 4)
    cv2.circle(mask, center16, radius, 255, -1, cv2.LINE_AA, 4)
    dot = max(1, thickness // 3)
    for j in (1, 2):
        cv2.circle(image, pt(j), dot * 16, (20, 20, 20), -1, cv2.LINE_AA, 4)
    cv2.circle(image, pt(0), dot * 16, (200, 30, 30), -1, cv2.LINE_AA, 4)
    for j in (3, 4):
        cv2.circle(image, pt(j), dot * 16, (120, 80, 60), -1, cv2.LINE_AA, 4)
    for j in range(5, 17):
        color = JOINT_COLORS[j - (j - 5) % 2]
        cv2.circle(image, pt(j), max(1, thickness // 3) * 16, color, -1, cv2.LINE_AA, 4)


def synthetic_image(rng, width=160, height=160):
    """(RGB image, [17, 3] COCO keypoints, bbox xywh, area) of one random figure."""
    image = _background(rng, width, height)
    mask = np.zeros((height, width), np.uint8)
    height_px = rng.uniform(0.5, 0.75) * height
    angle = math.radians(rng.uniform(-25, 25))
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    pose = random_pose(rng) @ rot.T * height_px
    lo, hi = pose.min(0), pose.max(0)
    # inside the image, one figure in six cut off at a border (unlabelled keypoints)
    margin = -0.08 * height_px if rng.random() < 1 / 6 else 0.04 * height_px
    offset = rng.uniform([margin - lo[0], margin - lo[1]],
                         [width - margin - hi[0], height - margin - hi[1]])
    keypoints = pose + offset
    draw_person(image, mask, keypoints, height_px, rng)
    ys, xs = np.nonzero(mask)
    x0, y0, x1, y1 = xs.min(), ys.min(), xs.max(), ys.max()
    inside = ((keypoints[:, 0] >= 0) & (keypoints[:, 0] < width)
              & (keypoints[:, 1] >= 0) & (keypoints[:, 1] < height))
    coco_kp = np.zeros((17, 3))
    coco_kp[inside, :2] = keypoints[inside]
    coco_kp[inside, 2] = 2
    bbox = [float(x0), float(y0), float(x1 - x0 + 1), float(y1 - y0 + 1)]
    return image, coco_kp, bbox, float((mask > 127).sum())


def _write_split(root, split, count, rng, width, height, detections):
    image_dir = os.path.join(root, "images", split)
    os.makedirs(image_dir, exist_ok=True)
    images, annotations = [], []
    for i in range(count):
        image_id = i + 1
        image, kp, bbox, area = synthetic_image(rng, width, height)
        file_name = f"{image_id:012d}.jpg"
        cv2.imwrite(os.path.join(image_dir, file_name), image[:, :, ::-1],
                    [cv2.IMWRITE_JPEG_QUALITY, 92])
        images.append({"id": image_id, "file_name": file_name, "width": width, "height": height})
        annotations.append({
            "id": image_id, "image_id": image_id, "category_id": 1, "iscrowd": 0,
            "bbox": [round(v, 2) for v in bbox], "area": area,
            "keypoints": [round(float(v), 2) for v in kp.reshape(-1)],
            "num_keypoints": int((kp[:, 2] > 0).sum()),
        })
        if detections is not None:
            x, y, w, h = bbox
            jitter = rng.normal(0, 0.04, 4) * [w, h, w, h]
            detections.append({"image_id": image_id, "category_id": 1,
                               "bbox": [x + jitter[0], y + jitter[1], w + jitter[2],
                                        h + jitter[3]],
                               "score": float(rng.uniform(0.6, 1.0))})
            if rng.random() < 0.2:  # a low-score false positive somewhere else
                fw, fh = rng.uniform(20, 60, 2)
                detections.append({"image_id": image_id, "category_id": 1,
                                   "bbox": [float(rng.uniform(0, width - fw)),
                                            float(rng.uniform(0, height - fh)), fw, fh],
                                   "score": float(rng.uniform(0.05, 0.3))})
    categories = [{
        "id": 1, "name": "person", "supercategory": "person",
        "keypoints": list(COCO.joint_names),
        "skeleton": [[a + 1, b + 1] for a, b in COCO.skeleton],
    }]
    os.makedirs(os.path.join(root, "annotations"), exist_ok=True)
    with open(os.path.join(root, "annotations", f"person_keypoints_{split}.json"), "w") as f:
        json.dump({"images": images, "annotations": annotations, "categories": categories}, f)


def make_synthetic_coco(root, num_train=2000, num_val=100, image_size=(160, 160), seed=0):
    """Writes the synthetic dataset under ``root`` (official COCO layout); returns ``root``."""
    rng = np.random.default_rng(seed)
    width, height = image_size
    _write_split(root, "train2017", num_train, rng, width, height, None)
    detections = []
    _write_split(root, "val2017", num_val, rng, width, height, detections)
    os.makedirs(os.path.join(root, "person_detection_results"), exist_ok=True)
    with open(os.path.join(root, "person_detection_results", DEFAULT_DETECTIONS), "w") as f:
        json.dump(detections, f)
    return root


def ensure_synthetic(root, num_train, num_val, image_size, seed=0):
    """``root`` holding the synthetic set of these settings, generated when it is new or empty and
    regenerated when the settings differ from the ones it was generated with (a folder that holds
    other data is refused: :func:`hrnet_tf.data.synthetic.ensure_generated`). ``image_size`` is
    (width, height). Returns ``root``."""
    width, height = (int(v) for v in image_size)
    settings = {"generator": "pose stick figures", "version": GENERATOR_VERSION,
                "num_train": int(num_train), "num_val": int(num_val), "width": width,
                "height": height, "seed": int(seed)}
    return ensure_generated(
        root, settings,
        lambda folder: make_synthetic_coco(folder, num_train, num_val, (width, height), seed))
