"""Logits -> probabilities / top-k answers, and top-k accuracy, against direct references."""

import numpy as np

from hrnet_tf.classification import codec
from hrnet_tf.classification.metrics import accuracies, topk_correct


def test_probabilities_and_top_k():
    logits = np.array([[1.0, 3.0, 2.0, 3.0], [1000.0, 0.0, -1000.0, 999.0]])
    probs = codec.probabilities(logits)
    np.testing.assert_allclose(probs.sum(-1), 1.0)
    np.testing.assert_allclose(probs[0], np.exp(logits[0]) / np.exp(logits[0]).sum())
    assert np.isfinite(probs).all()  # no overflow at large logits
    ids, values = codec.top_k(probs, 3)
    assert ids.tolist() == [[1, 3, 2], [0, 3, 1]]  # a tie keeps the lower id first
    np.testing.assert_array_equal(values, np.take_along_axis(probs, ids, -1))


def test_decode_names_classes_from_the_labels_and_falls_back_to_ids():
    answer = codec.decode(np.array([0.1, 0.2, 0.7]), ["cat", "dog"], k=2)
    assert answer == [{"class": 2, "name": "class 2", "probability": 0.7},
                      {"class": 1, "name": "dog", "probability": 0.2}]


def _official_accuracy(scores, labels, k):
    """lib/core/evaluate.py ``accuracy``: the label among ``output.topk(k)`` (no ties here)."""
    top = np.argsort(-scores, axis=-1)[:, :k]
    return (top == labels[:, None]).any(-1)


def test_topk_correct_matches_the_official_accuracy():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(200, 10))
    labels = rng.integers(0, 10, 200)
    for k in (1, 5):
        np.testing.assert_array_equal(topk_correct(labels, scores, k),
                                      _official_accuracy(scores, labels, k))
    hits = {k: int(topk_correct(labels, scores, k).sum()) for k in (1, 5)}
    result = accuracies(hits, 200)
    assert result["examples"] == 200
    assert result["top1"] == _official_accuracy(scores, labels, 1).mean()
    assert np.isnan(accuracies({1: 0}, 0)["top1"])
