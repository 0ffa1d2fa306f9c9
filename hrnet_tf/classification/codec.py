"""Classifier outputs <-> answers: logits to probabilities and top-k classes, and the uint8
serving function of the exported ``classify`` signature.

The targets need no encoding (integer class ids). Every inference path (evaluation, ``predict``,
the SavedModel signature) feeds the network the output of
:func:`hrnet_tf.classification.pipeline.eval_image` and reads it with the functions here.

    >>> import numpy as np
    >>> top_k(probabilities(np.array([[0.0, 2.0, 1.0]])), 2)[0].tolist()
    [[1, 2]]
    >>> answer = decode(np.array([0.1, 0.7, 0.2]), ["cat", "dog", "fox"], k=2)
    >>> [(a["class"], a["name"]) for a in answer]
    [(1, 'dog'), (2, 'fox')]
"""

import numpy as np

from hrnet_tf.classification.pipeline import EVAL_CROP_FRACTION, eval_images


def probabilities(logits):
    """Softmax over the last axis, in float64 NumPy (the numbers ``predict`` prints)."""
    logits = np.asarray(logits, np.float64)
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def top_k(scores, k):
    """(class ids, scores) of the ``k`` highest scores per row, best first (ties: lower id)."""
    scores = np.asarray(scores)
    k = min(int(k), scores.shape[-1])
    order = np.argsort(-scores, axis=-1, kind="stable")[..., :k]
    return order, np.take_along_axis(scores, order, axis=-1)


def class_names_of(model):
    """The class names a model was trained with (``model.info.labels["class_names"]``), or []."""
    info = getattr(model, "info", None)
    return list((info.labels if info is not None else {}).get("class_names", []))


def decode(probs, class_names=(), k=5):
    """One image's probabilities ``[C]`` -> the top ``k`` as ``{"class", "name", "probability"}``;
    a class without a name is called ``"class <id>"``."""
    ids, values = top_k(np.asarray(probs)[None], k)
    names = list(class_names)
    return [
        {"class": int(c), "name": names[c] if c < len(names) else f"class {c}",
         "probability": float(p)}
        for c, p in zip(ids[0], values[0], strict=True)
    ]


def eval_settings(model):
    """(input size (h, w) or None, crop fraction, normalization) the model is evaluated with."""
    from hrnet_tf.data.normalization import IMAGENET

    shape = model.inputs[0].shape
    size = None if shape[1] is None or shape[2] is None else (int(shape[1]), int(shape[2]))
    info = getattr(model, "info", None)
    fraction = (info.labels if info is not None else {}).get("eval_crop_fraction",
                                                             EVAL_CROP_FRACTION)
    normalization = info.normalization if info is not None else IMAGENET
    return size, float(fraction), normalization


def classify(model, images):
    """The uint8 serving function: ``images`` uint8 ``[B, H, W, 3]`` (RGB, any size) ->
    ``{"probabilities": [B, C], "classes": int32 [B]}``, in TF ops.

    Each image gets the evaluation transform (:func:`~hrnet_tf.classification.pipeline.eval_image`)
    at the model's input size; a model without a fixed input size classifies the whole image.
    """
    import tensorflow as tf

    from hrnet_tf.data.images import normalize

    size, fraction, normalization = eval_settings(model)
    if size is None:
        x = normalize(images, normalization)
    else:
        x = eval_images(images, size, fraction, normalization)
    logits = tf.cast(model(x, training=False), tf.float32)
    probs = tf.nn.softmax(logits, axis=-1)
    return {"probabilities": probs, "classes": tf.argmax(probs, axis=-1, output_type=tf.int32)}


__all__ = ["class_names_of", "classify", "decode", "eval_settings", "probabilities", "top_k"]
