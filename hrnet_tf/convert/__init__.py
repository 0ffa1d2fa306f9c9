"""Official PyTorch HRNet weights into hrnet_tf models.

    from hrnet_tf.convert import load_torch_state_dict, load_torch_checkpoint
    load_torch_checkpoint(model, "hrnetv2_w18_imagenet_pretrained.pth")

Command line: ``python -m hrnet_tf.convert SRC DST.weights.h5 --model classifier --width 18``.
"""

from hrnet_tf.convert.checkpoints import load_torch_checkpoint, load_weights, read_state_dict
from hrnet_tf.convert.layouts import LAYOUTS, normalize_keys, to_official
from hrnet_tf.convert.torch_weights import (
    LoadReport,
    WeightConversionError,
    keras_to_torch_state_dict,
    load_torch_state_dict,
    torch_variable_map,
)

__all__ = [
    "LAYOUTS",
    "LoadReport",
    "WeightConversionError",
    "keras_to_torch_state_dict",
    "load_torch_checkpoint",
    "load_torch_state_dict",
    "load_weights",
    "normalize_keys",
    "read_state_dict",
    "to_official",
    "torch_variable_map",
]
