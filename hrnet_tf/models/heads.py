"""Task heads on top of the HRNet trunk, with the official layer names."""

import keras
from keras import layers, ops

from hrnet_tf.layers.blocks import Bottleneck
from hrnet_tf.layers.common import ConvBN, batch_norm, conv_init
from hrnet_tf.layers.resize import check_method, upsample


def head_init():
    """Official pose/segmentation heads start from N(0, 0.001) weights (and zero bias); a new
    instance per layer, as with :func:`hrnet_tf.layers.common.conv_init`."""
    return keras.initializers.RandomNormal(stddev=0.001)


@keras.saving.register_keras_serializable(package="hrnet_tf")
class UpsampleConcat(layers.Layer):
    """HRNetV2's representation: upsample every branch to the first one's size and concatenate."""

    def __init__(self, method="bilinear", **kwargs):
        super().__init__(**kwargs)
        self.method = check_method(method)

    def compute_output_shape(self, input_shape):
        input_shape = list(input_shape)
        channels = sum(shape[-1] for shape in input_shape)
        return (*input_shape[0][:-1], channels)

    def call(self, inputs):
        inputs = list(inputs)
        target = inputs[0]
        ups = [target] + [upsample(x, None, self.method, target=target) for x in inputs[1:]]
        return ops.concatenate(ups, axis=-1)

    def get_config(self):
        return {**super().get_config(), "method": self.method}


def pose_head(x, num_outputs, final_conv_kernel=1):
    """``final_layer``: one conv from the stride-4 branch to per-joint heatmaps (no BN, no ReLU)."""
    return layers.Conv2D(
        num_outputs,
        final_conv_kernel,
        padding="same",
        kernel_initializer=head_init(),
        name="final_layer",
    )(x)


def segmentation_head(x, num_classes, bn_momentum=0.99, sync_bn=False, final_conv_kernel=1):
    """``last_layer``: 1x1 conv-BN-ReLU at full concat width, then a conv to class logits."""
    width = x.shape[-1]
    x = layers.Conv2D(width, 1, kernel_initializer=head_init(), name="last_layer.0")(x)
    x = batch_norm("last_layer.1", bn_momentum, sync_bn)(x)
    x = layers.ReLU(name="last_layer.2")(x)
    return layers.Conv2D(
        num_classes,
        final_conv_kernel,
        padding="same",
        kernel_initializer=head_init(),
        name="last_layer.3",
    )(x)


CLASSIFIER_HEAD_CHANNELS = (32, 64, 128, 256)


def classification_head(
    features, num_classes, *, head_conv_bias=True, bn_momentum=0.9, sync_bn=False, pooling=True
):
    """HRNet-Wxx-C: per-branch Bottleneck (``incre_modules``), stride-2 merging from high to low
    resolution (``downsamp_modules``), 1x1 conv to 2048 (``final_layer``), global pool, ``classifier``.
    """
    norm = {"bn_momentum": bn_momentum, "sync_bn": sync_bn}
    incre = [
        Bottleneck(f.shape[-1], ch, name=f"incre_modules.{i}.0", **norm)(f)
        for i, (f, ch) in enumerate(zip(features, CLASSIFIER_HEAD_CHANNELS, strict=True))
    ]
    y = incre[0]
    for i in range(len(incre) - 1):
        out_ch = CLASSIFIER_HEAD_CHANNELS[i + 1] * Bottleneck.expansion
        down = ConvBN(out_ch, 3, 2, use_bias=head_conv_bias, name=f"downsamp_modules.{i}", **norm)
        y = layers.Add(name=f"head_merge{i + 1}")([incre[i + 1], down(y)])
    y = ConvBN(2048, 1, 1, use_bias=head_conv_bias, name="final_layer", **norm)(y)
    if not pooling:
        return y
    y = layers.GlobalAveragePooling2D(name="avg_pool")(y)
    if num_classes is None:
        return y
    return layers.Dense(num_classes, name="classifier")(y)


@keras.saving.register_keras_serializable(package="hrnet_tf")
class HRFPN(layers.Layer):
    """HRNetV2p's neck (official HRNet-Object-Detection ``HRFPN``).

    Upsample branches to stride 4 (bilinear) and concatenate, 1x1 conv to ``out_channels``
    (``reduction_conv.0``), pool by 1, 2, 4, 8, 16 (average, or max), and a 3x3 conv per level
    (``fpn_convs.i``). Returns a dict "P2".."P6" (strides 4 to 64).
    """

    def __init__(self, out_channels=256, num_outs=5, pooling="avg", **kwargs):
        super().__init__(**kwargs)
        self.out_channels = out_channels
        self.num_outs = num_outs
        self.pooling = pooling.lower()
        if self.pooling not in ("avg", "max"):
            raise ValueError(f"HRFPN pooling must be 'avg' or 'max', got {pooling!r}")
        self.concat = UpsampleConcat("bilinear", name="concat")
        self.reduction_conv = layers.Conv2D(
            out_channels, 1, kernel_initializer=conv_init(), name="reduction_conv.0"
        )
        pool = layers.AveragePooling2D if self.pooling == "avg" else layers.MaxPooling2D
        self.pools = [pool(2**i, strides=2**i, name=f"pool{i}") for i in range(1, num_outs)]
        self.fpn_convs = [
            layers.Conv2D(
                out_channels, 3, padding="same", kernel_initializer=conv_init(), name=f"fpn_convs.{i}"
            )
            for i in range(num_outs)
        ]

    def call(self, inputs):
        out = self.reduction_conv(self.concat(inputs))
        levels = [out] + [pool(out) for pool in self.pools]
        return {
            f"P{i + 2}": conv(level)
            for i, (conv, level) in enumerate(zip(self.fpn_convs, levels, strict=True))
        }

    def get_config(self):
        return {
            **super().get_config(),
            "out_channels": self.out_channels,
            "num_outs": self.num_outs,
            "pooling": self.pooling,
        }
