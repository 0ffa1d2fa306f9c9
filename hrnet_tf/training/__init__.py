"""Training engine shared by every task: typed configs, the Task contract, and a tf.distribute
custom training loop with checkpoints and resume. The command line is :mod:`hrnet_tf.cli`.

    from hrnet_tf.training import Config, Task, TaskData, load_config
    from hrnet_tf.training.trainer import Trainer
"""

from hrnet_tf.errors import ConfigError, DataError
from hrnet_tf.training.config import (
    Config,
    DataConfig,
    EvalConfig,
    ModelConfig,
    TrainConfig,
    config_path,
    config_to_dict,
    image_size_hw,
    load_config,
    save_config,
)
from hrnet_tf.training.task import Task, TaskData, epoch_seed, per_replica_batch_size, shard_of

__all__ = [
    "Config",
    "ConfigError",
    "DataConfig",
    "DataError",
    "EvalConfig",
    "ModelConfig",
    "Task",
    "TaskData",
    "TrainConfig",
    "Trainer",
    "config_path",
    "config_to_dict",
    "epoch_seed",
    "image_size_hw",
    "load_config",
    "per_replica_batch_size",
    "save_config",
    "shard_of",
]


def __getattr__(name):
    # The trainer imports TensorFlow; keep `import hrnet_tf.training` light for config tooling.
    if name == "Trainer":
        from hrnet_tf.training.trainer import Trainer

        return Trainer
    raise AttributeError(name)
