"""Residual blocks of HRNet: BasicBlock (stages 2-4) and Bottleneck (stage 1, classification head).

Sublayer names are the official attribute names (``conv1``, ``bn1``, ..., ``downsample.0``/``.1``)
so that converted PyTorch state dicts map one to one.
"""

import keras
from keras import layers

from hrnet_tf.errors import ConfigError
from hrnet_tf.layers.common import ConvBN, Sequence, batch_norm, conv


class _ResidualBlock(layers.Layer):
    expansion = 1

    def __init__(self, in_channels, filters, strides=1, bn_momentum=0.9, sync_bn=False, **kwargs):
        super().__init__(**kwargs)
        self.in_channels = in_channels
        self.filters = filters
        self.strides = strides
        self.bn_momentum = bn_momentum
        self.sync_bn = sync_bn
        self.out_channels = filters * self.expansion
        # The official rule: project the identity when the stride or the width changes.
        self.downsample = None
        if strides != 1 or in_channels != self.out_channels:
            self.downsample = ConvBN(
                self.out_channels,
                kernel_size=1,
                strides=strides,
                activation=False,
                bn_momentum=bn_momentum,
                sync_bn=sync_bn,
                name="downsample",
            )

    def _add_conv_bn(self, index, filters, kernel_size, strides=1):
        """Creates ``conv{index}``/``bn{index}`` (and a symmetric pad for a strided 3x3)."""
        pad = layers.ZeroPadding2D(1, name=f"pad{index}") if strides > 1 else None
        setattr(self, f"pad{index}", pad)
        setattr(self, f"conv{index}", conv(filters, kernel_size, f"conv{index}", strides=strides))
        setattr(self, f"bn{index}", batch_norm(f"bn{index}", self.bn_momentum, self.sync_bn))

    def _conv_bn(self, index, x, training):
        pad = getattr(self, f"pad{index}")
        if pad is not None:
            x = pad(x)
        return getattr(self, f"bn{index}")(getattr(self, f"conv{index}")(x), training=training)

    def _units(self):
        index = 1
        while hasattr(self, f"conv{index}"):
            yield (
                getattr(self, f"pad{index}"),
                getattr(self, f"conv{index}"),
                getattr(self, f"bn{index}"),
            )
            index += 1

    def build(self, input_shape):
        shape = input_shape
        for pad, conv_layer, bn in self._units():
            if pad is not None:
                shape = pad.compute_output_shape(shape)
            conv_layer.build(shape)
            shape = conv_layer.compute_output_shape(shape)
            bn.build(shape)
        if self.downsample is not None:
            self.downsample.build(input_shape)

    def compute_output_shape(self, input_shape):
        shape = input_shape
        for pad, conv_layer, _ in self._units():
            if pad is not None:
                shape = pad.compute_output_shape(shape)
            shape = conv_layer.compute_output_shape(shape)
        return shape

    def _shortcut(self, x, training):
        return x if self.downsample is None else self.downsample(x, training=training)

    def get_config(self):
        config = super().get_config()
        config.update(
            in_channels=self.in_channels,
            filters=self.filters,
            strides=self.strides,
            bn_momentum=self.bn_momentum,
            sync_bn=self.sync_bn,
        )
        return config


@keras.saving.register_keras_serializable(package="hrnet_tf")
class BasicBlock(_ResidualBlock):
    """3x3 conv-BN-ReLU, 3x3 conv-BN, add the (projected) input, ReLU."""

    expansion = 1

    def __init__(self, in_channels, filters, strides=1, **kwargs):
        super().__init__(in_channels, filters, strides, **kwargs)
        self._add_conv_bn(1, filters, 3, strides)
        self._add_conv_bn(2, filters, 3)

    def call(self, x, training=None):
        out = keras.ops.relu(self._conv_bn(1, x, training))
        out = self._conv_bn(2, out, training)
        return keras.ops.relu(out + self._shortcut(x, training))


@keras.saving.register_keras_serializable(package="hrnet_tf")
class Bottleneck(_ResidualBlock):
    """1x1 conv-BN-ReLU, 3x3 conv-BN-ReLU (carries the stride), 1x1 conv to 4x width-BN, add, ReLU."""

    expansion = 4

    def __init__(self, in_channels, filters, strides=1, **kwargs):
        super().__init__(in_channels, filters, strides, **kwargs)
        self._add_conv_bn(1, filters, 1)
        self._add_conv_bn(2, filters, 3, strides)
        self._add_conv_bn(3, filters * self.expansion, 1)

    def call(self, x, training=None):
        out = keras.ops.relu(self._conv_bn(1, x, training))
        out = keras.ops.relu(self._conv_bn(2, out, training))
        out = self._conv_bn(3, out, training)
        return keras.ops.relu(out + self._shortcut(x, training))


BLOCKS = {"BASIC": BasicBlock, "BOTTLENECK": Bottleneck}


def block_class(name):
    try:
        return BLOCKS[name.upper()]
    except KeyError:
        raise ConfigError(f"block must be one of {sorted(BLOCKS)}, got {name!r}") from None


@keras.saving.register_keras_serializable(package="hrnet_tf")
class ResidualStack(Sequence):
    """``num_blocks`` residual blocks named "0", "1", ... (official ``layer1``, ``branches.{b}``).

    The first block takes ``in_channels`` and projects its identity when the width changes.
    """

    def __init__(self, block, in_channels, filters, num_blocks, bn_momentum=0.9, sync_bn=False,
                 **kwargs):
        block_cls = block_class(block)
        out_channels = filters * block_cls.expansion
        blocks = [
            block_cls(in_channels if k == 0 else out_channels, filters, bn_momentum=bn_momentum,
                      sync_bn=sync_bn, name=str(k))
            for k in range(num_blocks)
        ]
        super().__init__(blocks, **kwargs)
        self.built = False
        self.block = block
        self.in_channels = in_channels
        self.filters = filters
        self.num_blocks = num_blocks
        self.bn_momentum = bn_momentum
        self.sync_bn = sync_bn

    def get_config(self):
        config = super().get_config()
        config.update(
            block=self.block,
            in_channels=self.in_channels,
            filters=self.filters,
            num_blocks=self.num_blocks,
            bn_momentum=self.bn_momentum,
            sync_bn=self.sync_bn,
        )
        return config
