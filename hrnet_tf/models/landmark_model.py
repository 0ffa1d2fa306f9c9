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

    >>> model = landmark_model("tiny", num_landmarks=68, input_shape=(64, 64, 3))
    >>> model.info.task, model.info.labels["landmarks"], model.output.shape
    ('landmarks', '300w', (None, 16, 16, 68))
"""

from hrnet_tf.errors import ConfigError

# The official experiments' landmark counts (experiments/*/face_alignment_*_hrnet_w18.yaml
# MODEL.NUM_JOINTS); lib/core/evaluation.py compute_nme tells the datasets apart by this count.
OFFICIAL_LANDMARKS = {"wflw": 98, "300w": 68, "cofw": 29, "aflw": 19}


def dataset_of_count(num_landmarks):
    """The official dataset with ``num_landmarks`` points (98 -> "wflw"), or None."""
    return next((name for name, n in OFFICIAL_LANDMARKS.items() if n == num_landmarks), None)


def landmark_model(width=18, num_landmarks=98, input_shape=(256, 256, 3), *, weights=None,
                   landmarks=None, name=None, bn_momentum=0.99, sync_bn=False,
                   final_conv_kernel=1, upsample_method="bilinear"):
    """HRNetV2 with ``num_landmarks`` heatmaps and ``info.task == "landmarks"``.

    Args:
      width: 18 for the official models (or any HRNet width / stage specification).
      num_landmarks: heatmap channels (98 WFLW, 68 300W, 29 COFW, 19 AFLW).
      input_shape: (height, width, 3); the official crop is 256x256 (heatmaps 64x64).
      weights: None, a ``.weights.h5``, an official ``HR18-*.pth`` (head renamed on the fly) or a
        preset name.
      landmarks: what ``info.labels["landmarks"]`` records (a set name or its config dict);
        default: the official dataset of ``num_landmarks``, else ``{"num_points": N}``.
    """
    from hrnet_tf.models.hrnet import HRNetV2, load_weights

    if not isinstance(num_landmarks, int) or num_landmarks <= 0:
        raise ConfigError(f"num_landmarks must be a positive int, got {num_landmarks!r}")
    model = HRNetV2(width, num_classes=num_landmarks, input_shape=tuple(input_shape),
                    name=name or f"hrnet_v2_landmarks_{num_landmarks}",
                    upsample_method=upsample_method, final_conv_kernel=final_conv_kernel,
                    bn_momentum=bn_momentum, sync_bn=sync_bn)
    mark_landmark_model(model, landmarks)
    if weights is not None:
        load_weights(model, weights)
    return model


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


__all__ = ["OFFICIAL_LANDMARKS", "dataset_of_count", "landmark_model", "mark_landmark_model"]
