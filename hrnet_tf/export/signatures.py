"""The uint8 serving signature of each task: its function, its inputs and how the export checks it.

A SavedModel export adds the signature of the model's task (``model.info.task``) beside ``raw``.
The function is the task's own inference path, the one its evaluation and ``predict`` use, so an
exported model answers exactly what the library answers; the self-check runs both on the same
images and records how far they are apart.

* pose, ``keypoints``: ``image`` uint8 [H, W, 3] (any size), ``boxes`` float32 [N, 4] (x, y, w, h)
  -> ``keypoints`` [N, J, 2] in image pixels, ``scores`` [N, J];
* segmentation, ``segment``: ``images`` uint8 [B, H, W, 3] -> ``labels`` int32 [B, H, W];
* classification, ``classify``: ``images`` uint8 [B, H, W, 3] -> ``probabilities`` [B, C],
  ``classes`` int32 [B].
* detection (FCOS), ``detect``: ``image`` uint8 [H, W, 3] -> ``boxes`` [K, 4] (x, y, w, h in
  image pixels), ``scores`` [K], ``labels`` int32 [K] (-1 past the detections), NMS inside.
"""

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from hrnet_tf.export import report as reports


@dataclass(frozen=True)
class Signature:
    """``function(model, **inputs) -> {name: tensor}``, traced with ``input_signature``.

    ``check_inputs(images)`` gives the keyword arguments of the self-check calls (uint8 images at
    an odd size, and boxes for pose); ``compare(want, got)`` the figures of the report.
    """

    name: str
    function: object
    input_signature: tuple
    check_inputs: object
    compare: object
    needs_fixed_input: bool = False


def _odd_sized(images):
    """The check images cut to an odd size: exercises the any-size path of the signatures."""
    return images[:, : images.shape[1] - 3, : images.shape[2] - 5]


def _batch_inputs(images):
    return [{"images": tf.constant(_odd_sized(images))}]


def _person_boxes(size):
    """Person-like boxes (x, y, w, h) inside an image of ``size`` (h, w)."""
    height, width = size
    return np.array(
        [
            [0.1 * width, 0.1 * height, 0.35 * width, 0.7 * height],
            [0.5 * width, 0.2 * height, 0.3 * width, 0.6 * height],
            [0.05 * width, 0.5 * height, 0.5 * width, 0.45 * height],
        ],
        np.float32,
    )


def _pose_inputs(images):
    odd = _odd_sized(images)
    boxes = tf.constant(_person_boxes(odd.shape[1:3]))
    return [{"image": tf.constant(image), "boxes": boxes} for image in odd]


def _compare_labels(want, got):
    return {"label_agreement": float(np.mean(want["labels"] == got["labels"]))}


def _compare_probabilities(want, got):
    return {
        **reports.output_errors(want["probabilities"], got["probabilities"]),
        "label_agreement": reports.label_agreement(want["probabilities"], got["probabilities"]),
    }


def _compare_keypoints(want, got):
    error = np.linalg.norm(want["keypoints"] - got["keypoints"], axis=-1)
    return {"keypoint_error_px": {"mean": float(error.mean()), "max": float(error.max())}}


def _pose_function(model, image, boxes):
    # The pose task's own top-down inference (crop, flip test, decoding), as evaluation and
    # predict run it.
    from hrnet_tf.pose.codec import serve_keypoints

    return serve_keypoints(model, image, boxes)


def _segment_function(model, images):
    # The segmentation task's own whole-image path (its evaluation and predict use it too).
    from hrnet_tf.segmentation.codec import segment_images

    return {"labels": segment_images(model, images)}


def _classify_function(model, images):
    # The evaluation transform of the classification pipeline, applied in graph.
    from hrnet_tf.classification.codec import classify

    return classify(model, images)


def _detect_function(model, image):
    # The detection task's own path (keep-ratio resize into the model's canvas, FCOS decoding with
    # per-class NMS), as its evaluation and predict run it.
    from hrnet_tf.detection.codec import serve_detections

    return serve_detections(model, image)


def _image_inputs(images):
    return [{"image": tf.constant(image)} for image in _odd_sized(images)]


def _compare_detections(want, got):
    valid = want["labels"] >= 0
    error = np.abs(want["boxes"] - got["boxes"])[valid]
    return {"box_error_px": {"max": float(error.max()) if error.size else 0.0},
            "label_agreement": float(np.mean(want["labels"] == got["labels"])),
            "detections": int(valid.sum())}


_IMAGES = (tf.TensorSpec([None, None, None, 3], tf.uint8, name="images"),)

SIGNATURES = {
    "pose": Signature(
        "keypoints",
        _pose_function,
        (tf.TensorSpec([None, None, 3], tf.uint8, name="image"),
         tf.TensorSpec([None, 4], tf.float32, name="boxes")),
        _pose_inputs,
        _compare_keypoints,
        needs_fixed_input=True,
    ),
    "segmentation": Signature("segment", _segment_function, _IMAGES, _batch_inputs, _compare_labels),
    "classification": Signature(
        "classify", _classify_function, _IMAGES, _batch_inputs, _compare_probabilities
    ),
    "detection": Signature(
        "detect", _detect_function, (tf.TensorSpec([None, None, 3], tf.uint8, name="image"),),
        _image_inputs, _compare_detections, needs_fixed_input=True,
    ),
}


def signature_of(task):
    """The :class:`Signature` of an export task, or None (``raw`` only)."""
    return SIGNATURES.get(task)


def check_signature(signature, served, model, images):
    """Runs the exported ``served`` function and ``signature.function`` on the Keras ``model`` with
    the same inputs; returns the report section."""
    want_all, got_all = [], []
    for inputs in signature.check_inputs(images):
        got_all.append({k: v.numpy() for k, v in served(**inputs).items()})
        want_all.append({k: v.numpy() for k, v in signature.function(model, **inputs).items()})
    want = {k: np.concatenate([w[k] for w in want_all]) for k in want_all[0]}
    got = {k: np.concatenate([g[k] for g in got_all]) for k in got_all[0]}
    first = signature.check_inputs(images)[0]
    shape = next(iter(first.values())).shape
    return {"input_shape": list(shape), "calls": len(want_all), **signature.compare(want, got)}


__all__ = ["SIGNATURES", "Signature", "check_signature", "signature_of"]


# -- facial landmarks (issue 12) ---------------------------------------------------------------
# landmarks, ``landmarks``: ``image`` uint8 [H, W, 3] (any size), ``boxes`` float32 [N, 4] face
# boxes (x, y, w, h) -> ``landmarks`` [N, L, 2] in image pixels (the official decoding, in graph),
# ``scores`` [N, L] (heatmap maxima).
def _face_inputs(images):
    odd = _odd_sized(images)
    h, w = odd.shape[1:3]
    side = 0.4 * min(h, w)
    boxes = tf.constant([[0.1 * w, 0.1 * h, side, side], [0.45 * w, 0.4 * h, side, side]],
                        tf.float32)
    return [{"image": tf.constant(image), "boxes": boxes} for image in odd]


def _compare_landmarks(want, got):
    error = np.linalg.norm(want["landmarks"] - got["landmarks"], axis=-1)
    return {"landmark_error_px": {"mean": float(error.mean()), "max": float(error.max())}}


def _landmarks_function(model, image, boxes):
    # The landmark task's own inference (crop, model, official decoding), as evaluation and
    # predict run it.
    from hrnet_tf.landmarks.codec import serve_landmarks

    return serve_landmarks(model, image, boxes)


SIGNATURES["landmarks"] = Signature(
    "landmarks",
    _landmarks_function,
    (tf.TensorSpec([None, None, 3], tf.uint8, name="image"),
     tf.TensorSpec([None, 4], tf.float32, name="boxes")),
    _face_inputs,
    _compare_landmarks,
    needs_fixed_input=True,
)
