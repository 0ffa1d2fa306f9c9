"""Landmark sets: how many points, which pairs swap under a horizontal flip, what normalizes the NME.

The four official sets keep the flip pairs exactly as HRNet-Facial-Landmark-Detection writes them
(``lib/utils/transforms.py MATCHED_PARTS``): WFLW's pairs are 0-based, the 300W, AFLW and COFW
pairs 1-based (``fliplr_joints`` subtracts 1 for every dataset but WFLW). The NME normalizers are
those of ``lib/core/evaluation.py compute_nme`` (0-based point indices): inter-ocular distance
``||gt[36] - gt[45]||`` (300W, outer eye corners), ``||gt[60] - gt[72]||`` (WFLW), ``||gt[8] -
gt[9]||`` (COFW), and the face box size for AFLW (``meta['box_size']``).

Any other set comes from a dict (0-based pairs)::

    >>> s = LandmarkSet.from_config({"name": "five", "num_points": 5,
    ...                              "flip_pairs": [[0, 1], [3, 4]], "normalizer": [0, 1]})
    >>> s.flip_permutation().tolist()
    [1, 0, 2, 4, 3]
    >>> WFLW.pairs()[:2], W300.pairs()[:2]   # both 0-based here
    (((0, 32), (1, 31)), ((0, 16), (1, 15)))
"""

from dataclasses import dataclass

import numpy as np

from hrnet_tf.models.landmark_model import OFFICIAL_LANDMARKS

# MATCHED_PARTS of lib/utils/transforms.py, as written there (WFLW 0-based, the others 1-based).
MATCHED_PARTS = {
    "300W": ([1, 17], [2, 16], [3, 15], [4, 14], [5, 13], [6, 12], [7, 11], [8, 10],
             [18, 27], [19, 26], [20, 25], [21, 24], [22, 23],
             [32, 36], [33, 35],
             [37, 46], [38, 45], [39, 44], [40, 43], [41, 48], [42, 47],
             [49, 55], [50, 54], [51, 53], [62, 64], [61, 65], [68, 66], [59, 57], [60, 56]),
    "AFLW": ([1, 6], [2, 5], [3, 4],
             [7, 12], [8, 11], [9, 10],
             [13, 15],
             [16, 18]),
    "COFW": ([1, 2], [5, 7], [3, 4], [6, 8], [9, 10], [11, 12], [13, 15], [17, 18], [14, 16],
             [19, 20], [23, 24]),
    "WFLW": ([0, 32], [1, 31], [2, 30], [3, 29], [4, 28], [5, 27], [6, 26], [7, 25], [8, 24],
             [9, 23], [10, 22],
             [11, 21], [12, 20], [13, 19], [14, 18], [15, 17],  # check
             [33, 46], [34, 45], [35, 44], [36, 43], [37, 42], [38, 50], [39, 49], [40, 48],
             [41, 47],  # eyebrow
             [60, 72], [61, 71], [62, 70], [63, 69], [64, 68], [65, 75], [66, 74], [67, 73],
             [55, 59], [56, 58],
             [76, 82], [77, 81], [78, 80], [87, 83], [86, 84],
             [88, 92], [89, 91], [95, 93], [96, 97]),
}
ONE_BASED = {"300W": True, "AFLW": True, "COFW": True, "WFLW": False}

# WFLW test subsets: the attribute flags of list_98pt_rect_attr_test.txt, in their column order
# (WFLW README: pose, expression, illumination, make-up, occlusion, blur), named as the official
# subset CSVs face_landmarks_wflw_test_<name>.csv name them.
WFLW_ATTRIBUTES = ("largepose", "expression", "illumination", "makeup", "occlusion", "blur")


@dataclass(frozen=True)
class LandmarkSet:
    """``flip_pairs`` 0-based; ``normalizer`` is a pair of 0-based point indices (the NME divides
    by their distance in the ground truth) or ``"box"`` (the face box size of each record)."""

    name: str
    num_points: int
    flip_pairs: tuple
    normalizer: object
    subsets: tuple = ()

    def __post_init__(self):
        pairs = tuple(tuple(int(i) for i in pair) for pair in self.flip_pairs)
        object.__setattr__(self, "flip_pairs", pairs)
        n = int(self.num_points)
        seen = set()
        for pair in pairs:
            if len(pair) != 2 or not all(0 <= i < n for i in pair) or seen & set(pair):
                raise ValueError(f"landmarks.flip_pairs: bad or repeated pair {pair} for {n} points")
            seen |= set(pair)
        if self.normalizer != "box":
            norm = tuple(int(i) for i in self.normalizer)
            if len(norm) != 2 or not all(0 <= i < n for i in norm) or norm[0] == norm[1]:
                raise ValueError(f"landmarks.normalizer: {self.normalizer!r} is not two different "
                                 f"point indices below {n} or 'box'")
            object.__setattr__(self, "normalizer", norm)

    def pairs(self):
        return self.flip_pairs

    def flip_permutation(self):
        """Index array p with ``flipped = points[p]``: every pair swapped (an involution)."""
        perm = np.arange(self.num_points)
        for a, b in self.flip_pairs:
            perm[a], perm[b] = b, a
        return perm

    @property
    def uses_box(self):
        return self.normalizer == "box"

    def to_config(self):
        """A built-in set's name, else a JSON-able dict (what ``model.info.labels`` records)."""
        if SETS.get(self.name) == self:
            return self.name
        return {"name": self.name, "num_points": self.num_points,
                "flip_pairs": [list(p) for p in self.flip_pairs],
                "normalizer": self.normalizer if self.uses_box else list(self.normalizer),
                "subsets": list(self.subsets)}

    @classmethod
    def from_config(cls, cfg):
        """A built-in name ("wflw", "300w", "cofw", "aflw"), a dict (``num_points``,
        ``flip_pairs`` 0-based, ``normalizer`` [i, j] or "box", optional ``name``, ``subsets``),
        or a LandmarkSet (returned as is). ``ValueError`` says what is wrong."""
        if isinstance(cfg, LandmarkSet):
            return cfg
        if isinstance(cfg, str):
            if cfg.lower() not in SETS:
                raise ValueError(f"landmarks: unknown set {cfg!r}; choose {sorted(SETS)} or a dict")
            return SETS[cfg.lower()]
        if not isinstance(cfg, dict):
            raise ValueError(f"landmarks: expected a set name or a dict, got {cfg!r}")
        try:
            return cls(name=str(cfg.get("name", "custom")), num_points=int(cfg["num_points"]),
                       flip_pairs=tuple(cfg.get("flip_pairs", ())), normalizer=cfg["normalizer"],
                       subsets=tuple(cfg.get("subsets", ())))
        except KeyError as e:
            raise ValueError(f"landmarks: missing key {e.args[0]!r}") from None
        except (TypeError, ValueError) as e:
            raise ValueError(str(e) if str(e).startswith("landmarks") else f"landmarks: {e}") from None


def _official(key, name, normalizer, subsets=()):
    shift = 1 if ONE_BASED[key] else 0
    pairs = tuple((a - shift, b - shift) for a, b in MATCHED_PARTS[key])
    return LandmarkSet(name, OFFICIAL_LANDMARKS[name], pairs, normalizer, subsets)


WFLW = _official("WFLW", "wflw", (60, 72), WFLW_ATTRIBUTES)
W300 = _official("300W", "300w", (36, 45), ("common", "challenge"))
COFW = _official("COFW", "cofw", (8, 9))
AFLW = _official("AFLW", "aflw", "box", ("frontal",))

SETS = {s.name: s for s in (WFLW, W300, COFW, AFLW)}


def landmark_set_of(labels, num_points):
    """The set a model records (``info.labels["landmarks"]``, else ``["dataset"]``), else the
    official set with ``num_points`` points, else a set without flip pairs normalized by the box."""
    labels = labels or {}
    recorded = labels.get("landmarks", labels.get("dataset"))
    if recorded is not None:
        try:
            found = LandmarkSet.from_config(recorded)
        except ValueError:
            found = None
        if found is not None and found.num_points == num_points:
            return found
    by_count = next((s for s in SETS.values() if s.num_points == num_points), None)
    return by_count or LandmarkSet(f"custom{num_points}", num_points, (), "box")


__all__ = ["AFLW", "COFW", "MATCHED_PARTS", "SETS", "W300", "WFLW", "WFLW_ATTRIBUTES",
           "LandmarkSet", "landmark_set_of"]
