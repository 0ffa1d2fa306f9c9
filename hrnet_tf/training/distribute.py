"""tf.distribute strategies by name, and the chief/worker facts the trainer needs."""

import os

import tensorflow as tf

from hrnet_tf.errors import ConfigError

STRATEGIES = ("default", "mirrored", "multiworker", "tpu")


def split_cpu(num_devices):
    """Splits the CPU into ``num_devices`` logical devices (MirroredStrategy without GPUs).

    Must run before TensorFlow initializes its devices (before any op runs).
    """
    cpus = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(
        cpus[0], [tf.config.LogicalDeviceConfiguration() for _ in range(num_devices)]
    )


def make_strategy(name="default", virtual_devices=0):
    """A strategy from its command-line name.

    * ``default``: one device (the first GPU if any).
    * ``mirrored``: every local GPU, or the logical CPUs of ``virtual_devices``; synchronized BN
      and gradients across them.
    * ``multiworker``: ``MultiWorkerMirroredStrategy`` over the cluster in ``TF_CONFIG``.
    * ``tpu``: ``TPUStrategy`` on the TPU named by ``TPU_NAME`` (or the local one).

    >>> make_strategy("default").num_replicas_in_sync
    1
    """
    if name not in STRATEGIES:
        raise ConfigError(f"--strategy {name!r}: choose one of {', '.join(STRATEGIES)}")
    if virtual_devices and virtual_devices > 1:
        split_cpu(virtual_devices)
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        if gpus:
            return tf.distribute.MirroredStrategy([d.name for d in gpus])
        cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
        # NCCL needs GPUs; on CPUs reduce through the first device.
        return tf.distribute.MirroredStrategy(
            cpus, cross_device_ops=tf.distribute.ReductionToOneDevice(reduce_to_device=cpus[0])
        )
    if name == "multiworker":
        if "TF_CONFIG" not in os.environ:
            raise ConfigError("--strategy multiworker needs the cluster in the TF_CONFIG variable")
        return tf.distribute.MultiWorkerMirroredStrategy()
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=os.environ.get("TPU_NAME", ""))
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


def worker_info(strategy):
    """(is_chief, worker_index) of this process: the chief writes files, every worker trains."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or isinstance(strategy, tf.distribute.TPUStrategy):
        return True, 0
    task_type, task_id = resolver.task_type, resolver.task_id or 0
    if task_type is None:
        return True, 0
    cluster = resolver.cluster_spec().as_dict()
    if task_type == "chief":
        return True, 0
    is_chief = task_type == "worker" and task_id == 0 and "chief" not in cluster
    index = task_id + (1 if "chief" in cluster else 0)
    return is_chief, index


__all__ = ["STRATEGIES", "make_strategy", "split_cpu", "worker_info"]
