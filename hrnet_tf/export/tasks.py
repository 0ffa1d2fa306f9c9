"""What an exported model does (its task) and the in-graph input preprocessing shared by exports."""

import keras
import numpy as np
import tensorflow as tf

from hrnet_tf.data.images import normalize
from hrnet_tf.errors import ConfigError
from hrnet_tf.models.model import rewrap

TASKS = ("pose", "segmentation", "classification", "raw")


# Model task (``model.info.task``) -> what its export does with the output.
_EXPORT_TASKS = {"pose": "pose", "segmentation": "segmentation", "classification": "classification"}
_EXPORT_TASKS["landmarks"] = "landmarks"  # the landmarks signature (issue 12)
TASKS = (*TASKS, "landmarks")
TASKS = (*TASKS, "detection")  # FCOS / RetinaNet (detect_task); the export CLI passes it on


def detect_task(model):
    """The export task of a model: from ``model.info`` (every hrnet_tf constructor records it), "raw"
    for models without a task signature (HRNetV2p pyramids, feature models, plain Keras models).

    Example:
        >>> import hrnet_tf
        >>> detect_task(hrnet_tf.HRNetV1("tiny", input_shape=(64, 64, 3), name="my_pose_net"))
        'pose'
    """
    info = getattr(model, "info", None)
    if info is not None and info.task == "detection" and info.architecture in (
            "HRNetFCOS", "HRNetRetinaNet"):
        return "detection"  # FCOS and RetinaNet detectors (the HRNetV2p pyramid alone stays raw)
    return _EXPORT_TASKS.get(info.task, "raw") if info is not None else "raw"


def check_task(task, model):
    """The export task of ``model`` for ``--task`` (None or "auto": detect), or a ConfigError.

    An hrnet_tf model knows its task (``model.info``): ``task`` may only repeat it or ask for
    "raw" (the raw signature alone). ``--task`` exists for plain Keras models, whose output must
    then fit the task's signature.

    Example:
        >>> import hrnet_tf
        >>> check_task("auto", hrnet_tf.HRNetV2("tiny", num_classes=3, name="streets"))
        'segmentation'
    """
    if task not in (None, "auto", *TASKS):
        raise ConfigError(f"--task must be one of {('auto', *TASKS)}, got {task!r}")
    if getattr(model, "info", None) is not None:
        detected = detect_task(model)
        if task in (None, "auto", "raw", detected):
            return task if task == "raw" else detected
        raise ConfigError(
            f"--task {task}: model {model.name!r} is an hrnet_tf {model.info.task} model (export task "
            f"{detected!r}); --task is for plain Keras models, or 'raw' for the raw signature only"
        )
    if task in (None, "auto"):
        return "raw"
    if task == "detection":
        raise ConfigError(f"--task detection: model {model.name!r} is a plain Keras model; the "
                          "detect signature needs an hrnet_tf detector (train/detect.py)")
    rank = len(model.outputs[0].shape) if len(model.outputs) == 1 else None
    wanted = {"pose": 4, "segmentation": 4, "classification": 2}.get(task)
    if wanted is not None and rank != wanted:
        raise ConfigError(
            f"--task {task} needs a single rank-{wanted} output, but model {model.name!r} outputs "
            f"{[tuple(o.shape) for o in model.outputs]}"
        )
    return task


def normalize_uint8(images, model=None):
    """uint8 (or 0-255 float) RGB -> the network input of ``model`` (ImageNet normalization when
    no model is given), in TF ops, any leading shape.

    Example:
        >>> x = normalize_uint8(tf.fill([1, 1, 3], tf.constant(255, tf.uint8)))
        >>> [round(float(v), 3) for v in x[0, 0]]
        [2.249, 2.429, 2.64]
    """
    info = getattr(model, "info", None)
    return normalize(images) if info is None else normalize(images, info.normalization)


def model_input_size(model):
    """(height, width) of the model's input, with None for dynamic dimensions."""
    shape = model.inputs[0].shape
    return shape[1], shape[2]


def resolve_input_size(model, input_size=None):
    """A static (height, width): ``input_size`` when given, else the model's; error if neither."""
    height, width = model_input_size(model)
    if input_size is not None:
        in_h, in_w = (int(v) for v in input_size)
        if (height is not None and height != in_h) or (width is not None and width != in_w):
            raise ConfigError(
                f"--input-size {in_h}x{in_w} does not match the model input {height}x{width}"
            )
        return in_h, in_w
    if height is None or width is None:
        raise ConfigError(
            f"model {model.name!r} accepts any image size; pass --input-size HxW to fix one "
            "for this export"
        )
    return int(height), int(width)


def with_static_input(model, input_size):
    """``model`` applied to a fixed (height, width) input (a new functional wrapper, same weights).

    TFLite/XNNPACK and ONNX Runtime plan memory once for a static shape, and the int8 converter
    needs one.
    """
    height, width = model_input_size(model)
    if (height, width) == tuple(input_size):
        return model
    inputs = keras.Input(shape=(*input_size, 3), batch_size=None, name="image")
    return rewrap(keras.Model(inputs, model(inputs), name=model.name), model)


def sample_images(count, size, seed=0):
    """Smooth synthetic uint8 RGB images [count, h, w, 3] for export checks without real data.

    Low-frequency colour blobs rather than white noise: activations resemble natural images a bit.
    """
    rng = np.random.default_rng(seed)
    height, width = size
    coarse = rng.uniform(0, 255, (count, max(2, height // 16), max(2, width // 16), 3))
    smooth = tf.image.resize(coarse.astype(np.float32), (height, width), method="bicubic")
    noise = rng.normal(0, 8, (count, height, width, 3))
    return np.clip(np.asarray(smooth) + noise, 0, 255).astype(np.uint8)


def calibrate_batch_norm(model, images, steps=3, batch_size=4):
    """Re-estimates BatchNorm statistics by training-mode passes over normalized float ``images``.

    For randomly initialized models only (tests, benchmarks): their inference-mode activations grow
    without bound through dozens of BNs with identity statistics, which makes every accuracy
    comparison meaningless. Momentum is temporarily set to 0 so the last pass's statistics stick.
    Trainable weights are untouched.
    """
    batch_norms = [
        layer
        for layer in model._flatten_layers(include_self=False, recursive=True)
        if isinstance(layer, keras.layers.BatchNormalization)
    ]
    momenta = [bn.momentum for bn in batch_norms]
    try:
        for bn in batch_norms:
            bn.momentum = 0.0
        images = np.asarray(images, np.float32)
        for step in range(steps):
            start = (step * batch_size) % len(images)
            batch = images[start : start + batch_size]
            model(batch, training=True)
    finally:
        for bn, momentum in zip(batch_norms, momenta, strict=True):
            bn.momentum = momentum
