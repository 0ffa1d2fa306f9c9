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

from hrnet_tf.evaluation import Evaluator  # noqa: E402
from hrnet_tf.training.config import Config, DataConfig, ModelConfig, TrainConfig  # noqa: E402
from hrnet_tf.training.task import (  # noqa: E402
    Task,
    TaskData,
    epoch_seed,
    per_replica_batch_size,
    shard_of,
)

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
class TinyTrainConfig(TrainConfig):
    batch_size: int = 8
    epochs: int = 2
    lr: float = 0.1
    lr_steps: list[float] = field(default_factory=lambda: [1.0])


@dataclass
class TinyConfig(Config):
    model: TinyModelConfig = field(default_factory=TinyModelConfig)
    train: TinyTrainConfig = field(default_factory=TinyTrainConfig)
    data: TinyDataConfig = field(default_factory=TinyDataConfig)


def make_data(num_examples, size, seed=123):
    """Images whose mean colour channel is the class, plus noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, NUM_CLASSES, num_examples).astype(np.int32)
    images = rng.normal(0, 1, (num_examples, size, size, 3)).astype(np.float32)
    images[np.arange(num_examples), :, :, labels] += 1.5
    images[:, : size // 2, : size // 2, :] += 0.5  # an asymmetric pattern, so flips matter
    return images, labels


class TinyCriterion:
    """Cross-entropy; with ``nan_after`` the loss turns NaN after that many steps (its own counter)."""

    def __init__(self, nan_after=0):
        import tensorflow as tf

        self.nan_after = nan_after
        self.steps = tf.Variable(0, dtype=tf.int64, trainable=False) if nan_after else None

    def __call__(self, targets, outputs, sample_weight=None):
        import tensorflow as tf

        per_example = tf.nn.sparse_softmax_cross_entropy_with_logits(targets, outputs)
        if self.nan_after:
            self.steps.assign_add(1)
            per_example = tf.where(self.steps > self.nan_after, np.nan, per_example)
        return per_example

    def metrics(self, targets, outputs, sample_weight=None):
        import tensorflow as tf

        hit = tf.equal(tf.argmax(outputs, -1, output_type=tf.int32), targets)
        return {"acc": tf.cast(hit, tf.float32)}


class TinyEvaluator(Evaluator):
    """Accuracy on a second draw of the same distribution."""

    def __init__(self, config):
        self.images, self.labels = make_data(
            config.data.num_examples, int(config.data.image_size), seed=7
        )
        self.num_samples = len(self.labels)
        self.hits = 0

    def dataset(self):
        import tensorflow as tf

        index = np.arange(self.num_samples)
        return tf.data.Dataset.from_tensor_slices(
            {"index": index, "image": self.images, "label": self.labels}
        ).batch(32)

    def predict(self, forward, batch):
        return forward(batch["image"]).numpy()

    def update(self, batch, outputs):
        self.hits += int(np.sum(np.argmax(outputs, -1) == batch["label"]))

    def result(self, out_dir=None):
        return {"acc": self.hits / self.num_samples}


class TinyTask(Task):
    name = "tiny"
    config_class = TinyConfig

    def config_file(self, dataset):
        return None  # the dataclass defaults

    def load_data(self, config):
        return TaskData(num_train=config.data.num_examples)

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

    def build_criterion(self, config):
        return TinyCriterion(config.model.nan_after_steps)

    def build_evaluator(self, config, data):
        return TinyEvaluator(config)

    def train_dataset(self, config, data, input_context=None, epoch=0):
        import tensorflow as tf

        images, labels = make_data(config.data.num_examples, int(config.data.image_size))
        seed = epoch_seed(config, epoch)
        ds = tf.data.Dataset.from_tensor_slices((images, labels))
        ds = ds.shuffle(len(labels), seed=seed, reshuffle_each_iteration=False)
        pipelines, pipeline = shard_of(input_context)
        if pipelines > 1:
            ds = ds.shard(pipelines, pipeline)

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


def main(argv=None):
    """The training command for TinyTask, plus ``--digest FILE`` (this process's final weights)."""
    from hrnet_tf import cli

    task = TinyTask()
    parser = cli.build_train_parser(task)
    parser.add_argument("--digest", help="write this process's final weights (.npy)")

    def run(argv):
        from hrnet_tf.training.distribute import make_strategy
        from hrnet_tf.training.trainer import Trainer, weights_digest

        args = parser.parse_args(argv)
        config, _ = cli.resolve_config(task, args)
        strategy = make_strategy(args.strategy, args.virtual_devices)
        trainer = Trainer(task, config, args.out or os.path.join("runs", "tiny"), strategy)
        trainer.fit()
        if args.digest:
            np.save(args.digest, weights_digest(trainer.model))

    return cli.run(run, argv)


if __name__ == "__main__":
    sys.exit(main())
