"""Convolution and normalization factories shared by every HRNet layer.

Numerics follow the official PyTorch code: every backbone convolution is bias-free, 3x3 convolutions
pad one pixel on *each* side (Keras ``padding="same"`` with stride 2 would pad bottom/right only and
shift converted weights by a pixel), and BatchNorm uses epsilon 1e-5.

``bn_momentum`` is in Keras' convention (weight of the old moving average): PyTorch momentum 0.1
(classification, pose, detection) is 0.9 here, PyTorch 0.01 (official segmentation, landmarks) is 0.99.

Layer names never contain a dot: PyTorch (the Keras torch backend registers every variable as a torch
parameter) rejects dotted names. Instead the layers nest as the official modules do: ``Sequence`` and
``Group`` hold children named "0", "1", ... so that the chain of names from the model down to a
variable spells its official key (``stage2`` > ``0`` > ``fuse_layers`` > ``1`` > ``0`` > ``0``
is ``stage2.0.fuse_layers.1.0.0.weight``).
"""

import warnings

import keras
from keras import layers

from hrnet_tf.layers.batch_norm import BatchNorm

BN_EPSILON = 1e-5


def conv_init():
    """kaiming_normal_(mode="fan_out", nonlinearity="relu"), the official classification init.

    A new instance per layer: a Keras 3 initializer draws from a seed fixed at construction, so one
    shared instance would give every kernel of the same shape the same values.
    """
    return keras.initializers.VarianceScaling(2.0, mode="fan_out", distribution="untruncated_normal")


def batch_norm(name, momentum=0.9, synchronized=False):
    """BatchNormalization with PyTorch's epsilon; ``synchronized`` reduces statistics over replicas."""
    if synchronized and keras.backend.backend() != "tensorflow":
        warnings.warn(
            "synchronized BatchNorm needs the TensorFlow backend (tf.distribute); "
            f"using per-device statistics on {keras.backend.backend()!r}",
            stacklevel=2,
        )
        synchronized = False
    return BatchNorm(
        axis=-1, momentum=momentum, epsilon=BN_EPSILON, synchronized=synchronized, name=name
    )


def conv(filters, kernel_size, name, strides=1, use_bias=False, kernel_initializer=None):
    """A Conv2D; 3x3 kernels with stride 1 use the (symmetric) "same" padding."""
    return layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding="same" if strides == 1 else "valid",
        use_bias=use_bias,
        kernel_initializer=kernel_initializer or conv_init(),
        name=name,
    )


@keras.saving.register_keras_serializable(package="hrnet_tf")
class ConvBN(layers.Layer):
    """Conv (PyTorch padding k//2, bias-free unless asked) -> BN -> optional ReLU.

    Sublayer names are the indices of the official ``nn.Sequential(conv, bn, relu)`` ("0", "1"), so a
    ConvBN named ``transition1.0`` owns the PyTorch keys ``transition1.0.0.weight`` and
    ``transition1.0.1.running_mean``.
    """

    def __init__(
        self,
        filters,
        kernel_size=3,
        strides=1,
        activation=True,
        use_bias=False,
        bn_momentum=0.9,
        sync_bn=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = filters
        self.kernel_size = kernel_size
        self.strides = strides
        self.activation = activation
        self.use_bias = use_bias
        self.bn_momentum = bn_momentum
        self.sync_bn = sync_bn
        pad = kernel_size // 2
        self.pad = layers.ZeroPadding2D(pad) if strides > 1 and pad else None
        self.conv = conv(filters, kernel_size, "0", strides=strides, use_bias=use_bias)
        self.bn = batch_norm("1", bn_momentum, sync_bn)

    # build/compute_output_shape spare Keras from tracing call() symbolically when a functional
    # model is assembled, which dominates the construction time of the large networks.
    def build(self, input_shape):
        if self.pad is not None:
            input_shape = self.pad.compute_output_shape(input_shape)
        self.conv.build(input_shape)
        self.bn.build(self.conv.compute_output_shape(input_shape))

    def compute_output_shape(self, input_shape):
        if self.pad is not None:
            input_shape = self.pad.compute_output_shape(input_shape)
        return self.conv.compute_output_shape(input_shape)

    def call(self, x, training=None):
        if self.pad is not None:
            x = self.pad(x)
        x = self.bn(self.conv(x), training=training)
        return keras.ops.relu(x) if self.activation else x

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            kernel_size=self.kernel_size,
            strides=self.strides,
            activation=self.activation,
            use_bias=self.use_bias,
            bn_momentum=self.bn_momentum,
            sync_bn=self.sync_bn,
        )
        return config


class Group(layers.Layer):
    """Named children without a computation of their own (PyTorch ``nn.ModuleList``).

    The owner builds and calls the members; the group only gives them a place in the name tree.
    Not serialized by itself: the owning layer recreates it from its own config.
    """

    def __init__(self, members, **kwargs):
        super().__init__(**kwargs)
        self.members = list(members)
        self.built = True  # the owner builds every member itself

    def __getitem__(self, index):
        return self.members[index]

    def __len__(self):
        return len(self.members)


class Sequence(Group):
    """Children named "0", "1", ... applied in order (PyTorch ``nn.Sequential``)."""

    def build(self, input_shape):
        for layer in self.members:
            layer.build(input_shape)
            input_shape = layer.compute_output_shape(input_shape)

    def compute_output_shape(self, input_shape):
        for layer in self.members:
            input_shape = layer.compute_output_shape(input_shape)
        return input_shape

    def call(self, x, training=None):
        for layer in self.members:
            x = layer(x, training=training)
        return x
