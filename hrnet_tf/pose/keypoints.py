"""Keypoint sets: joint names, flip pairs, OKS sigmas, joint weights, half-body split, skeleton.

COCO and MPII are built in; any other set comes from a config dict with the same fields, e.g.::

    >>> kps = KeypointSet.from_config({"name": "hand3", "joint_names": ["a", "b", "c"],
    ...                                 "flip_pairs": [], "sigmas": [0.05, 0.05, 0.05]})
    >>> kps.num_joints
    3
"""

from dataclasses import dataclass, field

import numpy as np

COCO_JOINT_NAMES = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)
# Official COCO OKS sigmas (pycocotools / lib/nms/nms.py), already divided by 10.
COCO_SIGMAS = (
    0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072, 0.062, 0.062,
    0.107, 0.107, 0.087, 0.087, 0.089, 0.089,
)
# LOSS.USE_DIFFERENT_JOINTS_WEIGHT weights of lib/dataset/coco.py.
COCO_JOINT_WEIGHTS = (1, 1, 1, 1, 1, 1, 1, 1.2, 1.2, 1.5, 1.5, 1, 1, 1.2, 1.2, 1.5, 1.5)
# 0-based limb list (the COCO annotation file lists it 1-based).
COCO_SKELETON = (
    (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7), (6, 8),
    (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6),
)

MPII_JOINT_NAMES = (
    "r_ankle", "r_knee", "r_hip", "l_hip", "l_knee", "l_ankle", "pelvis", "thorax",
    "upper_neck", "head_top", "r_wrist", "r_elbow", "r_shoulder", "l_shoulder", "l_elbow",
    "l_wrist",
)
MPII_SKELETON = (
    (0, 1), (1, 2), (2, 6), (6, 3), (3, 4), (4, 5), (6, 7), (7, 8), (8, 9), (7, 12), (12, 11),
    (11, 10), (7, 13), (13, 14), (14, 15),
)


@dataclass(frozen=True)
class KeypointSet:
    """Everything the pipeline and the evaluator need to know about a set of joints."""

    name: str
    joint_names: tuple
    flip_pairs: tuple
    sigmas: tuple
    joint_weights: tuple = None
    upper_body_ids: tuple = ()
    skeleton: tuple = ()
    extra: dict = field(default_factory=dict, compare=False)

    def __post_init__(self):
        n = len(self.joint_names)
        weights = self.joint_weights if self.joint_weights is not None else (1.0,) * n
        object.__setattr__(self, "joint_weights", tuple(float(w) for w in weights))
        object.__setattr__(self, "sigmas", tuple(float(s) for s in self.sigmas))
        pairs = tuple(tuple(int(i) for i in pair) for pair in self.flip_pairs)
        object.__setattr__(self, "flip_pairs", pairs)
        for key, values in (("sigmas", self.sigmas), ("joint_weights", self.joint_weights)):
            if len(values) != n:
                raise ValueError(f"keypoints.{key}: {len(values)} values for {n} joints")
        for pair in self.flip_pairs:
            if len(pair) != 2 or not all(0 <= i < n for i in pair):
                raise ValueError(f"keypoints.flip_pairs: bad pair {pair} for {n} joints")
        for i in (*self.upper_body_ids, *(j for limb in self.skeleton for j in limb)):
            if not 0 <= int(i) < n:
                raise ValueError(f"keypoints: joint id {i} out of range for {n} joints")

    @property
    def num_joints(self):
        return len(self.joint_names)

    def flip_permutation(self):
        """Index array p such that ``flipped_joints = joints[p]`` swaps every left/right pair."""
        perm = np.arange(self.num_joints)
        for a, b in self.flip_pairs:
            perm[a], perm[b] = b, a
        return perm

    def upper_body_mask(self):
        mask = np.zeros(self.num_joints, bool)
        mask[list(self.upper_body_ids)] = True
        return mask

    def to_config(self):
        """What :meth:`from_config` reads back: a preset's name, or a JSON-able dict (this is what a
        trained model records in ``model.info.labels["keypoints"]``).

        >>> COCO.to_config(), KeypointSet.from_config(MPII.to_config()) == MPII
        ('coco', True)
        """
        if PRESETS.get(self.name) == self:
            return self.name
        return {
            "name": self.name,
            "joint_names": list(self.joint_names),
            "flip_pairs": [list(pair) for pair in self.flip_pairs],
            "sigmas": list(self.sigmas),
            "joint_weights": list(self.joint_weights),
            "upper_body_ids": [int(i) for i in self.upper_body_ids],
            "skeleton": [list(limb) for limb in self.skeleton],
        }

    @classmethod
    def from_config(cls, cfg):
        """A preset name ("coco", "mpii") or a dict with joint_names/num_joints, flip_pairs, sigmas,
        and optional joint_weights, upper_body_ids, skeleton (a KeypointSet is returned as is)."""
        if isinstance(cfg, KeypointSet):
            return cfg
        if isinstance(cfg, str):
            if cfg.lower() not in PRESETS:
                raise ValueError(
                    f"keypoints: unknown set {cfg!r}; choose {sorted(PRESETS)} or a dict")
            return PRESETS[cfg.lower()]
        cfg = dict(cfg)
        if "preset" in cfg:
            base = cls.from_config(cfg.pop("preset"))
            merged = {**base.__dict__, **cfg}
            merged.pop("extra", None)
            return cls(**merged)
        names = cfg.get("joint_names") or [f"joint_{i}" for i in range(int(cfg["num_joints"]))]
        try:
            return cls(
                name=str(cfg.get("name", "custom")),
                joint_names=tuple(names),
                flip_pairs=tuple(cfg.get("flip_pairs", ())),
                sigmas=tuple(cfg["sigmas"]),
                joint_weights=cfg.get("joint_weights"),
                upper_body_ids=tuple(cfg.get("upper_body_ids", ())),
                skeleton=tuple(tuple(limb) for limb in cfg.get("skeleton", ())),
            )
        except KeyError as e:
            raise ValueError(f"keypoints: missing key {e.args[0]!r}") from None


COCO = KeypointSet(
    name="coco",
    joint_names=COCO_JOINT_NAMES,
    flip_pairs=((1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16)),
    sigmas=COCO_SIGMAS,
    joint_weights=COCO_JOINT_WEIGHTS,
    upper_body_ids=tuple(range(11)),
    skeleton=COCO_SKELETON,
)

# The official MPII set: PCKh has no OKS sigmas, so these (COCO-like) values only matter if a user
# runs OKS-NMS on MPII predictions.
MPII = KeypointSet(
    name="mpii",
    joint_names=MPII_JOINT_NAMES,
    flip_pairs=((0, 5), (1, 4), (2, 3), (10, 15), (11, 14), (12, 13)),
    sigmas=(0.089, 0.087, 0.107, 0.107, 0.087, 0.089, 0.107, 0.079, 0.079, 0.035,
            0.062, 0.072, 0.079, 0.079, 0.072, 0.062),
    upper_body_ids=(7, 8, 9, 10, 11, 12, 13, 14, 15),
    skeleton=MPII_SKELETON,
)

PRESETS = {"coco": COCO, "mpii": MPII}
