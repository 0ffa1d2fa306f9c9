"""Official PyTorch HRNet weights into hrnet_tf models, by module path.

Every weighted Keras layer in our models is named after its official PyTorch module (``conv1``,
``layer1.0`` > ``conv1``, ``stage4.2`` > ``fuse_layers`` > ``0.3.0.0``), so the PyTorch key of a
variable is the dotted path of layer names plus the parameter name. No torch import is needed here:
values may be numpy arrays, torch tensors or anything ``np.asarray`` understands.
"""

from dataclasses import dataclass, field

import keras
import numpy as np

from hrnet_tf.errors import ModelFileError

# PyTorch buffers that carry no model state we need.
IGNORED_SUFFIXES = ("num_batches_tracked",)


class WeightConversionError(ModelFileError):
    """The state dict does not fit the model; the message lists every offending key, ``report``
    (a :class:`LoadReport`, None for a model that cannot be mapped at all) holds them."""

    def __init__(self, message, report=None):
        super().__init__(message)
        self.report = report


@dataclass
class LoadReport:
    loaded: list = field(default_factory=list)
    missing: list = field(default_factory=list)
    unexpected: list = field(default_factory=list)
    mismatched: list = field(default_factory=list)  # (key, torch shape, expected torch shape)

    @property
    def ok(self):
        return not (self.missing or self.unexpected or self.mismatched)

    def describe(self):
        lines = [f"loaded {len(self.loaded)} tensors"]
        if self.missing:
            lines.append(f"missing ({len(self.missing)}): " + ", ".join(self.missing))
        if self.unexpected:
            lines.append(f"unexpected ({len(self.unexpected)}): " + ", ".join(self.unexpected))
        for key, got, want in self.mismatched:
            lines.append(f"shape mismatch: {key}: checkpoint {got}, model expects {want}")
        return "\n".join(lines)

    def summary(self):
        """One line: how many keys of each kind failed, and the first of them.

        >>> LoadReport(missing=["a.weight"], mismatched=[("b.bias", (3,), (4,))]).summary()
        '1 missing, 1 shape mismatch; first: b.bias: checkpoint (3,), model expects (4,)'
        """
        counts = [(len(self.missing), "missing"), (len(self.unexpected), "unexpected"),
                  (len(self.mismatched), "shape mismatch")]
        text = ", ".join(f"{n} {kind}" for n, kind in counts if n) or "all keys fit"
        if self.mismatched:
            key, got, want = self.mismatched[0]
            text += f"; first: {key}: checkpoint {got}, model expects {want}"
        elif self.missing or self.unexpected:
            kind, key = ("missing", self.missing[0]) if self.missing else ("unexpected", self.unexpected[0])
            text += f"; first {kind}: {key}"
        return text


def _children(layer):
    return layer._flatten_layers(include_self=False, recursive=False)


def _torch_params(layer):
    """(parameter name, keras variable, keras->torch layout transform) for one weighted layer."""
    if isinstance(layer, keras.layers.BatchNormalization):
        return [
            ("weight", layer.gamma, None),
            ("bias", layer.beta, None),
            ("running_mean", layer.moving_mean, None),
            ("running_var", layer.moving_variance, None),
        ]
    if isinstance(layer, keras.layers.DepthwiseConv2D):  # (kh, kw, C, 1) <-> (C, 1, kh, kw)
        out = [("weight", layer.kernel, (2, 3, 0, 1))]
        if layer.use_bias:
            out.append(("bias", layer.bias, None))
        return out
    if isinstance(layer, keras.layers.Conv2D):
        out = [("weight", layer.kernel, (3, 2, 0, 1))]  # HWIO <-> OIHW
        if layer.use_bias:
            out.append(("bias", layer.bias, None))
        return out
    if isinstance(layer, keras.layers.GroupNormalization):  # torch.nn.GroupNorm (FCOS head)
        return [("weight", layer.gamma, None), ("bias", layer.beta, None)]
    if hasattr(layer, "torch_parameters"):  # a layer that names its own (e.g. mmcv's Scale)
        return list(layer.torch_parameters())
    if isinstance(layer, keras.layers.Dense):
        out = [("weight", layer.kernel, (1, 0))]
        if layer.use_bias:
            out.append(("bias", layer.bias, None))
        return out
    if layer.weights and not _children(layer):
        raise WeightConversionError(
            f"layer {layer.name!r} ({type(layer).__name__}) has weights but no PyTorch mapping"
        )
    return []


def torch_variable_map(model):
    """``{pytorch key: (keras variable, axes permutation keras->torch or None)}`` for ``model``."""
    mapping = {}

    def visit(layer, prefix):
        path = f"{prefix}.{layer.name}" if prefix else layer.name
        for param, variable, perm in _torch_params(layer):
            key = f"{path}.{param}"
            if key in mapping:
                raise WeightConversionError(f"two variables map to the PyTorch key {key!r}")
            mapping[key] = (variable, perm)
        for child in _children(layer):
            visit(child, path)

    for layer in model.layers:
        visit(layer, "")
    return mapping


def _to_numpy(value):
    if hasattr(value, "detach"):  # torch.Tensor, without importing torch
        value = value.detach().cpu()
        if str(value.dtype) in ("torch.bfloat16", "torch.float16"):
            value = value.float()
        value = value.numpy()
    return np.asarray(value)


def _torch_shape(variable, perm):
    shape = tuple(variable.shape)
    return shape if perm is None else tuple(shape[p] for p in perm)


def load_torch_state_dict(model, state_dict, strict=True):
    """Copies an official PyTorch ``state_dict`` (key -> array/tensor) into ``model``.

    Strict by default: any missing, unexpected or shape-mismatched key raises
    `WeightConversionError` naming all of them (with both shapes), and nothing is assigned.
    With ``strict=False`` the matching tensors are loaded and the rest reported in the returned
    `LoadReport` (e.g. ImageNet weights into a pose model, as the official pose training does).

    A detector's state dict loads as saved: its ``backbone.`` prefix is dropped and mmdetection's
    neck/head names (``neck.reduction_conv.conv``, ``neck.fpn_convs.{i}.conv``, ``bbox_head.fcos_*``)
    become the official ones (:func:`hrnet_tf.convert.layouts.detector_keys`).

    Example:
        >>> import hrnet_tf
        >>> model = hrnet_tf.HRNetClassifier(width=18)
        >>> import torch  # doctest: +SKIP
        >>> state = torch.load("hrnetv2_w18_imagenet_pretrained.pth", weights_only=True)  # doctest: +SKIP
        >>> load_torch_state_dict(model, state)  # doctest: +SKIP
    """
    from hrnet_tf.convert.layouts import detector_keys

    state_dict = detector_keys(state_dict)
    mapping = torch_variable_map(model)
    report = LoadReport()
    assignments = []
    for key, value in state_dict.items():
        if key.endswith(IGNORED_SUFFIXES):
            continue
        if key not in mapping:
            report.unexpected.append(key)
            continue
        variable, perm = mapping[key]
        array = _to_numpy(value)
        want = _torch_shape(variable, perm)
        if tuple(array.shape) != want:
            report.mismatched.append((key, tuple(array.shape), want))
            continue
        if perm is not None:
            inverse = tuple(int(i) for i in np.argsort(perm))
            array = np.transpose(array, inverse)
        assignments.append((key, variable, array))
    report.missing = sorted(set(mapping) - set(state_dict))
    if strict and not report.ok:
        raise WeightConversionError(
            f"state dict does not fit model {model.name!r}:\n{report.describe()}", report
        )
    for key, variable, array in assignments:
        # reshape: ascontiguousarray makes 0-d arrays (mmcv ``Scale``) 1-d
        variable.assign(np.ascontiguousarray(array, dtype=variable.dtype).reshape(variable.shape))
        report.loaded.append(key)
    return report


def keras_to_torch_state_dict(model):
    """The inverse mapping: numpy arrays under official PyTorch keys (for parity checks and export)."""
    out = {}
    for key, (variable, perm) in torch_variable_map(model).items():
        array = keras.ops.convert_to_numpy(variable)
        out[key] = array if perm is None else np.transpose(array, perm)
    return out
