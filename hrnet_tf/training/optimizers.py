"""Optimizers of the official recipes, for the trainer's custom loop.

The trainer all-reduces the gradients itself (once, before clipping and weight decay, so that both
see the global gradient), so the Keras optimizers here skip their own all-reduce. It clips the loss
gradient before adding weight decay, as PyTorch's ``clip_grad_norm_`` runs before
``optimizer.step``; the Keras optimizers get no ``global_clipnorm``, which would clip the decayed
gradient.

SGD is PyTorch's form (`TorchSGD`): the momentum buffer accumulates raw gradients and the learning
rate scales the step, so a learning-rate change (multistep drops, per-iteration poly) takes effect at
once. Keras' SGD folds the learning rate into its velocity and would keep stepping with the old rate
for a few dozen iterations after each drop.

Weight decay follows the recipe's PyTorch optimizer:

* ``sgd`` and ``adam``: L2 on the gradient (``grad += weight_decay * param`` before momentum /
  moments), on every parameter including BN; ``coupled_weight_decay`` returns the factor the
  trainer adds, and the Keras optimizer gets no ``weight_decay`` of its own.
* ``adamw``: decoupled decay ``param -= lr * weight_decay * param`` (Keras ``AdamW`` = PyTorch
  ``AdamW``).
"""

import keras
from keras import ops

from hrnet_tf.errors import ConfigError

_CLASSES = {}


class TorchSGD(keras.optimizers.Optimizer):
    """``torch.optim.SGD`` (dampening 0): ``buf = momentum * buf + g``; ``w -= lr * buf`` or, with
    Nesterov, ``w -= lr * (g + momentum * buf)``. Weight decay is left to the caller (coupled L2)."""

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, name="torch_sgd", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.momentum = momentum
        self.nesterov = nesterov

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.buffers = (
            [self.add_variable_from_reference(v, "momentum_buffer") for v in variables]
            if self.momentum
            else []
        )

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        step = gradient
        if self.momentum:
            buf = self.buffers[self._get_variable_index(variable)]
            self.assign(buf, buf * self.momentum + gradient)
            step = gradient + buf * self.momentum if self.nesterov else buf
        self.assign_sub(variable, step * lr)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


def _caller_reduces(cls):
    """``cls`` without its internal gradient all-reduce (the trainer's step has done it)."""
    if cls not in _CLASSES:

        class CallerReduced(cls):
            def _all_reduce_sum_gradients(self, grads_and_vars):
                return list(grads_and_vars)

        CallerReduced.__name__ = cls.__name__
        CallerReduced.__qualname__ = cls.__qualname__
        _CLASSES[cls] = CallerReduced
    return _CLASSES[cls]


def coupled_weight_decay(train_config):
    """The L2 factor the trainer adds to the gradient (0 for ``adamw``, which decays itself)."""
    return 0.0 if train_config.optimizer == "adamw" else float(train_config.weight_decay)


def learning_rate_multipliers(train_config, variables):
    """{variable path: factor} of the variables that train at a multiple of the learning rate.

    * ``nonbackbone_keywords``, the official ``TRAIN.NONBACKBONE_KEYWORDS`` (HRNet-OCR configs):
      variables whose name holds a keyword train at ``nonbackbone_mult`` times the rate. The
      official ``tools/train.py`` (HRNet-Semantic-Segmentation, branch HRNet-OCR) puts them in a
      second SGD param group with ``lr * NONBACKBONE_MULT``; ``adjust_learning_rate`` keeps the
      ratio along the poly schedule.
    * ``bias_lr_mult``, mmcv ``DefaultOptimizerConstructor.add_params`` (``paramwise_cfg``, the mmdet
      FCOS configs): every ``bias`` of a convolution or dense layer; Keras names normalization
      offsets ``beta``, which mmcv leaves out too.

    For SGD (momentum, Nesterov, weight decay added to the gradient) the update is linear in the
    gradient, so scaling the decayed gradient by the factor is exactly such a param group; clipping
    comes before, on the loss gradient, as ``clip_grad_norm_`` does. Other optimizers would make it
    a different recipe: refused. Returns ``{}`` when nothing is multiplied.
    """
    t = train_config
    keywords = list(t.nonbackbone_keywords)
    factors = {}
    if keywords:
        _needs_sgd(t, "train.nonbackbone_keywords")
        factors = {v.path: float(t.nonbackbone_mult) for v in variables
                   if any(k in v.path for k in keywords)}
        if not factors:
            raise ConfigError(f"train.nonbackbone_keywords {keywords}: no variable of the model "
                              "matches")
    if t.bias_lr_mult != 1.0:
        _needs_sgd(t, "train.bias_lr_mult")
        for v in variables:
            if _is_bias(v):
                factors[v.path] = factors.get(v.path, 1.0) * float(t.bias_lr_mult)
    return factors


def weight_decay_factors(train_config, variables):
    """{variable path: factor of the weight decay}: ``bias_decay_mult`` for every convolution or
    dense ``bias`` (mmcv ``paramwise_cfg``), ``{}`` when 1."""
    t = train_config
    if t.bias_decay_mult == 1.0:
        return {}
    _needs_sgd(t, "train.bias_decay_mult")
    return {v.path: float(t.bias_decay_mult) for v in variables if _is_bias(v)}


def _is_bias(variable):
    return variable.path.rsplit("/", 1)[-1] == "bias"


def _needs_sgd(train_config, key):
    if train_config.optimizer != "sgd":
        raise ConfigError(f"{key} needs train.optimizer=sgd (the official SGD param groups)")


def build_optimizer(train_config, learning_rate):
    """The Keras optimizer for ``train_config`` (wrapped in ``LossScaleOptimizer`` for float16).

    >>> from hrnet_tf.training.config import TrainConfig
    >>> type(build_optimizer(TrainConfig(optimizer="adamw"), 1e-3)).__name__
    'AdamW'
    """
    t = train_config
    if t.optimizer == "sgd":
        opt = _caller_reduces(TorchSGD)(
            learning_rate=learning_rate, momentum=t.momentum, nesterov=t.nesterov
        )
    elif t.optimizer == "adam":
        opt = _caller_reduces(keras.optimizers.Adam)(
            learning_rate=learning_rate,
            beta_1=t.adam_beta1,
            beta_2=t.adam_beta2,
            epsilon=t.adam_epsilon,
        )
    elif t.optimizer == "adamw":
        opt = _caller_reduces(keras.optimizers.AdamW)(
            learning_rate=learning_rate,
            weight_decay=t.weight_decay,
            beta_1=t.adam_beta1,
            beta_2=t.adam_beta2,
            epsilon=t.adam_epsilon,
        )
    else:
        raise ValueError(f"unknown optimizer {t.optimizer!r}")
    if t.mixed_precision == "float16":
        opt = _caller_reduces(keras.optimizers.LossScaleOptimizer)(opt)
    return opt


def loss_scale(optimizer):
    """The current loss scale (1.0 without float16 loss scaling)."""
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer.dynamic_scale
    return 1.0


__all__ = [
    "TorchSGD",
    "build_optimizer",
    "coupled_weight_decay",
    "learning_rate_multipliers",
    "loss_scale",
    "weight_decay_factors",
]
