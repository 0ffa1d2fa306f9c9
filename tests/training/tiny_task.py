"""A deliberately small Task for the trainer's tests (and a runnable script for subprocess tests).

The model is two conv-BN-ReLU layers (BN synchronized when asked), a global pool and a linear
layer, so that a trace takes seconds: the tests are about the training engine (resume, strategies,
weight decay), not about HRNet. The data follow the Task contract: an in-memory set of noisy
colour images whose order and flips depend only on (seed, epoch).

    python tests/training/tiny_task.py --out DIR [--set ...] [--strategy ...]
        [--digest FILE]   also writes the final weights of this process (every worker) to FILE
"""

import os
import sys
from dataclasses import dataclass, field

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

import numpy as np  # noqa: E402

from hrnet_tf.training.config import Config, DataConfig, ModelConfig  # noqa: E402
from hrnet_tf.training.task import Task, epoch_seed, per_replica_batch_size  # noqa: E402

NUM_CLASSES = 3


@dataclass
class TinyModelConfig(ModelConfig):
    width: int | str = 8
    nan_after_steps: int = 0  # >0: the loss becomes NaN from this step on (divergence test)


@dataclass
class TinyDataConfig(DataConfig):
    image_size: int | list[int] = 8
    num_examples: int = 96
    batch_delay_ms: int = 0  # slows the stream down so a test can kill the run mid-way


@dataclass
class TinyConfig(Config):
    model: TinyModelConfig = field(default_factory=TinyModelConfig)
    data: TinyDataConfig = field(default_factory=TinyDataConfig)


def make_data(num_examples, size, seed=123):
    """Images whose mean colour channel is the class, plus noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, NUM_CLASSES, num_examples).astype(np.int32)
    images = rng.normal(0, 1, (num_examples, size, size, 3)).astype(np.float32)
    images[np.arange(num_examples), :, :, labels] += 1.5
    images[:, : size // 2, : size // 2, :] += 0.5  # an asymmetric pattern, so flips matter
    return images, labels


class TinyTask(Task):
    name = "tiny"
    config_class = TinyConfig

    def default_overrides(self):
        return ["train.batch_size=8", "train.epochs=2", "train.lr=0.1", "train.lr_steps=[1]"]

    def build_model(self, config):
        import keras

        width = int(config.model.width)
        size = int(config.data.image_size)
        sync = config.model.sync_bn
        inputs = keras.Input((size, size, 3))
        x = keras.layers.Conv2D(width, 3, padding="same", use_bias=False)(inputs)
        x = keras.layers.BatchNormalization(momentum=0.9, synchronized=sync)(x)
        x = keras.layers.ReLU()(x)
        x = keras.layers.Conv2D(2 * width, 3, strides=2, padding="same", use_bias=False)(x)
        x = keras.layers.BatchNormalization(momentum=0.9, synchronized=sync)(x)
        x = keras.layers.ReLU()(x)
        x = keras.layers.GlobalAveragePooling2D()(x)
        outputs = keras.layers.Dense(NUM_CLASSES)(x)
        return keras.Model(inputs, outputs, name="tiny_net")

    def steps_per_epoch(self, config):
        return config.data.num_examples // config.train.batch_size

    def train_dataset(self, config, input_context=None, epoch=0):
        import tensorflow as tf

        images, labels = make_data(config.data.num_examples, int(config.data.image_size))
        seed = epoch_seed(config, epoch)
        ds = tf.data.Dataset.from_tensor_slices((images, labels))
        ds = ds.shuffle(len(labels), seed=seed, reshuffle_each_iteration=False)
        if input_context is not None and input_context.num_input_pipelines > 1:
            ds = ds.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)

        def flip(index, example):
            image, label = example
            coin = tf.random.stateless_uniform([], tf.stack([tf.cast(seed, tf.int64), index]))
            image = tf.cond(coin < 0.5, lambda: tf.reverse(image, [1]), lambda: image)
            return image, label

        ds = ds.enumerate().map(flip)
        ds = ds.batch(per_replica_batch_size(config, input_context), drop_remainder=True)
        if config.data.batch_delay_ms:
            delay = config.data.batch_delay_ms / 1000

            def slow(images, labels):
                import time

                tf.py_function(lambda: time.sleep(delay) or 0, [], tf.int32)
                return images, labels

            ds = ds.map(slow)
        return ds

    def loss(self, targets, outputs, sample_weight=None):
        import tensorflow as tf

        per_example = tf.nn.sparse_softmax_cross_entropy_with_logits(targets, outputs)
        if self._nan_after:
            step = self._step_counter
            step.assign_add(1)
            per_example = tf.where(step > self._nan_after, np.nan, per_example)
        return per_example

    def train_metrics(self, targets, outputs, sample_weight=None):
        import tensorflow as tf

        hit = tf.equal(tf.argmax(outputs, -1, output_type=tf.int32), targets)
        return {"acc": tf.cast(hit, tf.float32)}

    def evaluate(self, model, config, out_dir):
        images, labels = make_data(config.data.num_examples, int(config.data.image_size), seed=7)
        logits = model.predict(images, batch_size=32, verbose=0)
        return {"acc": float(np.mean(np.argmax(logits, -1) == labels))}

    _nan_after = 0

    def apply_arguments(self, args, config):
        if config.model.nan_after_steps:
            import tensorflow as tf

            self._nan_after = config.model.nan_after_steps
            self._step_counter = tf.Variable(0, dtype=tf.int64, trainable=False)
        return config

    def add_arguments(self, parser):
        parser.add_argument("--digest", help="write this process's final weights (.npy)")


def main(argv=None):
    from hrnet_tf.training import cli

    task = TinyTask()
    parser = cli.build_parser(task)
    args = parser.parse_args(argv)
    if not args.digest:
        return cli.main(task, argv)
    # Like cli.main, but keep the trainer to write every worker's weights.
    from hrnet_tf.training.distribute import make_strategy
    from hrnet_tf.training.trainer import Trainer, weights_digest

    config, _ = cli.resolve_config(task, args)
    strategy = make_strategy(args.strategy, args.virtual_devices)
    trainer = Trainer(task, config, args.out, strategy)
    trainer.fit()
    np.save(args.digest, weights_digest(trainer.model))
    return 0


if __name__ == "__main__":
    sys.exit(main())
