"""Checkpoints that never lose work: model, optimizer, the data position and the best evaluation
score so far (what ``OUT/model_best.keras`` holds), kept N deep.

A checkpoint is written by ``tf.train.CheckpointManager``: the data files go out first under their
final prefix, and only then is the small ``checkpoint`` index rewritten (write to a temporary file,
then rename). A process killed mid-save therefore leaves the index pointing at the previous
complete checkpoint, which is what a restart restores.

Under MultiWorkerMirroredStrategy every worker must take part in a save; workers other than the
chief write to a private folder that is deleted right after.

The model and the optimizer are saved as their flat lists of variables (``model.weights``,
``optimizer.variables``), not through TensorFlow's object graph: that graph does not reach the
layers Keras 3 keeps in nested lists (an HRNet fusion layer's paths), whose BatchNorm statistics a
resumed run would otherwise lose.
"""

import os
import shutil

import tensorflow as tf


class CheckpointKeeper:
    """Saves and restores ``model``, ``optimizer``, the position (epoch, step in epoch, step) and the
    best score (``best_score`` and its ``best_epoch``, -1 until a first evaluation ranked a model:
    a sentinel that keeps every stored number finite)."""

    def __init__(self, directory, model, optimizer, keep=3, is_chief=True, worker_index=0):
        self.directory = os.fspath(directory)
        self.is_chief = is_chief
        self.global_step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.step_in_epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="step_in_epoch")
        self.best_score = tf.Variable(0.0, dtype=tf.float64, trainable=False, name="best_score")
        self.best_epoch = tf.Variable(-1, dtype=tf.int64, trainable=False, name="best_epoch")
        self.checkpoint = tf.train.Checkpoint(
            model_weights=list(model.weights),
            optimizer_variables=list(optimizer.variables),
            global_step=self.global_step,
            epoch=self.epoch,
            step_in_epoch=self.step_in_epoch,
            best_score=self.best_score,
            best_epoch=self.best_epoch,
        )
        write_dir = self.directory if is_chief else os.path.join(
            self.directory, f".worker{worker_index}"
        )
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, write_dir, max_to_keep=max(1, keep), checkpoint_name="ckpt"
        )
        self._read_manager = self.manager if is_chief else tf.train.CheckpointManager(
            self.checkpoint, self.directory, max_to_keep=max(1, keep), checkpoint_name="ckpt"
        )

    @property
    def latest(self):
        """Path prefix of the newest complete checkpoint, or None."""
        return self._read_manager.latest_checkpoint

    def restore(self):
        """Restores the newest checkpoint; returns its path (None when starting fresh)."""
        path = self.latest
        if path is None:
            return None
        self.checkpoint.restore(path).assert_existing_objects_matched()
        return path

    def position(self):
        return int(self.global_step.numpy()), int(self.epoch.numpy()), int(
            self.step_in_epoch.numpy()
        )

    def best(self):
        """(best score, its epoch), or (None, 0) before any evaluation ranked a model."""
        epoch = int(self.best_epoch.numpy())
        return (None, 0) if epoch < 0 else (float(self.best_score.numpy()), epoch)

    def set_best(self, score, epoch):
        """Records a new best score; the next :meth:`save` writes it with the position."""
        self.best_score.assign(float(score))
        self.best_epoch.assign(int(epoch))

    def save(self, global_step, epoch, step_in_epoch):
        """Records the position and writes a checkpoint numbered by the global step."""
        self.global_step.assign(global_step)
        self.epoch.assign(epoch)
        self.step_in_epoch.assign(step_in_epoch)
        path = self.manager.save(checkpoint_number=global_step)
        if not self.is_chief:
            shutil.rmtree(self.manager.directory, ignore_errors=True)
            return None
        return path


__all__ = ["CheckpointKeeper"]
