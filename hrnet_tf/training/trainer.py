"""The custom training loop shared by every task.

One loop for the default strategy, MirroredStrategy, MultiWorkerMirroredStrategy and TPUStrategy:
``strategy.run`` computes each replica's gradients (XLA-compiled with ``train.jit_compile``), the
step all-reduces them once, clips their global norm, adds the recipe's weight decay, scales the
param groups' learning rates and lets the Keras optimizer apply them (float16 loss scaling through
``LossScaleOptimizer``).

Output folder (``out_dir``)::

    config.yaml        the resolved configuration
    checkpoints/       ckpt-<step>.*: model, optimizer, epoch, step in epoch, best score (last N kept)
    logs/              TensorBoard: loss, lr, grad norm, train metrics, images/s, eval metrics
    model.keras        the final model
    metrics.json       the final evaluation (the task's evaluator)
    model_best.keras   with eval.every_epochs: the best-scoring model of the run (official
    model_best.json    model_best.pth), ranked by the evaluator's metric or eval.best_metric

Re-running with the same ``out_dir`` resumes from the newest checkpoint: each epoch's data stream
depends only on (seed, epoch), so skipping the batches already seen continues the same stream. The
best score so far is part of the checkpoint, so a resumed run replaces ``model_best.keras`` only
with a better model than every one before the interruption.

    trainer = Trainer(ClassificationTask(), config, "runs/w18", strategy)
    metrics = trainer.fit()
"""

import json
import math
import os
import shutil
import sys
import time

import keras
import numpy as np
import tensorflow as tf
from tqdm import tqdm

from hrnet_tf.data.checks import sample_problem
from hrnet_tf.errors import DataError, TrainingDiverged
from hrnet_tf.evaluation import evaluate
from hrnet_tf.training.checkpoints import CheckpointKeeper
from hrnet_tf.training.config import config_to_dict, load_config, save_config
from hrnet_tf.training.distribute import worker_info
from hrnet_tf.training.optimizers import (
    build_optimizer,
    coupled_weight_decay,
    learning_rate_multipliers,
    loss_scale,
    weight_decay_factors,
)
from hrnet_tf.training.schedules import schedule_from_config


def _scalar_metadata():
    from tensorflow.core.framework import summary_pb2

    plugin = summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars")
    return summary_pb2.SummaryMetadata(plugin_data=plugin).SerializeToString()


_SCALAR_METADATA = _scalar_metadata()


def scalar_summary(tag, value, step):
    """A TensorBoard scalar without the ``tensorboard`` package (``tf.summary.scalar`` needs it)."""
    value = tf.constant(float(value), tf.float32)
    tf.summary.write(tag, value, step=step, metadata=_SCALAR_METADATA)


_POLICIES = {"none": "float32", "float16": "mixed_float16", "bfloat16": "mixed_bfloat16"}


def _unpack(batch):
    if isinstance(batch, (tuple, list)):
        if len(batch) == 3:
            return batch[0], batch[1], batch[2]
        if len(batch) == 2:
            return batch[0], batch[1], None
    raise ValueError(
        "train_dataset must yield (inputs, targets) or (inputs, targets, sample_weight), "
        f"got {type(batch).__name__}"
    )


def _to_float32(outputs):
    return tf.nest.map_structure(
        lambda t: tf.cast(t, tf.float32) if t.dtype.is_floating else t, outputs
    )


def write_json(path, data):
    """Atomic JSON write (temporary file, then rename)."""
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


class Trainer:
    """Trains ``task``'s model with ``config`` into ``out_dir`` under ``strategy``.

    The trainer holds what the task builds for the run: the data listing, the model, the criterion,
    the optimizer and, at evaluation time, the evaluator.
    """

    def __init__(self, task, config, out_dir, strategy=None, log=None):
        self.task = task
        self.config = config
        self.out_dir = os.fspath(out_dir)
        self.strategy = strategy or tf.distribute.get_strategy()
        self.is_chief, self.worker_index = worker_info(self.strategy)
        self._log = log or (lambda line: print(line, flush=True))
        self.data = None
        self.model = None
        self.criterion = None
        self.optimizer = None
        self.jit_compiled = False
        self.notes = []  # end-of-run report lines from listing the data (skipped files, ...)
        self.eval_notes = []  # and from the last evaluation
        self.best_notes = []  # why no model_best.keras could be kept (once)

    def log(self, line):
        if self.is_chief:
            self._log(line)

    # -- set-up ---------------------------------------------------------------------------------
    def _prepare_out_dir(self):
        cfg_path = os.path.join(self.out_dir, "config.yaml")
        if not self.is_chief:
            return
        os.makedirs(os.path.join(self.out_dir, "logs"), exist_ok=True)
        if os.path.exists(cfg_path):
            previous = load_config(cfg_path, type(self.config))
            if config_to_dict(previous) != config_to_dict(self.config):
                changed = _diff(config_to_dict(previous), config_to_dict(self.config))
                self.log(f"note: config differs from the saved {cfg_path}: {', '.join(changed)}")
        save_config(self.config, cfg_path)

    def _build(self, steps_per_epoch):
        t = self.config.train
        previous_policy = keras.config.dtype_policy()
        keras.config.set_dtype_policy(_POLICIES[t.mixed_precision])
        try:
            with self.strategy.scope():
                self.model = self.task.build_model(self.config)
                self.criterion = self.task.build_criterion(self.config)
                self.schedule = schedule_from_config(t, steps_per_epoch)
                self.optimizer = build_optimizer(t, self.schedule)
                self.optimizer.build(self.model.trainable_variables)
                self.keeper = CheckpointKeeper(
                    os.path.join(self.out_dir, "checkpoints"),
                    self.model,
                    self.optimizer,
                    keep=t.keep_checkpoints,
                    is_chief=self.is_chief,
                    worker_index=self.worker_index,
                )
        finally:
            keras.config.set_dtype_policy(previous_policy)

    def _make_step(self, global_batch):
        model, criterion, optimizer = self.model, self.criterion, self.optimizer
        strategy = self.strategy
        weight_decay = coupled_weight_decay(self.config.train)
        variables = model.trainable_variables
        multipliers = learning_rate_multipliers(self.config.train, variables)
        decay_factors = weight_decay_factors(self.config.train, variables)
        clip_norm = float(self.config.train.clip_norm)
        # Plain tensor ops: nothing for autograph to convert.
        loss_fn = tf.autograph.experimental.do_not_convert(criterion)
        metrics_fn = getattr(criterion, "metrics", None)

        def gradients(inputs, targets, sample_weight):
            with tf.GradientTape() as tape:
                outputs = _to_float32(model(inputs, training=True))
                per_example = tf.cast(loss_fn(targets, outputs, sample_weight), tf.float32)
                loss = tf.reduce_sum(per_example) / global_batch
                if model.losses:
                    loss += tf.nn.scale_regularization_loss(tf.add_n(model.losses))
                scaled = optimizer.scale_loss(loss)
            grads = tape.gradient(scaled, variables)
            values = metrics_fn(targets, outputs, sample_weight) if metrics_fn else {}
            metrics = {
                name: tf.reduce_sum(tf.cast(v, tf.float32)) / global_batch
                for name, v in values.items()
            }
            return loss, grads, metrics

        if self.config.train.jit_compile:
            gradients = self._compiled_or_plain(gradients)

        def replica_step(batch):
            inputs, targets, sample_weight = _unpack(batch)
            loss, grads, metrics = gradients(inputs, targets, sample_weight)
            # Variables the loss does not reach get no update at all (as in PyTorch).
            used = [(g, v) for g, v in zip(grads, variables, strict=True) if g is not None]
            grads, used_variables = [g for g, _ in used], [v for _, v in used]
            context = tf.distribute.get_replica_context()
            if context.num_replicas_in_sync > 1:
                grads = context.all_reduce(tf.distribute.ReduceOp.SUM, grads)
            scale = loss_scale(optimizer)
            grad_norm = tf.linalg.global_norm(grads) / tf.cast(scale, tf.float32)
            if clip_norm > 0:  # torch clip_grad_norm_: max_norm / (norm + 1e-6), at most 1
                factor = tf.minimum(1.0, clip_norm / (grad_norm + 1e-6))
                grads = [g * tf.cast(factor, g.dtype) for g in grads]
            if weight_decay:
                # PyTorch SGD/Adam weight_decay: L2 on the (unscaled) gradient, every parameter
                # (times bias_decay_mult for biases).
                grads = [
                    g + tf.cast(weight_decay * decay_factors.get(v.path, 1.0) * scale, g.dtype)
                    * tf.cast(v, g.dtype)
                    for g, v in zip(grads, used_variables, strict=True)
                ]
            if multipliers:  # the official param groups: lr x nonbackbone_mult / bias_lr_mult
                grads = [g * tf.cast(multipliers.get(v.path, 1.0), g.dtype)
                         for g, v in zip(grads, used_variables, strict=True)]
            optimizer.apply(grads, used_variables)
            return loss, grad_norm, metrics

        @tf.function
        def train_step(iterator):
            loss, grad_norm, metrics = strategy.run(replica_step, args=(next(iterator),))
            loss = strategy.reduce(tf.distribute.ReduceOp.SUM, loss, axis=None)
            grad_norm = strategy.reduce(tf.distribute.ReduceOp.MEAN, grad_norm, axis=None)
            metrics = {
                k: strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None)
                for k, v in metrics.items()
            }
            return loss, grad_norm, metrics

        return train_step

    def _compiled_or_plain(self, gradients):
        """``gradients`` under XLA if XLA can compile it, else unchanged with a warning line.

        Checked by lowering to HLO (nothing runs, no state changes): an op without an XLA kernel
        (e.g. ``ResizeNearestNeighborGrad`` on CPU) would otherwise fail at the first step.
        """
        compiled = tf.function(gradients, jit_compile=True)
        spec = self.task.train_dataset(self.config, self.data, None, epoch=0).element_spec
        local_batch = self.config.train.batch_size // self.strategy.num_replicas_in_sync

        def example(s):
            shape = [local_batch if d is None else d for d in s.shape]
            if s.shape.rank:
                shape[0] = local_batch
            return tf.zeros(shape, s.dtype)

        inputs, targets, sample_weight = _unpack(tf.nest.map_structure(example, spec))
        try:
            compiled.experimental_get_compiler_ir(inputs, targets, sample_weight)(stage="hlo")
        except Exception as e:  # any failure to lower means: run without XLA
            reason = str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__
            self.log(f"warning: train.jit_compile ignored, XLA cannot compile the step: {reason}")
            self.jit_compiled = False
            return gradients
        self.jit_compiled = True
        return compiled

    def _epoch_dataset(self, epoch, skip_steps):
        task, config, data = self.task, self.config, self.data

        def dataset_fn(input_context):
            ds = task.train_dataset(config, data, input_context, epoch=epoch)
            if skip_steps:
                # Each input pipeline feeds its local replicas one batch each per step.
                local_replicas = max(
                    1, input_context.num_replicas_in_sync // input_context.num_input_pipelines
                )
                ds = ds.skip(skip_steps * local_replicas)
            return ds

        return self.strategy.distribute_datasets_from_function(dataset_fn)

    # -- the loop -------------------------------------------------------------------------------
    def fit(self):
        """Trains (or resumes) to ``train.epochs``, saves the model, evaluates; returns metrics."""
        config, t = self.config, self.config.train
        self.task.validate(config)
        self.data = self.task.load_data(config)
        self.notes = list(self.data.notes)
        keras.utils.set_random_seed(config.seed)
        if t.deterministic:
            tf.config.experimental.enable_op_determinism()
        self._prepare_out_dir()
        steps_per_epoch = t.steps_per_epoch or int(self.task.steps_per_epoch(config, self.data))
        if steps_per_epoch < 1:
            raise DataError(
                f"an epoch has {steps_per_epoch} steps: fewer training examples than "
                f"train.batch_size={t.batch_size}"
            )
        self._build(steps_per_epoch)
        restored = self.keeper.restore()
        global_step, epoch, step_in_epoch = self.keeper.position()
        if restored:
            self.log(f"resuming from {restored} (epoch {epoch + 1}, step {step_in_epoch})")
        replicas = self.strategy.num_replicas_in_sync
        self.log(
            f"{self.task.name}: {self.model.name}, {self.model.count_params():,} parameters, "
            f"{replicas} replica(s), global batch {t.batch_size}, {steps_per_epoch} steps/epoch, "
            f"{t.epochs} epochs -> {self.out_dir}"
        )
        writer = (
            tf.summary.create_file_writer(os.path.join(self.out_dir, "logs"))
            if self.is_chief
            else tf.summary.create_noop_writer()
        )
        train_step = self._make_step(t.batch_size)
        ckpt_every = max(0, t.checkpoint_every_steps)
        images_per_s = None  # measured over windows of >= 1 s, carried across epochs

        while epoch < t.epochs:
            iterator = iter(self._epoch_dataset(epoch, step_in_epoch))
            bar = tqdm(
                total=steps_per_epoch,
                initial=step_in_epoch,
                desc=f"epoch {epoch + 1}/{t.epochs}",
                disable=not self.is_chief,
                file=sys.stdout,
                dynamic_ncols=True,
                leave=False,
            )
            sums, count, epoch_start, seen = {}, 0, time.perf_counter(), 0
            window_start, window_images = time.perf_counter(), 0
            while step_in_epoch < steps_per_epoch:
                try:
                    loss, grad_norm, metrics = train_step(iterator)
                except (StopIteration, tf.errors.OutOfRangeError):
                    raise DataError(
                        f"the training data ran out after {step_in_epoch} of {steps_per_epoch} "
                        f"steps in epoch {epoch + 1}; lower train.steps_per_epoch"
                    ) from None
                except tf.errors.OpError as e:
                    problem = sample_problem(e)
                    if problem is None:
                        raise
                    raise DataError(problem) from None
                loss_value, norm_value = float(loss), float(grad_norm)
                lossy = not math.isfinite(loss_value)
                # With float16 loss scaling an overflowing gradient is expected: the step is
                # skipped and the scale lowered. Otherwise a non-finite gradient is divergence.
                if lossy or (t.mixed_precision != "float16" and not math.isfinite(norm_value)):
                    bar.close()
                    what = "loss" if lossy else "gradient norm"
                    value = loss_value if lossy else norm_value
                    last = self.keeper.latest or "none (no checkpoint yet)"
                    raise TrainingDiverged(
                        f"{what} is {value} at epoch {epoch + 1}, step {step_in_epoch + 1} "
                        f"(global step {global_step + 1}); stopped. Last good checkpoint: {last}. "
                        "Try a lower train.lr, train.clip_norm, or warm-up."
                    )
                global_step += 1
                step_in_epoch += 1
                seen += t.batch_size
                window_images += t.batch_size
                count += 1
                values = {"loss": loss_value, **{k: float(v) for k, v in metrics.items()}}
                for k, v in values.items():
                    sums[k] = sums.get(k, 0.0) + v
                now = time.perf_counter()
                if now - window_start >= 1.0 or step_in_epoch == steps_per_epoch:
                    images_per_s = window_images / max(now - window_start, 1e-9)
                    window_start, window_images = now, 0
                bar.update(1)
                rate = "-" if images_per_s is None else f"{images_per_s:.1f}"
                bar.set_postfix(loss=f"{loss_value:.4f}", img_s=rate, refresh=False)
                if self.is_chief and t.log_every_steps and global_step % t.log_every_steps == 0:
                    with writer.as_default(step=global_step):
                        scalar_summary("train/loss", loss_value, global_step)
                        scalar_summary("train/grad_norm", norm_value, global_step)
                        lr = float(self.schedule(global_step - 1))
                        scalar_summary("train/lr", lr, global_step)
                        if images_per_s is not None:
                            scalar_summary("train/images_per_second", images_per_s, global_step)
                        for k, v in metrics.items():
                            scalar_summary(f"train/{k}", float(v), global_step)
                if ckpt_every and global_step % ckpt_every == 0 and step_in_epoch < steps_per_epoch:
                    self.keeper.save(global_step, epoch, step_in_epoch)
            bar.close()
            epoch += 1
            step_in_epoch = 0
            seconds = time.perf_counter() - epoch_start
            means = {k: v / max(count, 1) for k, v in sums.items()}
            summary = "  ".join(f"{k} {v:.4f}" for k, v in means.items())
            lr = float(self.schedule(global_step - 1))
            self.log(
                f"epoch {epoch}/{t.epochs}  {summary}  lr {lr:.3g}"
                f"  {seen / max(seconds, 1e-9):.1f} img/s  {seconds:.1f}s"
            )
            with writer.as_default(step=global_step):
                for k, v in means.items():
                    scalar_summary(f"epoch/{k}", v, global_step)
            every = self.config.eval.every_epochs
            if every and epoch % every == 0 and epoch < t.epochs and self.is_chief:
                self._evaluate(writer, global_step, epoch=epoch)
            # After the evaluation: the checkpoint records the best score with the position.
            self.keeper.save(global_step, epoch, 0)
        return self._finish(writer, global_step)

    def _multi_worker(self):
        resolver = getattr(self.strategy, "cluster_resolver", None)
        if resolver is None or isinstance(self.strategy, tf.distribute.TPUStrategy):
            return False
        cluster = resolver.cluster_spec().as_dict()
        return sum(len(tasks) for tasks in cluster.values()) > 1

    def _evaluation_model(self, saved_path=None):
        """The model to evaluate on the chief alone.

        Under several workers a model built in the strategy's scope runs collective ops (Keras
        ``predict`` does), which would wait forever for the other workers; evaluate a copy loaded
        outside the strategy instead.
        """
        if not self._multi_worker():
            return self.model
        if saved_path is None:
            saved_path = os.path.join(self.out_dir, "eval_model.tmp.keras")
            self.model.save(saved_path)
        return keras.saving.load_model(saved_path, compile=False)

    def _evaluate(self, writer, global_step, saved_path=None, epoch=None):
        """Runs the task's evaluation; its dict (nested sections allowed, e.g. per-class IoU) goes
        to metrics.json as is, its numbers to TensorBoard, its top-level numbers to the log. With
        ``epoch`` the result also ranks the model for ``model_best.keras``."""
        model = self._evaluation_model(saved_path)
        evaluator = self.task.build_evaluator(self.config, self.data)
        metrics, skips = evaluate(model, evaluator, self.out_dir)
        metrics = _plain(metrics)
        if epoch is not None:
            self._keep_best(metrics, evaluator, epoch, saved_path)
        self.eval_notes = skips.lines()
        headline = {k: v for k, v in metrics.items() if isinstance(v, (int, float))}
        if headline:
            self.log("eval  " + "  ".join(f"{k} {v:.4f}" for k, v in headline.items()))
        with writer.as_default(step=global_step):
            for k, v in _numeric_leaves(metrics):
                scalar_summary(f"eval/{k}", v, global_step)
        return metrics

    def _best_metric(self, metrics, evaluator):
        """(metric name, value, higher is better) of an evaluation, or None with a note why."""
        e = self.config.eval
        name = e.best_metric or getattr(evaluator, "metric", None)
        if not name:
            return self._best_note(
                f"no model_best.keras: {type(evaluator).__name__} names no metric to rank models "
                "by (set eval.best_metric)")
        value = metrics.get(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(
                value):
            numbers = sorted(k for k, v in metrics.items()
                             if isinstance(v, (int, float)) and not isinstance(v, bool))
            return self._best_note(
                f"no model_best.keras: the evaluation has no finite number {name!r} "
                f"(eval.best_metric; it has {', '.join(numbers) or 'none'})")
        if e.best_mode == "auto":
            higher = bool(getattr(evaluator, "higher_is_better", True))
        else:
            higher = e.best_mode == "max"
        return name, float(value), higher

    def _best_note(self, line):
        if line not in self.best_notes:
            self.best_notes.append(line)
            self.log(f"note: {line}")
        return None

    def _keep_best(self, metrics, evaluator, epoch, saved_path=None):
        """With ``eval.every_epochs``: saves ``OUT/model_best.keras`` (and ``model_best.json``)
        when this evaluation is at least as good as every one before (official ``tools/train.py``:
        ``perf_indicator >= best_perf``); the score goes into the next checkpoint."""
        if not self.config.eval.every_epochs:
            return
        ranked = self._best_metric(metrics, evaluator)
        if ranked is None:
            return
        name, value, higher = ranked
        best, _ = self.keeper.best()
        if best is not None and not (value >= best if higher else value <= best):
            return
        path = os.path.join(self.out_dir, "model_best.keras")
        tmp = os.path.join(self.out_dir, "model_best.tmp.keras")
        if saved_path is not None:
            shutil.copyfile(saved_path, tmp)
        else:
            self.model.save(tmp)
        os.replace(tmp, path)
        self.keeper.set_best(value, epoch)
        write_json(os.path.join(self.out_dir, "model_best.json"), {
            "metric": name, "value": value, "epoch": epoch, "higher_is_better": higher,
            "metrics": metrics})
        self.log(f"best {name} {value:.4f} at epoch {epoch}: {path}")

    def _finish(self, writer, global_step):
        if not self.is_chief:
            return {}
        model_path = os.path.join(self.out_dir, "model.keras")
        tmp = os.path.join(self.out_dir, "model.tmp.keras")
        self.model.save(tmp)
        os.replace(tmp, model_path)
        metrics = self._evaluate(writer, global_step, saved_path=model_path,
                                 epoch=self.config.train.epochs)
        write_json(os.path.join(self.out_dir, "metrics.json"), metrics)
        writer.flush()
        for line in [*self.notes, *self.eval_notes, *self.best_notes]:
            self.log(line)
        self.log(f"done: {model_path}, {os.path.join(self.out_dir, 'metrics.json')}")
        return metrics


def _plain(value):
    """JSON-ready copy: numpy/TF scalars to Python numbers, nested dicts and lists kept."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (bool, str)) or value is None:
        return value
    if hasattr(value, "numpy"):
        value = value.numpy()
    if isinstance(value, (np.ndarray, np.generic)) and np.ndim(value) == 0:
        value = value.item()
    return value


def _numeric_leaves(metrics, prefix=""):
    for k, v in metrics.items():
        if isinstance(v, dict):
            yield from _numeric_leaves(v, f"{prefix}{k}/")
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            yield f"{prefix}{k}", float(v)


def _diff(old, new, prefix=""):
    out = []
    for k in sorted(set(old) | set(new)):
        a, b = old.get(k), new.get(k)
        key = f"{prefix}{k}"
        if isinstance(a, dict) and isinstance(b, dict):
            out += _diff(a, b, f"{key}.")
        elif a != b:
            out.append(f"{key} {a!r} -> {b!r}")
    return out


def weights_digest(model):
    """Concatenated weights as one float64 vector (tests compare runs with it)."""
    return np.concatenate([np.asarray(w, np.float64).ravel() for w in model.get_weights()])


__all__ = ["Trainer", "TrainingDiverged", "weights_digest", "write_json"]
