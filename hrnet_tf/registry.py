"""The tasks hrnet_tf knows: command names, model tasks and where each task's code lives.

Imported lazily by name, so that asking for one task does not load the others.

    >>> sorted(TRAIN_TASKS)
    ['classify', 'detect', 'landmarks', 'pose', 'segment']
    >>> command_of("segmentation")
    'segment'
"""

import importlib

from hrnet_tf.errors import ConfigError

# train/<command>.py -> the Task class.
TRAIN_TASKS = {
    "classify": "hrnet_tf.classification.task:ClassificationTask",
    "pose": "hrnet_tf.pose.task:PoseTask",
    "segment": "hrnet_tf.segmentation.task:SegmentationTask",
    "detect": "hrnet_tf.detection.task:DetectionTask",
    "landmarks": "hrnet_tf.landmarks.task:LandmarkTask",
}
# ModelInfo.task -> the command that trains it.
MODEL_TASK_COMMANDS = {"classification": "classify", "pose": "pose", "segmentation": "segment",
                       "detection": "detect", "landmarks": "landmarks"}


def command_of(model_task):
    """The training command of a model task ("pose" -> "pose", "segmentation" -> "segment")."""
    try:
        return MODEL_TASK_COMMANDS[model_task]
    except KeyError:
        raise ConfigError(f"no task trains {model_task!r} models") from None


def get_task(command):
    """A new Task object for ``command`` ("classify", "pose", "segment")."""
    try:
        module_name, class_name = TRAIN_TASKS[command].split(":")
    except KeyError:
        raise ConfigError(
            f"unknown task {command!r}; choose one of {', '.join(sorted(TRAIN_TASKS))}"
        ) from None
    return getattr(importlib.import_module(module_name), class_name)()


__all__ = ["MODEL_TASK_COMMANDS", "TRAIN_TASKS", "command_of", "get_task"]
