"""Key layouts: the state-dict key names of the model zoos that republish HRNet weights, mapped onto
the official ones (the names our layers carry, see :mod:`hrnet_tf.convert.torch_weights`).

Every HRNet trunk in these zoos keeps the official module names (``conv1``, ``bn1``, ``layer1.0``,
``transition1.0.0``, ``stage2.0.branches.0.0``, ``stage4.2.fuse_layers.0.3.0.0``): timm's
``timm/models/hrnet.py`` was copied from HRNet-Image-Classification, and OpenMMLab's ``HRNet``
backbones (mmpose/mmseg/mmdet ``models/backbones/hrnet.py``) name their stem BNs through
``build_norm_layer(..., postfix=1)``, which gives ``bn1``/``bn2`` for BatchNorm and SyncBN alike, and
build the same ``branches``/``fuse_layers`` nesting. They differ in the wrapper prefix
(``backbone.``) and in the heads:

============== ======================================== ==========================================
layout         foreign keys                             official keys
============== ======================================== ==========================================
official       (``module.``/``model.`` prefixes)        as saved by the HRNet repos
timm           same names as official                   (ImageNet classifiers, timm/models/hrnet.py)
mmpose         ``backbone.*``                           trunk keys
(0.x)          ``keypoint_head.final_layer.*``          ``final_layer.*`` (pose: one conv)
               ``keypoint_head.final_layer.{0,1,3}.*``  ``last_layer.{0,1,3}.*`` (face: conv-BN-ReLU-conv)
mmpose1        ``head.final_layer.*``                   ``final_layer.*`` (pose)
(1.x)          ``head.conv_layers.{0,1}.*`` +           ``last_layer.{0,1}.*`` + ``last_layer.3.*``
               ``head.final_layer.*``                   (face; mmpose/models/heads/heatmap_heads)
mmseg_fcn      ``decode_head.convs.0.conv.weight``      ``last_layer.0.weight`` (+ a zero bias)
               ``decode_head.convs.0.bn.*``             ``last_layer.1.*``
               ``decode_head.conv_seg.*``               ``last_layer.3.*``
mmdet          ``neck.reduction_conv.conv.*``           ``neck.reduction_conv.0.*``
               ``neck.fpn_convs.{i}.conv.*`` (v2/v3),   ``neck.fpn_conv.{i}.*``
               ``neck.fpn_conv.{i}.*`` (v1)
               ``bbox_head.fcos_{cls,reg,centerness}.*`` ``bbox_head.conv_{cls,reg,centerness}.*``
               (before v2.5), other ``bbox_head.*``     as they are (FCOSHead)
============== ======================================== ==========================================

mmseg's ``FCNHead`` (``num_convs=1, kernel_size=1, concat_input=False``) is the official
``last_layer`` (1x1 conv, BN, ReLU, classifier conv) except that its ``ConvModule`` has no conv bias
(``bias='auto'`` is off before a norm), so the converted ``last_layer.0`` gets a zero bias: the same
function. The mmdet layout maps the trunk, the HRFPN neck and the FCOS head (``bbox_head.*``, the
names of :class:`hrnet_tf.models.fcos.FCOSHead`).

    >>> import numpy as np
    >>> state = {"backbone.conv1.weight": np.zeros((64, 3, 3, 3)),
    ...          "keypoint_head.final_layer.bias": np.zeros(17)}
    >>> sorted(to_official(state, "mmpose"))
    ['conv1.weight', 'final_layer.bias']
"""

import re
from dataclasses import dataclass, field

import numpy as np

from hrnet_tf.errors import ModelFileError

# Keys the official training wrappers save beside the network (e.g. segmentation's FullModel keeps the
# class-weight buffer of its criterion as ``loss.criterion.weight``).
NON_MODEL_PREFIXES = ("loss.",)
WRAPPER_PREFIXES = ("module.", "model.")
NESTED_STATE_KEYS = ("state_dict", "model", "state_dict_ema", "model_ema")


def normalize_keys(state_dict):
    """Strips the wrappers of the official training code: DataParallel's ``module.``, segmentation's
    ``model.`` (dropping the criterion's buffers), and a detector's ``backbone.`` (``neck.`` stays)."""
    state = dict(state_dict)
    for prefix in WRAPPER_PREFIXES:
        if state and all(k.startswith(prefix) or k.startswith(NON_MODEL_PREFIXES) for k in state):
            state = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    if any(k.startswith("backbone.") for k in state):
        state = {k.removeprefix("backbone."): v for k, v in state.items()}
    return state


def _strip_wrappers(state_dict):
    return normalize_keys(state_dict)


def _rename(state_dict, rules):
    """Applies the first matching ``(regex, replacement)`` of ``rules`` to every key."""
    out = {}
    for key, value in state_dict.items():
        new = key
        for pattern, replacement in rules:
            if re.match(pattern, key):
                new = re.sub(pattern, replacement, key)
                break
        if new in out:
            raise ModelFileError(f"two checkpoint keys map to {new!r} (the second is {key!r})")
        out[new] = value
    return out


def official_layout(state_dict):
    """The HRNet repos' own checkpoints: only the training wrappers' prefixes are stripped, and the
    face models' ``head.{0,1,3}`` (HRNet-Facial-Landmark-Detection lib/models/hrnet.py) become
    ``last_layer.{0,1,3}``, the same conv-BN-ReLU-conv as segmentation's head."""
    state = _strip_wrappers(state_dict)
    if any(k.startswith("head.") for k in state):
        state = _rename(state, [(r"^head\.([013])\.", r"last_layer.\1.")])
    return state


def timm_layout(state_dict):
    """timm keeps the official module names (timm/models/hrnet.py, copied from
    HRNet-Image-Classification; checked by tests/models/test_parity.py), so only wrappers go."""
    return _strip_wrappers(state_dict)


def mmpose_layout(state_dict):
    """mmpose 0.x ``TopDown``: ``backbone.`` + ``keypoint_head.final_layer`` (TopdownHeatmapSimpleHead
    with ``num_deconv_layers=0``: one conv for pose; conv-BN-ReLU-conv, i.e. ``final_layer.{0,1,3}``,
    for the face models with ``extra=dict(num_conv_layers=1)``)."""
    state = _strip_wrappers(state_dict)
    return _rename(state, [
        (r"^keypoint_head\.final_layer\.(\d+)\.", r"last_layer.\1."),
        (r"^keypoint_head\.final_layer\.", "final_layer."),
    ])


def mmpose1_layout(state_dict):
    """mmpose 1.x ``TopdownPoseEstimator``: ``backbone.`` + ``head.`` (HeatmapHead): pose keeps one
    ``final_layer`` conv; the face models put conv-BN in ``conv_layers.{0,1}`` before it."""
    state = _strip_wrappers(state_dict)
    face = any(k.startswith("head.conv_layers.") for k in state)
    return _rename(state, [
        (r"^head\.conv_layers\.([01])\.", r"last_layer.\1."),
        (r"^head\.final_layer\.", "last_layer.3." if face else "final_layer."),
    ])


def mmseg_fcn_layout(state_dict):
    """mmseg ``EncoderDecoder`` with ``FCNHead`` (configs/_base_/models/fcn_hr18.py): the decode head
    becomes ``last_layer``; its bias-free first conv gets a zero bias."""
    state = _rename(_strip_wrappers(state_dict), [
        (r"^decode_head\.convs\.0\.conv\.", "last_layer.0."),
        (r"^decode_head\.convs\.0\.bn\.", "last_layer.1."),
        (r"^decode_head\.conv_seg\.", "last_layer.3."),
    ])
    weight = state.get("last_layer.0.weight")
    if weight is not None and "last_layer.0.bias" not in state:
        state["last_layer.0.bias"] = np.zeros(np.shape(weight)[0], np.float32)
    return state


MMDET_RULES = [
    (r"^neck\.reduction_conv\.conv\.", "neck.reduction_conv.0."),
    (r"^neck\.fpn_convs\.(\d+)\.conv\.", r"neck.fpn_conv.\1."),
    # FCOSHead before mmdet v2.5 named its predictors fcos_{cls,reg,centerness}; mmdet's own
    # AnchorFreeHead._load_from_state_dict renames them so (anchor_free_head.py).
    (r"^bbox_head\.fcos_(cls|reg|centerness)\.", r"bbox_head.conv_\1."),
]


def mmdet_layout(state_dict):
    """mmdet detectors on HRNetV2p: ``backbone.`` + the HRFPN neck's ConvModules (v2/v3
    ``fpn_convs.{i}.conv``, v1 ``fpn_conv.{i}``) + the FCOS head, whose names (``bbox_head.cls_convs.
    {i}.conv/gn``, ``conv_cls``, ``conv_reg``, ``conv_centerness``, ``scales.{i}.scale``) are the
    ones :class:`hrnet_tf.models.fcos.FCOSHead` carries."""
    return _rename(_strip_wrappers(state_dict), MMDET_RULES)


def detector_keys(state_dict):
    """``state_dict`` as :func:`load_torch_state_dict` takes it: unchanged unless it is a detector's
    (``backbone.*`` and ``neck.*`` keys), whose ``backbone.`` prefix is dropped and whose mmdet
    neck/head names become the official ones (the mmdet layout)."""
    if not any(str(k).startswith(("neck.", "bbox_head.")) for k in state_dict):
        return state_dict
    return mmdet_layout(state_dict)


@dataclass(frozen=True)
class KeyLayout:
    """A model zoo's key names: ``convert`` maps its state dict onto the official keys."""

    name: str
    convert: object
    source: str
    families: tuple = field(default=())
    complete: bool = True  # False: some keys (a head we do not build yet) stay unmapped


LAYOUTS = {
    "official": KeyLayout(
        "official", official_layout,
        "HRNet/HRNet-Image-Classification, deep-high-resolution-net.pytorch, HRNet-Semantic-Segmentation",
        ("conv1.*", "layer1.*", "stage4.*", "final_layer.*", "last_layer.*", "head.*"),
    ),
    "timm": KeyLayout(
        "timm", timm_layout, "huggingface/pytorch-image-models timm/models/hrnet.py",
        ("conv1.*", "incre_modules.*", "downsamp_modules.*", "final_layer.*", "classifier.*"),
    ),
    "mmpose": KeyLayout(
        "mmpose", mmpose_layout,
        "open-mmlab/mmpose 0.x mmpose/models/heads/topdown_heatmap_simple_head.py",
        ("backbone.*", "keypoint_head.final_layer.*"),
    ),
    "mmpose1": KeyLayout(
        "mmpose1", mmpose1_layout, "open-mmlab/mmpose 1.x mmpose/models/heads/heatmap_heads/heatmap_head.py",
        ("backbone.*", "head.final_layer.*", "head.conv_layers.*"),
    ),
    "mmseg_fcn": KeyLayout(
        "mmseg_fcn", mmseg_fcn_layout, "open-mmlab/mmsegmentation mmseg/models/decode_heads/fcn_head.py",
        ("backbone.*", "decode_head.convs.0.conv.*", "decode_head.convs.0.bn.*", "decode_head.conv_seg.*"),
    ),
    "mmdet": KeyLayout(
        "mmdet", mmdet_layout, "open-mmlab/mmdetection mmdet/models/necks/hrfpn.py, dense_heads/fcos_head.py",
        ("backbone.*", "neck.reduction_conv.conv.*", "neck.fpn_convs.{i}.conv.*", "bbox_head.cls_convs.*",
         "bbox_head.reg_convs.*", "bbox_head.conv_cls.*", "bbox_head.conv_reg.*",
         "bbox_head.conv_centerness.*", "bbox_head.scales.{i}.scale"),
    ),
}


def to_official(state_dict, layout="official"):
    """``state_dict`` in ``layout``'s key names -> official key names (values untouched)."""
    try:
        entry = LAYOUTS[layout]
    except KeyError:
        raise ModelFileError(f"unknown key layout {layout!r}; choose one of {sorted(LAYOUTS)}") from None
    return entry.convert(dict(state_dict))


def reverse_input_channels(state_dict, key="conv1.weight"):
    """A BGR-input checkpoint as an RGB one: reverses the input-channel axis of the first conv
    (OIHW). With the mean/std reversed too (mmdet's BGR ImageNet statistics are torchvision's RGB
    ones, reversed), the network then takes our RGB ImageNet-normalized input."""
    state = dict(state_dict)
    if key not in state:
        raise ModelFileError(f"cannot reverse the input channels: no {key!r} in the checkpoint")
    state[key] = np.ascontiguousarray(np.asarray(state[key])[:, ::-1])
    return state


__all__ = ["LAYOUTS", "KeyLayout", "detector_keys", "normalize_keys", "reverse_input_channels",
           "to_official"]
