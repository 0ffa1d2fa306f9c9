"""Learning-rate schedules of the official recipes, as a function of the optimizer step.

* ``multistep``: ``lr * lr_factor ** (number of milestones passed)``, milestones in epochs as the
  official YAMLs give them (``TRAIN.LR_STEP``), applied as the official scripts apply them: they
  build ``torch.optim.lr_scheduler.MultiStepLR`` (which steps once on construction) and call
  ``lr_scheduler.step()`` *before* each epoch (deep-high-resolution-net.pytorch and
  HRNet-Image-Classification ``tools/train.py``, ``main``), so milestone ``m`` takes effect at the
  start of 0-based epoch ``m - 1``: pose's 170/200 at epochs 169/199, classification's 30/60/90
  at 29/59/89.
* ``poly``: ``lr * (1 - max(step - 1, 0) / total_steps) ** poly_power``, per iteration
  (segmentation): the official loop (HRNet-Semantic-Segmentation ``lib/core/function.py``,
  ``train``) calls ``adjust_learning_rate(..., i_iter + cur_iters)`` (``lib/utils/utils.py``)
  *after* ``optimizer.step()``, so iteration ``i`` runs with the rate computed for ``i - 1`` and
  the first two iterations both use ``lr``.
* ``cosine``: from ``lr`` to ``min_lr`` over the steps after the warm-up.
* ``constant``.

A linear warm-up from ``warmup_factor * lr`` to ``lr`` over ``warmup_epochs`` replaces the start
of any schedule.
"""

import math

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="hrnet_tf")
class LearningRate(keras.optimizers.schedules.LearningRateSchedule):
    """The schedule of ``train.*`` as a Keras schedule.

    >>> lr = LearningRate(0.1, steps_per_epoch=10, epochs=3, schedule="multistep", lr_steps=[2, 3])
    >>> [round(float(lr(s)), 6) for s in (0, 9, 10, 25)]   # epoch 0, 0, 1, 2
    [0.1, 0.1, 0.01, 0.001]
    """

    def __init__(
        self,
        lr,
        steps_per_epoch,
        epochs,
        schedule="multistep",
        lr_steps=(),
        lr_factor=0.1,
        poly_power=0.9,
        min_lr=0.0,
        warmup_epochs=0.0,
        warmup_factor=0.0,
    ):
        if schedule not in ("multistep", "poly", "cosine", "constant"):
            raise ValueError(f"unknown learning-rate schedule {schedule!r}")
        self.lr = float(lr)
        self.steps_per_epoch = int(steps_per_epoch)
        self.epochs = float(epochs)
        self.schedule = schedule
        self.lr_steps = [float(m) for m in lr_steps]
        self.lr_factor = float(lr_factor)
        self.poly_power = float(poly_power)
        self.min_lr = float(min_lr)
        self.warmup_epochs = float(warmup_epochs)
        self.warmup_factor = float(warmup_factor)

    @property
    def total_steps(self):
        return max(1, int(round(self.epochs * self.steps_per_epoch)))

    @property
    def warmup_steps(self):
        return int(round(self.warmup_epochs * self.steps_per_epoch))

    def _main(self, step):
        if self.schedule == "constant":
            return ops.ones_like(step) * self.lr
        if self.schedule == "multistep":
            passed = ops.zeros_like(step)
            for milestone in self.lr_steps:
                # Milestone m: from 0-based epoch m - 1 on (see the module docstring).
                boundary = float(round((milestone - 1.0) * self.steps_per_epoch))
                passed = passed + ops.cast(step >= boundary, step.dtype)
            return self.lr * ops.power(self.lr_factor, passed)
        if self.schedule == "poly":
            # The official per-iteration lag (see the module docstring).
            lagged = ops.maximum(step - 1.0, 0.0)
            progress = ops.minimum(lagged / float(self.total_steps), 1.0)
            return self.lr * ops.power(1.0 - progress, self.poly_power)
        # cosine over the steps after the warm-up
        span = float(max(1, self.total_steps - self.warmup_steps))
        progress = ops.clip((step - self.warmup_steps) / span, 0.0, 1.0)
        return self.min_lr + (self.lr - self.min_lr) * 0.5 * (1.0 + ops.cos(math.pi * progress))

    def __call__(self, step):
        step = ops.cast(step, "float32")
        lr = self._main(step)
        if self.warmup_steps > 0:
            ramp = self.warmup_factor + (1.0 - self.warmup_factor) * step / self.warmup_steps
            lr = ops.where(step < self.warmup_steps, self.lr * ramp, lr)
        return lr

    def get_config(self):
        return {
            "lr": self.lr,
            "steps_per_epoch": self.steps_per_epoch,
            "epochs": self.epochs,
            "schedule": self.schedule,
            "lr_steps": self.lr_steps,
            "lr_factor": self.lr_factor,
            "poly_power": self.poly_power,
            "min_lr": self.min_lr,
            "warmup_epochs": self.warmup_epochs,
            "warmup_factor": self.warmup_factor,
        }


def schedule_from_config(train_config, steps_per_epoch):
    """``LearningRate`` from a ``TrainConfig``."""
    t = train_config
    return LearningRate(
        t.lr,
        steps_per_epoch,
        t.epochs,
        schedule=t.schedule,
        lr_steps=t.lr_steps,
        lr_factor=t.lr_factor,
        poly_power=t.poly_power,
        min_lr=t.min_lr,
        warmup_epochs=t.warmup_epochs,
        warmup_factor=t.warmup_factor,
    )


__all__ = ["LearningRate", "schedule_from_config"]
