"""``HRNetModel``: a functional Keras model that knows what it is.

Every constructor (``HRNetV1``, ``HRNetV2``, ``HRNetV2p``, ``HRNetClassifier``) returns an
``HRNetModel`` whose ``info`` says its task, architecture, stage specification, fusion upsampling,
input normalization and output stride. ``info`` is part of the serialized config, so a ``.keras``
file keeps it and :func:`load_model` gives it back; export, predict and evaluate read the task from
there, never from layer names.

    >>> import hrnet_tf
    >>> model = hrnet_tf.HRNetV1("tiny", input_shape=(64, 64, 3))
    >>> model.info.task, model.info.architecture, model.info.output_stride
    ('pose', 'HRNetV1', 4)
"""

import dataclasses
import os
from dataclasses import dataclass, field

import keras

from hrnet_tf.data.normalization import IMAGENET, Normalization
from hrnet_tf.errors import ModelFileError
from hrnet_tf.models.specs import HRNetSpec, resolve_spec, spec_name, spec_to_config

TASKS = ("classification", "pose", "segmentation", "detection", "landmarks", "features")


@dataclass
class ModelInfo:
    """What an hrnet_tf model is, beyond its layers.

    ``labels`` holds what the task needs to read the output: ``{"keypoints": "coco"}`` for pose,
    ``{"dataset": "cityscapes", "class_names": [...]}`` for segmentation and classification; the
    training tasks fill it in.
    """

    task: str
    architecture: str
    spec: HRNetSpec
    width: str = "custom"
    upsample_method: str = "nearest"
    normalization: Normalization = IMAGENET
    output_stride: int | None = 4
    labels: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.task not in TASKS:
            raise ValueError(f"model task must be one of {TASKS}, got {self.task!r}")

    def to_config(self):
        return {
            "task": self.task,
            "architecture": self.architecture,
            "spec": None if self.spec is None else spec_to_config(self.spec),  # None: not HRNet
            "width": self.width,
            "upsample_method": self.upsample_method,
            "normalization": self.normalization.to_config(),
            "output_stride": self.output_stride,
            "labels": dict(self.labels),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["spec"] = None if config["spec"] is None else resolve_spec(config["spec"])
        config["normalization"] = Normalization.from_config(config["normalization"])
        return cls(**config)

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)


def model_info(task, architecture, width, upsample_method, output_stride, labels=None):
    """The ``ModelInfo`` of a constructor call (``width`` as given: a preset or a spec)."""
    return ModelInfo(
        task=task,
        architecture=architecture,
        spec=resolve_spec(width),
        width=spec_name(width).removeprefix("w"),
        upsample_method=upsample_method,
        output_stride=output_stride,
        labels=dict(labels or {}),
    )


@keras.saving.register_keras_serializable(package="hrnet_tf")
class HRNetModel(keras.Model):
    """A functional model with ``info`` (a :class:`ModelInfo`).

    Built like any functional model, ``HRNetModel(inputs, outputs, info=..., name=...)``; the
    public constructors do that. ``get_config`` is the functional config plus ``info``.
    """

    def __init__(self, *args, info=None, **kwargs):
        super().__init__(*args, **kwargs)
        if isinstance(info, dict):
            info = ModelInfo.from_config(info)
        self.info = info

    @property
    def task(self):
        return self.info.task

    @property
    def spec(self):
        return self.info.spec

    def get_config(self):
        return {**super().get_config(), "info": self.info.to_config()}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        info = config.pop("info", None)
        # (*args, **kwargs) makes Keras revive the functional graph into this class.
        model = super().from_config(config, custom_objects=custom_objects)
        model.info = ModelInfo.from_config(info) if info is not None else None
        return model

    def feature_model(self):
        """The trunk alone: a model from the same input to the stage-4 outputs (a list)."""
        last_stage = self.get_layer("stage4")
        inputs = self.inputs[0] if len(self.inputs) == 1 else self.inputs  # called with a tensor
        return keras.Model(inputs, last_stage.output, name=f"{self.name}_features")


def rewrap(model, like):
    """``model`` (a functional model, e.g. BN-folded or given a fixed input) as an HRNetModel with the
    ``info`` of ``like``."""
    info = getattr(like, "info", None)
    if info is None:
        return model
    # input/output, not inputs/outputs: a dict of pyramid levels stays a dict
    return HRNetModel(model.input, model.output, info=info, name=model.name)


def load_model(path):
    """Loads any hrnet_tf model saved with ``model.save("NAME.keras")`` (training writes
    ``OUT/model.keras``); ``info`` comes back with it.

    A file that holds no hrnet_tf model (another Keras model, or one saved before models knew
    their task) raises :class:`~hrnet_tf.errors.ModelFileError` naming the file.
    """
    model = load_keras_file(path)
    if not isinstance(model, HRNetModel) or model.info is None:
        raise ModelFileError(
            f"{path}: not an hrnet_tf model (no task information; re-save it with this version, or "
            "build it with an hrnet_tf constructor and load the weights with weights=)"
        )
    return model


def load_keras_file(path):
    """Any Keras model saved as ``NAME.keras`` (hrnet_tf models come back as :class:`HRNetModel`);
    :class:`~hrnet_tf.errors.ModelFileError` naming the file when it is missing or unreadable."""
    path = os.fspath(path)
    if not path.endswith(".keras"):
        raise ModelFileError(f"{path}: load_model reads .keras files (model.save('NAME.keras'))")
    if not os.path.isfile(path):
        raise ModelFileError(f"model file not found: {path}")
    _register_keras_hub_layers(path)
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as e:  # noqa: BLE001 - one line naming the file for any unreadable model
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelFileError(f"{path}: cannot load the Keras model ({first})") from None


def require_keras_hub(what="RetinaNet"):
    """keras-hub (the ``detection`` extra), or one line saying how to install it."""
    try:
        import keras_hub  # noqa: F401
    except ImportError:
        from hrnet_tf.errors import ConfigError

        raise ConfigError(f"{what} needs keras-hub: pip install 'hrnet_tf[detection]'") from None


def _register_keras_hub_layers(path):
    """A model built from keras-hub layers (RetinaNet) needs them registered before loading."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            config = archive.read("config.json")
    except (OSError, KeyError, zipfile.BadZipFile):
        return  # keras says what is wrong with the file
    if b"keras_hub" in config or b"hrnet_tf>RetinaHead" in config:
        require_keras_hub(f"{path} (a RetinaNet)")
        from hrnet_tf.models import retinanet_layers  # noqa: F401 (registers the classes)


__all__ = [
    "TASKS",
    "HRNetModel",
    "ModelInfo",
    "load_keras_file",
    "load_model",
    "model_info",
    "require_keras_hub",
    "rewrap",
]
