"""Training engine shared by every task: typed configs, the Task protocol, a tf.distribute custom
training loop with checkpoints and resume, and the command-line contract of ``train/*.py``.

    from hrnet_tf.training import Config, Task, load_config
    from hrnet_tf.training.cli import main
"""

from hrnet_tf.training.config import (
    Config,
    ConfigError,
    DataConfig,
    DataError,
    EvalConfig,
    ModelConfig,
    TrainConfig,
    config_to_dict,
    image_size_hw,
    load_config,
    save_config,
)
from hrnet_tf.training.task import Task, epoch_seed, per_replica_batch_size

__all__ = [
    "Config",
    "ConfigError",
    "DataConfig",
    "DataError",
    "EvalConfig",
    "ModelConfig",
    "Task",
    "TrainConfig",
    "Trainer",
    "config_to_dict",
    "epoch_seed",
    "image_size_hw",
    "load_config",
    "per_replica_batch_size",
    "save_config",
]


def __getattr__(name):
    # The trainer imports TensorFlow; keep `import hrnet_tf.training` light for config tooling.
    if name == "Trainer":
        from hrnet_tf.training.trainer import Trainer

        return Trainer
    raise AttributeError(name)
