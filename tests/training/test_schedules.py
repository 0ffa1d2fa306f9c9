"""Learning-rate schedules against the official definitions written out independently."""

import math

import numpy as np
import pytest

from hrnet_tf.training.schedules import LearningRate


def _values(schedule, steps):
    return np.array([float(schedule(s)) for s in steps])


def test_multistep_changes_at_epoch_boundaries():
    # PyTorch MultiStepLR(milestones=[30, 60, 90], gamma=0.1) stepped once per epoch.
    spe = 7
    lr = LearningRate(0.05, spe, 100, "multistep", lr_steps=[30, 60, 90], lr_factor=0.1)
    steps = np.arange(0, 100 * spe, 5)
    expected = [0.05 * 0.1 ** sum(s // spe >= m for m in (30, 60, 90)) for s in steps]
    np.testing.assert_allclose(_values(lr, steps), expected, rtol=1e-6)


def test_poly_per_iteration():
    # Official segmentation: base * (1 - iter / max_iter) ** 0.9, stepped every iteration.
    lr = LearningRate(0.01, 10, 4, "poly", poly_power=0.9)
    steps = np.arange(40)
    np.testing.assert_allclose(
        _values(lr, steps), [0.01 * (1 - s / 40) ** 0.9 for s in steps], rtol=1e-5, atol=1e-9
    )


def test_cosine_with_linear_warmup():
    spe, epochs, warm = 5, 10, 2
    lr = LearningRate(0.1, spe, epochs, "cosine", min_lr=0.001, warmup_epochs=warm,
                      warmup_factor=0.1)
    w, total = warm * spe, epochs * spe
    steps = np.arange(total)
    expected = [
        0.1 * (0.1 + 0.9 * s / w)
        if s < w
        else 0.001 + (0.1 - 0.001) * 0.5 * (1 + math.cos(math.pi * (s - w) / (total - w)))
        for s in steps
    ]
    np.testing.assert_allclose(_values(lr, steps), expected, rtol=1e-5)


def test_unknown_schedule_is_refused():
    with pytest.raises(ValueError, match="^unknown learning-rate schedule 'step'"):
        LearningRate(0.1, 10, 1, "step")
