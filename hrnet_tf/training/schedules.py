"""Learning-rate schedules of the official recipes, as a function of the optimizer step.

* ``multistep``: ``lr * lr_factor ** (number of milestones passed)``, milestones in epochs (the
  classification recipe: x0.1 at 30/60/90; PyTorch ``MultiStepLR`` stepped once per epoch, so
  with whole-epoch milestones the rate changes at epoch boundaries).
* ``poly``: ``lr * (1 - step / total_steps) ** poly_power``, per iteration (segmentation).
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

    >>> lr = LearningRate(0.1, steps_per_epoch=10, epochs=3, schedule="multistep", lr_steps=[1, 2])
    >>> [round(float(lr(s)), 6) for s in (0, 9, 10, 25)]
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
                boundary = float(round(milestone * self.steps_per_epoch))
                passed = passed + ops.cast(step >= boundary, step.dtype)
            return self.lr * ops.power(self.lr_factor, passed)
        if self.schedule == "poly":
            progress = ops.minimum(step / float(self.total_steps), 1.0)
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
