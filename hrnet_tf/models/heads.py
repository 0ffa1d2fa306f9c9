"""Task heads on top of the HRNet trunk, with the official layer names."""

import keras
from keras import layers, ops

from hrnet_tf.errors import ConfigError
from hrnet_tf.layers.blocks import Bottleneck
from hrnet_tf.layers.common import ConvBN, Group, Sequence, batch_norm, conv_init
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


@keras.saving.register_keras_serializable(package="hrnet_tf")
class SegmentationHead(layers.Layer):
    """``last_layer``: 1x1 conv-BN-ReLU at full concat width (children ``0``, ``1``), then a conv to
    class logits (``3``); the official ``nn.Sequential(conv, bn, relu, conv)``."""

    def __init__(self, in_channels, num_classes, final_conv_kernel=1, bn_momentum=0.99, sync_bn=False,
                 **kwargs):
        super().__init__(**kwargs)
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.final_conv_kernel = final_conv_kernel
        self.bn_momentum = bn_momentum
        self.sync_bn = sync_bn
        self.conv = layers.Conv2D(in_channels, 1, kernel_initializer=head_init(), name="0")
        self.bn = batch_norm("1", bn_momentum, sync_bn)
        self.classifier = layers.Conv2D(
            num_classes, final_conv_kernel, padding="same", kernel_initializer=head_init(), name="3"
        )

    def build(self, input_shape):
        self.conv.build(input_shape)
        self.bn.build(input_shape)
        self.classifier.build(input_shape)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.num_classes)

    def call(self, x, training=None):
        x = ops.relu(self.bn(self.conv(x), training=training))
        return self.classifier(x)

    def get_config(self):
        config = super().get_config()
        config.update(
            in_channels=self.in_channels,
            num_classes=self.num_classes,
            final_conv_kernel=self.final_conv_kernel,
            bn_momentum=self.bn_momentum,
            sync_bn=self.sync_bn,
        )
        return config


CLASSIFIER_HEAD_CHANNELS = (32, 64, 128, 256)


@keras.saving.register_keras_serializable(package="hrnet_tf")
class IncreModules(layers.Layer):
    """HRNet-Wxx-C's ``incre_modules``: one Bottleneck per branch (``i`` > ``0``), widening branch i
    to ``4 * CLASSIFIER_HEAD_CHANNELS[i]``."""

    def __init__(self, in_channels, bn_momentum=0.9, sync_bn=False, **kwargs):
        super().__init__(**kwargs)
        self.in_channels = list(in_channels)
        self.bn_momentum = bn_momentum
        self.sync_bn = sync_bn
        norm = {"bn_momentum": bn_momentum, "sync_bn": sync_bn}
        self.branches = [
            Sequence([Bottleneck(cin, ch, name="0", **norm)], name=str(i))
            for i, (cin, ch) in enumerate(zip(self.in_channels, CLASSIFIER_HEAD_CHANNELS, strict=True))
        ]

    def build(self, input_shape):
        for branch, shape in zip(self.branches, list(input_shape), strict=True):
            branch.build(shape)

    def compute_output_shape(self, input_shape):
        return [
            tuple(branch.compute_output_shape(shape))
            for branch, shape in zip(self.branches, list(input_shape), strict=True)
        ]

    def call(self, inputs, training=None):
        return [
            branch(x, training=training) for branch, x in zip(self.branches, list(inputs), strict=True)
        ]

    def get_config(self):
        config = super().get_config()
        config.update(in_channels=self.in_channels, bn_momentum=self.bn_momentum, sync_bn=self.sync_bn)
        return config


@keras.saving.register_keras_serializable(package="hrnet_tf")
class DownsampleMerge(layers.Layer):
    """HRNet-Wxx-C's ``downsamp_modules``: merges the widened branches from high to low resolution,
    ``y = branch[i + 1] + ConvBN_i(y)`` with stride-2 3x3 conv-BN-ReLU units (children ``i``)."""

    def __init__(self, use_bias=True, bn_momentum=0.9, sync_bn=False, **kwargs):
        super().__init__(**kwargs)
        self.use_bias = use_bias
        self.bn_momentum = bn_momentum
        self.sync_bn = sync_bn
        self.units = [
            ConvBN(CLASSIFIER_HEAD_CHANNELS[i + 1] * Bottleneck.expansion, 3, 2, use_bias=use_bias,
                   bn_momentum=bn_momentum, sync_bn=sync_bn, name=str(i))
            for i in range(len(CLASSIFIER_HEAD_CHANNELS) - 1)
        ]

    def build(self, input_shape):
        for unit, shape in zip(self.units, list(input_shape)[:-1], strict=True):
            unit.build(shape)

    def compute_output_shape(self, input_shape):
        return tuple(list(input_shape)[-1])

    def call(self, inputs, training=None):
        inputs = list(inputs)
        y = inputs[0]
        for unit, x in zip(self.units, inputs[1:], strict=True):
            y = x + unit(y, training=training)
        return y

    def get_config(self):
        config = super().get_config()
        config.update(use_bias=self.use_bias, bn_momentum=self.bn_momentum, sync_bn=self.sync_bn)
        return config


def classification_head(
    features, num_classes, *, head_conv_bias=True, bn_momentum=0.9, sync_bn=False, pooling=True
):
    """HRNet-Wxx-C: per-branch Bottleneck (``incre_modules``), stride-2 merging from high to low
    resolution (``downsamp_modules``), 1x1 conv to 2048 (``final_layer``), global pool, ``classifier``.
    """
    norm = {"bn_momentum": bn_momentum, "sync_bn": sync_bn}
    widened = IncreModules([f.shape[-1] for f in features], name="incre_modules", **norm)(features)
    y = DownsampleMerge(head_conv_bias, name="downsamp_modules", **norm)(widened)
    y = ConvBN(2048, 1, 1, use_bias=head_conv_bias, name="final_layer", **norm)(y)
    if not pooling:
        return y
    y = layers.GlobalAveragePooling2D(name="avg_pool")(y)
    if num_classes is None:
        return y
    return layers.Dense(num_classes, name="classifier")(y)


@keras.saving.register_keras_serializable(package="hrnet_tf")
class HRFPN(layers.Layer):
    """HRNetV2p's neck (official HRNet-Object-Detection ``mmdet/models/necks/hrfpn.py``).

    Upsample branches to stride 4 (bilinear, align_corners False) and concatenate, 1x1 conv to
    ``out_channels`` (``reduction_conv`` > ``0``), pool by 1, 2, 4, 8, 16 (average, or max), and a 3x3
    conv per level (``fpn_conv`` > ``i``). ``stride`` is the stride of those 3x3 convs (mmdetection's
    ``HRFPN(stride=...)``, open-mmlab/mmdetection ``mmdet/models/necks/hrfpn.py``): 1 gives "P2".."P6"
    (strides 4 to 64, the official repo and the R-CNN configs), 2 gives "P3".."P7" (strides 8 to 128,
    the FCOS configs); a stride-2 conv pads one pixel on each side, as PyTorch's ``padding=1``.
    """

    def __init__(self, out_channels=256, num_outs=5, pooling="avg", stride=1, **kwargs):
        super().__init__(**kwargs)
        self.out_channels = out_channels
        self.num_outs = num_outs
        self.pooling = pooling.lower()
        self.stride = int(stride)
        if self.pooling not in ("avg", "max"):
            raise ConfigError(f"HRFPN pooling must be 'avg' or 'max', got {pooling!r}")
        if self.stride not in (1, 2):
            raise ConfigError(f"HRFPN stride must be 1 (P2-P6) or 2 (P3-P7), got {stride!r}")
        self.concat = UpsampleConcat("bilinear", name="concat")
        self.reduction_conv = Sequence(
            [layers.Conv2D(out_channels, 1, kernel_initializer=conv_init(), name="0")],
            name="reduction_conv",
        )
        pool = layers.AveragePooling2D if self.pooling == "avg" else layers.MaxPooling2D
        self.pools = [pool(2**i, strides=2**i, name=f"pool{i}") for i in range(1, num_outs)]
        self.fpn_conv = Group(
            [
                layers.Conv2D(out_channels, 3, strides=self.stride,
                              padding="same" if self.stride == 1 else "valid",
                              kernel_initializer=conv_init(), name=str(i))
                for i in range(num_outs)
            ],
            name="fpn_conv",
        )

    @property
    def first_level(self):
        """The pyramid level of the first output: 2 (stride 4) or 3 (stride 8)."""
        return 2 if self.stride == 1 else 3

    def level_names(self):
        return [f"P{self.first_level + i}" for i in range(self.num_outs)]

    def build(self, input_shape):
        shape = self.concat.compute_output_shape(input_shape)
        self.reduction_conv.build(shape)
        shape = self.reduction_conv.compute_output_shape(shape)
        for conv in self.fpn_conv:
            conv.build(shape)

    def compute_output_shape(self, input_shape):
        height, width = tuple(input_shape)[0][1:3]

        def size(n, factor):
            if n is None:
                return None
            n //= factor  # average pooling, floor
            return n if self.stride == 1 else (n + 1) // 2  # 3x3 conv, stride 2, padding 1

        return {
            name: (input_shape[0][0], size(height, 2**i), size(width, 2**i), self.out_channels)
            for i, name in enumerate(self.level_names())
        }

    def call(self, inputs):
        out = self.reduction_conv(self.concat(inputs))
        levels = [out] + [pool(out) for pool in self.pools]
        pad = [[0, 0], [1, 1], [1, 1], [0, 0]]
        return {
            name: conv(level if self.stride == 1 else ops.pad(level, pad))
            for name, conv, level in zip(self.level_names(), self.fpn_conv, levels, strict=True)
        }

    def get_config(self):
        return {
            **super().get_config(),
            "out_channels": self.out_channels,
            "num_outs": self.num_outs,
            "pooling": self.pooling,
            "stride": self.stride,
        }
