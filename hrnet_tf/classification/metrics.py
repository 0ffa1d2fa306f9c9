"""Top-k accuracy, the ImageNet metric (official ``lib/core/evaluate.py`` ``accuracy``), in NumPy.

    >>> import numpy as np
    >>> scores = np.array([[0.1, 0.5, 0.4], [0.6, 0.3, 0.1]])
    >>> topk_correct(np.array([2, 2]), scores, 2).tolist()
    [True, False]
"""

import numpy as np


def topk_correct(labels, scores, k):
    """Whether each label is among the ``k`` highest scores of its row (bool ``[B]``).

    A label counts when fewer than ``k`` classes score strictly higher (ties at the boundary count
    as correct, as ``tf.math.in_top_k``; with float logits ties do not occur in practice).
    """
    scores = np.asarray(scores, np.float64)
    labels = np.asarray(labels, np.int64).reshape(-1)
    own = np.take_along_axis(scores, labels[:, None], axis=-1)
    return np.sum(scores > own, axis=-1) < k


def accuracies(hits, count):
    """``{"top1": ..., "top5": ..., "examples": count}`` from summed hits ``{k: n}``; NaN
    accuracies when nothing was evaluated."""
    out = {f"top{k}": (n / count if count else float("nan")) for k, n in sorted(hits.items())}
    out["examples"] = int(count)
    return out


__all__ = ["accuracies", "topk_correct"]
