"""Pretrained presets: ``weights="<name>"`` for the published HRNet checkpoints.

    import hrnet_tf, hrnet_tf.presets
    model = hrnet_tf.HRNetV1(width=32, weights="hrnet_w32_coco_256x192")     # COCO pose, mmpose
    model = hrnet_tf.from_preset("hrnet_w48_cityscapes_fcn")                 # builds the right network
    hrnet_tf.load_weights(pose_model, "hrnet_w32_imagenet", strict=False)    # ImageNet trunk only

The first use downloads the checkpoint into ``$KERAS_HOME/hrnet_tf`` (verified by its hash before
it is kept), converts it with its key layout and caches the converted ``.weights.h5``; later loads
need neither torch nor the network. ``HRNET_TF_WEIGHTS_URL`` points every download at a mirror,
``HRNET_TF_OFFLINE=1`` forbids downloading. ``python -m hrnet_tf.presets`` prints the table
(``--json`` as JSON); docs/presets.md has it with sources and evaluation commands.

    >>> "hrnet_w18_imagenet" in PRESETS
    True
"""

from hrnet_tf.models.hrnet import from_preset
from hrnet_tf.presets.table import PRESETS, TASKS, Preset
from hrnet_tf.presets.weights import (
    build_preset_model,
    converted_path,
    get_preset,
    is_preset_name,
    load_preset,
)

__all__ = [
    "PRESETS",
    "TASKS",
    "Preset",
    "build_preset_model",
    "converted_path",
    "from_preset",
    "get_preset",
    "is_preset_name",
    "load_preset",
]
