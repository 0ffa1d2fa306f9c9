"""One trainer step against PyTorch's optimizer formulas written out in numpy.

A linear model with a squared-error loss has a closed-form gradient, so every update of the
trainer (gradient averaging over the global batch, weight decay the recipe's way, clipping,
momentum) can be checked against the reference exactly.
"""

from dataclasses import dataclass, field

import numpy as np
import pytest

from hrnet_tf.training.config import Config, DataConfig, load_config
from hrnet_tf.training.task import Task, TaskData

X = np.random.default_rng(0).normal(size=(8, 3)).astype(np.float32)
Y = np.random.default_rng(1).normal(size=(8, 2)).astype(np.float32)
W0 = np.random.default_rng(2).normal(size=(3, 2)).astype(np.float32)
B0 = np.array([0.5, -0.25], np.float32)


@dataclass
class _LinearConfig(Config):
    data: DataConfig = field(default_factory=lambda: DataConfig(image_size=1))


class _LinearTask(Task):
    name = "linear"
    config_class = _LinearConfig

    def build_model(self, config):
        import keras

        inputs = keras.Input((3,))
        model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
        model.set_weights([W0, B0])
        return model

    def load_data(self, config):
        return TaskData(num_train=3 * len(X))

    def train_dataset(self, config, data, input_context=None, epoch=0):
        import tensorflow as tf

        return tf.data.Dataset.from_tensors((X, Y)).repeat(3)

    def build_criterion(self, config):
        import tensorflow as tf

        return lambda targets, outputs, sample_weight=None: tf.reduce_sum(
            tf.square(outputs - targets), axis=-1
        )


def _gradient(w, b):
    residual = X @ w + b - Y  # loss = sum over examples / batch
    return 2 * X.T @ residual / len(X), 2 * residual.sum(0) / len(X)


def _trainer_weights(tmp_path, overrides, steps=3):
    from hrnet_tf.training.trainer import Trainer

    config = load_config(None, _LinearConfig, ["train.batch_size=8", "train.schedule=constant", *overrides])
    trainer = Trainer(_LinearTask(), config, tmp_path)
    trainer.data = trainer.task.load_data(config)
    trainer._build(steps_per_epoch=3)
    step = trainer._make_step(8)
    iterator = iter(trainer._epoch_dataset(0, 0))
    for _ in range(steps):
        step(iterator)
    return [np.asarray(v) for v in trainer.model.get_weights()]


def _reference(update, steps=3):
    params = [W0.astype(np.float64), B0.astype(np.float64)]
    state = [{} for _ in params]
    for t in range(1, steps + 1):
        grads = _gradient(*params)
        params = [update(p, g, s, t) for p, g, s in zip(params, grads, state, strict=True)]
    return params


def test_sgd_nesterov_with_coupled_weight_decay(tmp_path):
    lr, momentum, wd = 0.1, 0.9, 0.01

    def torch_sgd(p, g, s, t):
        g = g + wd * p  # torch.optim.SGD(weight_decay=wd)
        s["buf"] = g if t == 1 else momentum * s["buf"] + g
        return p - lr * (g + momentum * s["buf"])  # nesterov=True

    got = _trainer_weights(
        tmp_path,
        [
            f"train.lr={lr}",
            "train.optimizer=sgd",
            f"train.momentum={momentum}",
            "train.nesterov=true",
            f"train.weight_decay={wd}",
        ],
    )
    for a, b in zip(got, _reference(torch_sgd), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_sgd_momentum_follows_a_learning_rate_drop_at_once(tmp_path):
    """PyTorch applies the new rate to the whole momentum buffer on the step after a drop (Keras'
    SGD would keep stepping with the old rate folded into its velocity)."""
    momentum, steps = 0.9, 3
    rates = [0.1, 0.01, 0.01]  # multistep: x0.1 after the first iteration

    def torch_sgd(p, g, s, t):
        s["buf"] = g if t == 1 else momentum * s["buf"] + g
        return p - rates[t - 1] * s["buf"]

    overrides = [
        "train.lr=0.1",
        "train.optimizer=sgd",
        f"train.momentum={momentum}",
        "train.nesterov=false",
        "train.weight_decay=0",
        "train.schedule=multistep",
        "train.lr_factor=0.1",
        "train.epochs=3",
        "train.lr_steps=[2]",  # official MultiStepLR stepping: from epoch 2 - 1 = 1
    ]
    from hrnet_tf.training.trainer import Trainer

    config = load_config(None, _LinearConfig, ["train.batch_size=8", *overrides])
    trainer = Trainer(_LinearTask(), config, tmp_path)
    trainer._build(steps_per_epoch=1)
    step = trainer._make_step(8)
    iterator = iter(trainer._epoch_dataset(0, 0))
    for _ in range(steps):
        step(iterator)
    got = [np.asarray(v) for v in trainer.model.get_weights()]
    for a, b in zip(got, _reference(torch_sgd, steps), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_adam_coupled_and_adamw_decoupled(tmp_path, name):
    lr, wd, b1, b2, eps = 0.01, 0.1, 0.9, 0.999, 1e-8

    def torch_adam(p, g, s, t):
        if name == "adam":
            g = g + wd * p  # torch.optim.Adam(weight_decay=wd): L2 on the gradient
        else:
            p = p * (1 - lr * wd)  # torch.optim.AdamW: decoupled
        s["m"] = b1 * s.get("m", 0) + (1 - b1) * g
        s["v"] = b2 * s.get("v", 0) + (1 - b2) * g * g
        m_hat, v_hat = s["m"] / (1 - b1**t), s["v"] / (1 - b2**t)
        return p - lr * m_hat / (np.sqrt(v_hat) + eps)

    got = _trainer_weights(
        tmp_path, [f"train.lr={lr}", f"train.optimizer={name}", f"train.weight_decay={wd}"]
    )
    for a, b in zip(got, _reference(torch_adam), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_clipping_uses_the_global_norm(tmp_path):
    lr, clip = 0.1, 0.05

    def clipped_sgd(p, g, s, t):
        norm = np.sqrt(sum(np.sum(x * x) for x in _gradient(*s["params"])))
        return p - lr * g * min(1.0, clip / norm)

    # Plain SGD with clipping, one step (the global norm spans both tensors).
    state = {"params": [W0.astype(np.float64), B0.astype(np.float64)]}
    expected = [
        clipped_sgd(p, g, state, 1) for p, g in zip(state["params"], _gradient(*state["params"]), strict=True)
    ]
    got = _trainer_weights(
        tmp_path,
        [
            f"train.lr={lr}",
            "train.momentum=0",
            "train.nesterov=false",
            "train.weight_decay=0",
            f"train.clip_norm={clip}",
        ],
        steps=1,
    )
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


class _TwoHeadTask(_LinearTask):
    """A second head the loss never reaches: PyTorch leaves such parameters untouched."""

    def build_model(self, config):
        import keras

        inputs = keras.Input((3,))
        used = keras.layers.Dense(2, name="used")(inputs)
        unused = keras.layers.Dense(2, name="unused")(inputs)
        return keras.Model(inputs, {"used": used, "unused": unused})

    def build_criterion(self, config):
        loss = super().build_criterion(config)
        return lambda targets, outputs, sample_weight=None: loss(targets, outputs["used"])


def test_parameters_without_gradient_are_not_updated(tmp_path):
    from hrnet_tf.training.trainer import Trainer

    config = load_config(None, _LinearConfig, ["train.batch_size=8", "train.weight_decay=0.1"])
    trainer = Trainer(_TwoHeadTask(), config, tmp_path)
    trainer.data = trainer.task.load_data(config)
    trainer._build(steps_per_epoch=3)
    before = {w.path: np.asarray(w) for w in trainer.model.weights}
    step = trainer._make_step(8)
    step(iter(trainer._epoch_dataset(0, 0)))
    for w in trainer.model.weights:
        changed = not np.array_equal(before[w.path], np.asarray(w))
        assert changed == w.path.startswith("used"), w.path


def test_nonbackbone_keywords_are_the_official_second_param_group(tmp_path):
    """HRNet-OCR tools/train.py: parameters whose name holds a NONBACKBONE_KEYWORDS entry form a
    second SGD param group at lr * NONBACKBONE_MULT (weight decay and momentum in that group)."""
    lr, momentum, wd, mult = 0.05, 0.9, 0.01, 10.0

    def two_groups(p, g, s, t):
        rate = lr * mult if p.ndim == 1 else lr  # the Dense bias is "dense/bias": keyword "bias"
        g = g + wd * p
        s["buf"] = g if t == 1 else momentum * s["buf"] + g
        return p - rate * s["buf"]

    got = _trainer_weights(tmp_path, [
        f"train.lr={lr}", "train.optimizer=sgd", f"train.momentum={momentum}",
        "train.nesterov=false", f"train.weight_decay={wd}", "train.nonbackbone_keywords=[bias]",
        f"train.nonbackbone_mult={mult}"])
    for a, b in zip(got, _reference(two_groups), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_clipping_comes_before_weight_decay_and_the_bias_param_group(tmp_path):
    """mmdet's FCOS recipe: ``clip_grad_norm_(max_norm)`` on the loss gradient, then SGD whose
    weight decay and rate the mmcv ``paramwise_cfg`` changes for biases (``bias_lr_mult``,
    ``bias_decay_mult``): ``DefaultOptimizerConstructor.add_params``."""
    lr, momentum, wd, clip, bias_lr, bias_decay = 0.05, 0.9, 0.01, 0.05, 2.0, 0.0

    def clipped_groups(params, state, t):
        grads = _gradient(*params)
        norm = np.sqrt(sum(np.sum(g * g) for g in grads))
        coefficient = min(1.0, clip / (norm + 1e-6))
        out = []
        for p, g, s in zip(params, grads, state, strict=True):
            bias = p.ndim == 1
            g = g * coefficient + wd * (bias_decay if bias else 1.0) * p
            s["buf"] = g if t == 1 else momentum * s["buf"] + g
            out.append(p - lr * (bias_lr if bias else 1.0) * s["buf"])
        return out

    params, state = [W0.astype(np.float64), B0.astype(np.float64)], [{}, {}]
    for t in range(1, 4):
        params = clipped_groups(params, state, t)
    assert np.sqrt(sum(np.sum(g * g) for g in _gradient(W0, B0))) > 10 * clip  # clipping acts
    got = _trainer_weights(tmp_path, [
        f"train.lr={lr}", "train.optimizer=sgd", f"train.momentum={momentum}",
        "train.nesterov=false", f"train.weight_decay={wd}", f"train.clip_norm={clip}",
        f"train.bias_lr_mult={bias_lr}", f"train.bias_decay_mult={bias_decay}"])
    for a, b in zip(got, params, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("overrides,message", [
    (["train.nonbackbone_keywords=[bias]", "train.optimizer=adam"],
     "nonbackbone_keywords needs train.optimizer=sgd"),
    (["train.nonbackbone_keywords=[ocr_head]"], r"\['ocr_head'\]: no variable of the model matches"),
    (["train.bias_lr_mult=2", "train.optimizer=adamw"], "bias_lr_mult needs train.optimizer=sgd"),
    (["train.bias_decay_mult=0", "train.optimizer=adam"], "bias_decay_mult needs train.optimizer=sgd"),
])
def test_param_groups_refuse_what_is_not_the_official_recipe(tmp_path, overrides, message):
    from hrnet_tf.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        _trainer_weights(tmp_path, overrides, steps=0)
