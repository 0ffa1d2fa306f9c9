"""Learning-rate schedules against the official definitions written out independently."""

import math

import numpy as np
import pytest

from hrnet_tf.training.schedules import LearningRate


def _values(schedule, steps):
    return np.array([float(schedule(s)) for s in steps])


def _official_multistep_rates(lr, milestones, epochs):
    """The rate of every epoch as the official scripts step ``MultiStepLR``: built once (which
    steps it once), then ``lr_scheduler.step()`` before each epoch's training
    (deep-high-resolution-net.pytorch and HRNet-Image-Classification ``tools/train.py``, main)."""
    torch = pytest.importorskip("torch")
    import warnings

    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones, 0.1, last_epoch=-1)
    rates = []
    with warnings.catch_warnings():  # "lr_scheduler.step() before optimizer.step()": as official
        warnings.simplefilter("ignore")
        for _ in range(epochs):
            scheduler.step()
            rates.append(optimizer.param_groups[0]["lr"])
    return rates


@pytest.mark.parametrize("lr,milestones,epochs", [
    (1e-3, [170, 200], 210),     # pose: COCO yamls, LR_STEP [170, 200]
    (0.05, [30, 60, 90], 100),   # classification: LR_STEP [30, 60, 90]
])
def test_multistep_milestones_take_effect_as_the_official_loop_steps_them(lr, milestones, epochs):
    spe = 3
    schedule = LearningRate(lr, spe, epochs, "multistep", lr_steps=milestones, lr_factor=0.1)
    official = _official_multistep_rates(lr, milestones, epochs)
    for epoch, rate in enumerate(official):
        for step in (epoch * spe, epoch * spe + spe - 1):  # first and last step of the epoch
            assert float(schedule(step)) == pytest.approx(rate, rel=1e-6), (epoch, step)
    # The drops: 0-based epochs m - 1 (169/199, 29/59/89), not m.
    drops = [e for e in range(1, epochs) if official[e] < official[e - 1]]
    assert drops == [m - 1 for m in milestones]


def test_poly_lags_one_iteration_as_the_official_loop():
    # lib/core/function.py train(): the step of iteration i runs with the rate that
    # adjust_learning_rate (lib/utils/utils.py) set after iteration i - 1; iteration 0 with the
    # optimizer's initial TRAIN.LR.
    base, spe, epochs, power = 0.01, 10, 4, 0.9
    num_iters = epochs * spe
    rates, current = [], base
    for i in range(num_iters):
        rates.append(current)  # optimizer.step() of iteration i
        current = base * (1 - i / num_iters) ** power  # adjust_learning_rate(..., i)
    lr = LearningRate(base, spe, epochs, "poly", poly_power=power)
    np.testing.assert_allclose(_values(lr, np.arange(num_iters)), rates, rtol=1e-5, atol=1e-9)
    assert rates[0] == rates[1] == base


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
