"""HRNet building blocks as serializable Keras 3 layers."""

from hrnet_tf.layers.blocks import BasicBlock, Bottleneck, block_class
from hrnet_tf.layers.common import ConvBN, batch_norm
from hrnet_tf.layers.hr_module import FuseLayer, HighResolutionModule, TransitionLayer
from hrnet_tf.layers.resize import RESIZE_METHODS, repeat_pixels, resize, upsample

__all__ = [
    "RESIZE_METHODS",
    "BasicBlock",
    "Bottleneck",
    "ConvBN",
    "FuseLayer",
    "HighResolutionModule",
    "TransitionLayer",
    "batch_norm",
    "block_class",
    "repeat_pixels",
    "resize",
    "upsample",
]
