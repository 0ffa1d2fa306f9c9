"""The ``Task`` contract: what the trainer and the commands need from classification, pose, ...

A task is a stateless recipe. Given a config it validates it, lists its data, builds the model, the
criterion, the training datasets and the evaluator; the trainer holds what it returns. Nothing one
method builds is stashed for another: what a step needs is passed to it.

    class MyTask(Task):
        name = "mytask"                       # train/mytask.py, runs/mytask/...
        config_class = MyConfig
        config_dir = "mytask"                 # hrnet_tf/configs/mytask/*.yaml
        dataset_configs = {"synthetic": "synthetic_tiny.yaml", "mydata": "official.yaml"}
        default_dataset = "mydata"            # what --data-dir DIR alone trains

        def validate(self, config): ...       # the whole config, before anything is built
        def load_data(self, config): ...      # -> TaskData(train=..., val=...), DataError if unusable
        def build_model(self, config): ...    # -> hrnet_tf.HRNetModel
        def build_criterion(self, config): ...  # -> callable(targets, outputs, sample_weight) -> [B]
        def train_dataset(self, config, data, input_context=None, epoch=0): ...
        def build_evaluator(self, config, data): ...  # -> hrnet_tf.evaluation.Evaluator

    sys.exit(hrnet_tf.cli.train("mytask"))    # once the task is in hrnet_tf.registry
"""

import os
from dataclasses import dataclass, field

from hrnet_tf.errors import ConfigError


@dataclass
class TaskData:
    """The examples a run uses, as listed (and checked) once before training.

    ``train`` and ``val`` are the task's own records (file lists, annotation tables); ``notes`` are
    one-line reports of what was skipped while listing, shown at the end of the run.
    """

    train: object = None
    val: object = None
    notes: list = field(default_factory=list)
    num_train: int = 0


def per_replica_batch_size(config, input_context):
    """The batch each replica sees: ``train.batch_size`` (global) split over the replicas.

    >>> from hrnet_tf.training.config import Config
    >>> per_replica_batch_size(Config(), None) == Config().train.batch_size
    True
    """
    global_batch = config.train.batch_size
    if input_context is None:
        return global_batch
    replicas = input_context.num_replicas_in_sync
    if global_batch % replicas:
        raise ConfigError(
            f"train.batch_size={global_batch} is not divisible by the {replicas} replicas"
        )
    return input_context.get_per_replica_batch_size(global_batch)


def epoch_seed(config, epoch):
    """The seed of epoch ``epoch``'s shuffle and augmentation: the same (seed, epoch) always gives
    the same stream, so a resumed run can skip to its position and see identical batches."""
    return int(config.seed) * 1_000_003 + int(epoch)


def shard_of(input_context):
    """(number of input pipelines, this pipeline's index) of a tf.distribute input context."""
    if input_context is None or input_context.num_input_pipelines <= 1:
        return 1, 0
    return input_context.num_input_pipelines, input_context.input_pipeline_id


class Task:
    """Base class of every task; see the module docstring.

    Contract the trainer relies on:

    * ``train_dataset`` returns ONE epoch (or more; the trainer takes ``steps_per_epoch`` batches)
      of per-replica batches, batched with ``drop_remainder=True``. Its order and augmentation
      depend only on ``(config.seed, epoch)`` (``epoch_seed``) and each sample's position, through
      stateless random ops; on resume the trainer rebuilds the epoch's dataset and skips the batches
      already seen. With several input pipelines, shard by ``shard_of(input_context)`` and use
      ``per_replica_batch_size(config, input_context)``.
    * The criterion returns the per-example loss ``[batch]`` in float32; the trainer divides the
      sum by the GLOBAL batch size. Its optional ``metrics(targets, outputs, sample_weight)``
      returns per-example values averaged the same way and shown beside the loss.
    * The evaluator runs on the chief after training (and every ``eval.every_epochs``); its result,
      a JSON-able dict, is written to ``OUT/metrics.json``.
    """

    name = "task"
    config_class = None
    config_dir = ""
    dataset_configs = {}
    default_dataset = "synthetic"

    # -- configuration ---------------------------------------------------------------------------
    def config_file(self, dataset):
        """The packaged experiment of ``dataset`` (``hrnet_tf/configs/<config_dir>/<file>``)."""
        from hrnet_tf.training.config import CONFIG_ROOT

        if dataset not in self.dataset_configs:
            raise ConfigError(
                f"--dataset {dataset!r}: choose one of {', '.join(sorted(self.dataset_configs))}"
            )
        return os.path.join(CONFIG_ROOT, self.config_dir, self.dataset_configs[dataset])

    def validate(self, config):
        """Checks the whole config before anything is built; raises ``ConfigError`` naming the key."""

    # -- required ------------------------------------------------------------------------------
    def load_data(self, config):
        """Lists and checks the data: a :class:`TaskData` (``DataError`` when it is unusable)."""
        raise NotImplementedError

    def build_model(self, config):
        """An ``hrnet_tf.HRNetModel`` (built inside the strategy scope and the dtype policy)."""
        raise NotImplementedError

    def build_criterion(self, config):
        """The training loss: ``criterion(targets, outputs, sample_weight) -> [batch]`` float32."""
        raise NotImplementedError

    def train_dataset(self, config, data, input_context=None, epoch=0):
        """A ``tf.data.Dataset`` of per-replica batches for epoch ``epoch``."""
        raise NotImplementedError

    def build_evaluator(self, config, data):
        """The evaluation of ``data.val``: an :class:`hrnet_tf.evaluation.Evaluator`."""
        raise NotImplementedError

    # -- with defaults -------------------------------------------------------------------------
    def steps_per_epoch(self, config, data):
        """Optimizer steps in one epoch (``config.train.steps_per_epoch`` overrides it)."""
        return data.num_train // config.train.batch_size


__all__ = ["Task", "TaskData", "epoch_seed", "per_replica_batch_size", "shard_of"]
