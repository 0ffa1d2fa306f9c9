"""The facial-landmark network: HRNetV2 (bilinear fusion, the 15C concatenation, ``last_layer``)
whose ``info`` says it is a landmark model.

The official face model (HRNet-Facial-Landmark-Detection ``lib/models/hrnet.py``,
``HighResolutionNet``) is HRNetV2-W18: bilinear fusion (``F.interpolate(mode='bilinear')``,
align_corners False), BN momentum 0.01 (0.99 in Keras' convention), all four branches upsampled to
stride 4 and concatenated (270 channels), then ``head`` = 1x1 conv (with bias) -> BN -> ReLU -> 1x1
conv to the landmarks: :class:`hrnet_tf.models.heads.SegmentationHead` under the name
``last_layer`` (the official ``head.{0,1,3}`` keys are renamed on loading,
:mod:`hrnet_tf.convert.layouts`). Only ``info`` differs from a segmenter: task ``"landmarks"`` and
``labels`` naming the landmark set.

    >>> from hrnet_tf.models.hrnet import HRNetV2Landmarks
    >>> model = HRNetV2Landmarks("18-small-v1", num_landmarks=68, input_shape=(64, 64, 3))
    >>> model.info.task, model.info.labels["landmarks"], model.output.shape
    ('landmarks', '300w', (None, 16, 16, 68))

The constructor, :func:`hrnet_tf.models.hrnet.HRNetV2Landmarks`, lives beside the other
constructors (``CONSTRUCTORS``); this module holds what it records.
"""

# The official experiments' landmark counts (experiments/*/face_alignment_*_hrnet_w18.yaml
# MODEL.NUM_JOINTS); lib/core/evaluation.py compute_nme tells the datasets apart by this count.
OFFICIAL_LANDMARKS = {"wflw": 98, "300w": 68, "cofw": 29, "aflw": 19}


def dataset_of_count(num_landmarks):
    """The official dataset with ``num_landmarks`` points (98 -> "wflw"), or None."""
    return next((name for name, n in OFFICIAL_LANDMARKS.items() if n == num_landmarks), None)


def mark_landmark_model(model, landmarks=None):
    """Sets ``model.info`` to a landmark model's (task "landmarks", the landmark set in
    ``labels``), e.g. for an ``HRNetV2(num_classes=98, weights="HR18-WFLW.pth")``; returns it."""
    count = int(model.output.shape[-1])
    if landmarks is None:
        landmarks = dataset_of_count(count) or {"num_points": count}
    labels = {**model.info.labels, "landmarks": landmarks}
    if isinstance(landmarks, str):
        labels.setdefault("dataset", landmarks)
    model.info = model.info.replace(task="landmarks", labels=labels)
    return model


__all__ = ["OFFICIAL_LANDMARKS", "dataset_of_count", "mark_landmark_model"]
