"""The ``Task`` protocol: what the trainer needs from classification, pose, segmentation, ...

A task is a small object (no state beyond what its methods build) that the trainer and the command
line call. Subclass ``Task`` and implement the methods marked "required"::

    class MyTask(Task):
        name = "mytask"
        config_class = MyConfig

        def build_model(self, config):
            return hrnet_tf.HRNetClassifier(config.model.width, num_classes=10, ...)

        def train_dataset(self, config, input_context=None, epoch=0):
            ...  # per-replica batches of (inputs, targets) or (inputs, targets, sample_weight)

        def loss(self, targets, outputs, sample_weight=None):
            ...  # per-example loss, shape [batch]

        def steps_per_epoch(self, config):
            return num_train_examples // config.train.batch_size

        def evaluate(self, model, config, out_dir):
            return {"top1": ...}

    sys.exit(hrnet_tf.training.cli.main(MyTask()))
"""

from hrnet_tf.training.config import Config, ConfigError


def per_replica_batch_size(config, input_context):
    """The batch each replica sees: ``train.batch_size`` (global) split over the replicas.

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
    """A seed for epoch ``epoch``'s shuffle and augmentation: the same (seed, epoch) always gives
    the same stream, so a resumed run can skip to its position and see identical batches."""
    return int(config.seed) * 1_000_003 + int(epoch)


class Task:
    """Base class of every task; see the module docstring for a complete example.

    Contract the trainer relies on:

    * ``train_dataset`` returns ONE epoch (or more; the trainer takes ``steps_per_epoch`` batches)
      of per-replica batches, batched with ``drop_remainder=True``. Its order and augmentation must
      depend only on ``(config.seed, epoch)`` (see ``epoch_seed``): on resume the trainer rebuilds
      the epoch's dataset and skips the batches already seen. With ``input_context`` (several
      workers), shard by ``input_context.input_pipeline_id`` and use
      ``per_replica_batch_size(config, input_context)``.
    * ``loss`` returns the per-example loss ``[batch]`` in float32; the trainer divides the sum by
      the GLOBAL batch size and adds ``model.losses``. ``sample_weight`` is None or ``[batch]``.
    * ``train_metrics`` returns per-example values ``[batch]`` (e.g. 1.0 for a correct top-1) that
      the trainer averages over the global batch and shows beside the loss.
    * ``evaluate`` runs on the chief after training and returns a flat dict of floats; the trainer
      writes it to ``OUT/metrics.json``.
    """

    name = "task"
    config_class = Config

    # -- command line -------------------------------------------------------------------------
    def default_config(self):
        """Config file used when ``--config`` is omitted (None: the dataclass defaults)."""
        return None

    def default_overrides(self):
        """``key=value`` overrides applied before the user's ``--set`` when ``--config`` is
        omitted (e.g. a tiny synthetic demo)."""
        return []

    def add_arguments(self, parser):
        """Adds task-specific command-line options to the argparse ``parser``."""

    def apply_arguments(self, args, config):
        """Applies the options from ``add_arguments`` to ``config``; returns the config."""
        return config

    # -- required -------------------------------------------------------------------------------
    def build_model(self, config):
        """A ``keras.Model`` (built inside the strategy scope and the dtype policy)."""
        raise NotImplementedError

    def train_dataset(self, config, input_context=None, epoch=0):
        """A ``tf.data.Dataset`` of per-replica batches for epoch ``epoch``."""
        raise NotImplementedError

    def loss(self, targets, outputs, sample_weight=None):
        """Per-example loss, float32 ``[batch]``."""
        raise NotImplementedError

    def steps_per_epoch(self, config):
        """Optimizer steps in one epoch (``config.train.steps_per_epoch`` overrides it)."""
        raise NotImplementedError

    # -- optional -------------------------------------------------------------------------------
    def train_metrics(self, targets, outputs, sample_weight=None):
        """Dict of name -> per-example float32 values ``[batch]`` averaged like the loss."""
        return {}

    def evaluate(self, model, config, out_dir):
        """Final evaluation: a JSON-able dict written to ``OUT/metrics.json`` as is. Top-level
        numbers are the headline (logged); nested sections (e.g. ``per_class``) go to TensorBoard."""
        return {}

    def on_run_end(self):
        """Lines for the end-of-run report (e.g. counts of skipped bad files)."""
        return []


__all__ = ["Task", "epoch_seed", "per_replica_batch_size"]
