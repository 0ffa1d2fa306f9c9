"""The multi-resolution parts of HRNet: transitions, fusion, the HighResolutionModule and a stage.

Each layer takes and returns a *list* of NHWC tensors, highest resolution first (strides 4, 8, 16, 32).
Children nest as the official PyTorch modules do (``stage2`` > ``0`` > ``fuse_layers`` > ``1`` > ``0``
> ``0``), so the chain of layer names is the official key, which is all `hrnet_tf.convert` needs.
"""

import keras
from keras import layers, ops

from hrnet_tf.layers.blocks import ResidualStack, block_class
from hrnet_tf.layers.common import ConvBN, Group, Sequence
from hrnet_tf.layers.resize import check_method, upsample


def _build_chain(chain, shape, build):
    """Output shape of ``chain`` (a layer or None for the identity), building it on the way."""
    if chain is None:
        return tuple(shape)
    if build:
        chain.build(shape)
    return tuple(chain.compute_output_shape(shape))


@keras.saving.register_keras_serializable(package="hrnet_tf")
class TransitionLayer(layers.Layer):
    """Adapts the branch list of one stage to the next stage (``transition1``..``transition3``).

    An existing branch passes through, or through a 3x3 conv-BN-ReLU (child ``i``) where its width
    changes. Each new, lower-resolution branch is a chain (child ``i`` > ``0``, ``1``, ...) of stride-2
    3x3 conv-BN-ReLU units fed by the previous stage's *last* branch (the official behaviour; the
    paper's figure suggests all branches).
    """

    def __init__(self, in_channels, out_channels, bn_momentum=0.9, sync_bn=False, **kwargs):
        super().__init__(**kwargs)
        self.in_channels = list(in_channels)
        self.out_channels = list(out_channels)
        self.bn_momentum = bn_momentum
        self.sync_bn = sync_bn
        self.paths = []
        for i, channels in enumerate(self.out_channels):
            if i < len(self.in_channels):
                same = channels == self.in_channels[i]
                self.paths.append(None if same else self._unit(str(i), channels, 1))
            else:
                depth = i + 1 - len(self.in_channels)
                last_in = self.in_channels[-1]
                units = [
                    self._unit(str(k), channels if k == depth - 1 else last_in, 2) for k in range(depth)
                ]
                self.paths.append(Sequence(units, name=str(i)))

    def _unit(self, name, filters, strides):
        return ConvBN(filters, 3, strides, bn_momentum=self.bn_momentum, sync_bn=self.sync_bn, name=name)

    def _source(self, items, i):
        return items[i] if i < len(self.in_channels) else items[-1]

    def build(self, input_shape):
        for i, path in enumerate(self.paths):
            _build_chain(path, self._source(list(input_shape), i), build=True)

    def compute_output_shape(self, input_shape):
        return [
            _build_chain(path, self._source(list(input_shape), i), build=False)
            for i, path in enumerate(self.paths)
        ]

    def call(self, inputs, training=None):
        inputs = list(inputs)
        outputs = []
        for i, path in enumerate(self.paths):
            x = self._source(inputs, i)
            outputs.append(x if path is None else path(x, training=training))
        return outputs

    def get_config(self):
        config = super().get_config()
        config.update(
            in_channels=self.in_channels,
            out_channels=self.out_channels,
            bn_momentum=self.bn_momentum,
            sync_bn=self.sync_bn,
        )
        return config


@keras.saving.register_keras_serializable(package="hrnet_tf")
class FuseLayer(layers.Layer):
    """Exchanges information across resolutions: output i = ReLU(sum_j f_ij(x_j)).

    f_ii is the identity; a lower-resolution input (j > i) goes through 1x1 conv-BN (child ``i`` >
    ``j``) and is upsampled (``upsample_method``: "nearest" by 2^(j-i) as in classification/pose, or
    "bilinear" / "bilinear_align_corners" to x_i's size as in segmentation); a higher-resolution input
    (j < i) goes through i-j stride-2 3x3 conv-BN units (``i`` > ``j`` > ``k``) with ReLU between them
    but not after the last. ReLU comes only after the sum. ``num_outputs=1`` builds only the
    high-resolution output (``multi_scale_output=False``, the last module of pose stage 4).
    """

    def __init__(
        self,
        channels,
        num_outputs=None,
        upsample_method="nearest",
        bn_momentum=0.9,
        sync_bn=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.channels = list(channels)
        self.num_outputs = len(self.channels) if num_outputs is None else num_outputs
        self.upsample_method = check_method(upsample_method)
        self.bn_momentum = bn_momentum
        self.sync_bn = sync_bn
        # rows[i][j]: the path from input j to output i (None on the diagonal).
        self.rows = [
            Group([self._make_path(i, j) for j in range(len(self.channels))], name=str(i))
            for i in range(self.num_outputs)
        ]

    def _make_path(self, i, j):
        if j == i:
            return None
        if j > i:
            return self._unit(str(j), self.channels[i], 1, 1, False)
        steps = i - j
        units = [
            self._unit(
                str(k), self.channels[i] if k == steps - 1 else self.channels[j], 3, 2, k < steps - 1
            )
            for k in range(steps)
        ]
        return Sequence(units, name=str(j))

    def _unit(self, name, filters, kernel_size, strides, activation):
        return ConvBN(
            filters,
            kernel_size,
            strides,
            activation=activation,
            bn_momentum=self.bn_momentum,
            sync_bn=self.sync_bn,
            name=name,
        )

    def build(self, input_shape):
        input_shape = list(input_shape)
        for row in self.rows:
            for j, path in enumerate(row):
                if path is not None:
                    _build_chain(path, input_shape[j], build=True)

    def compute_output_shape(self, input_shape):
        return [tuple(shape) for shape in list(input_shape)[: self.num_outputs]]

    def _branch(self, i, j, x, target, training):
        x = self.rows[i][j](x, training=training)
        if j > i:
            if self.upsample_method == "nearest":
                x = upsample(x, 2 ** (j - i), "nearest")
            else:
                x = upsample(x, None, self.upsample_method, target=target)
        return x

    def call(self, inputs, training=None):
        inputs = list(inputs)
        outputs = []
        for i in range(self.num_outputs):
            # Same summation order as the official code (j = 0, 1, ...), for bitwise-close sums.
            y = None
            for j, x in enumerate(inputs):
                term = x if i == j else self._branch(i, j, x, inputs[i], training)
                y = term if y is None else y + term
            outputs.append(ops.relu(y))
        return outputs

    def get_config(self):
        config = super().get_config()
        config.update(
            channels=self.channels,
            num_outputs=self.num_outputs,
            upsample_method=self.upsample_method,
            bn_momentum=self.bn_momentum,
            sync_bn=self.sync_bn,
        )
        return config


@keras.saving.register_keras_serializable(package="hrnet_tf")
class HighResolutionModule(layers.Layer):
    """Parallel residual branches (``branches`` > ``b``, one per resolution) and a FuseLayer
    (``fuse_layers``)."""

    def __init__(
        self,
        in_channels,
        num_blocks,
        num_channels,
        block="BASIC",
        multi_scale_output=True,
        upsample_method="nearest",
        bn_momentum=0.9,
        sync_bn=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not len(in_channels) == len(num_blocks) == len(num_channels):
            raise ValueError(
                "in_channels, num_blocks and num_channels need one entry per branch, got "
                f"{list(in_channels)}, {list(num_blocks)}, {list(num_channels)}"
            )
        self.in_channels = list(in_channels)
        self.num_blocks = list(num_blocks)
        self.num_channels = list(num_channels)
        self.block = block
        self.multi_scale_output = multi_scale_output
        self.upsample_method = check_method(upsample_method)
        self.bn_momentum = bn_momentum
        self.sync_bn = sync_bn
        self.out_channels = [c * block_class(block).expansion for c in self.num_channels]
        self.branches = Group(
            [
                ResidualStack(block, cin, width, blocks, bn_momentum=bn_momentum, sync_bn=sync_bn,
                              name=str(b))
                for b, (cin, blocks, width) in enumerate(
                    zip(self.in_channels, self.num_blocks, self.num_channels, strict=True)
                )
            ],
            name="branches",
        )
        self.fuse = None
        if len(self.branches) > 1:
            self.fuse = FuseLayer(
                self.out_channels,
                num_outputs=None if multi_scale_output else 1,
                upsample_method=upsample_method,
                bn_momentum=bn_momentum,
                sync_bn=sync_bn,
                name="fuse_layers",
            )

    def _branch_shapes(self, input_shape, build):
        return [
            _build_chain(branch, shape, build)
            for shape, branch in zip(list(input_shape), self.branches, strict=True)
        ]

    def build(self, input_shape):
        shapes = self._branch_shapes(input_shape, build=True)
        if self.fuse is not None:
            self.fuse.build(shapes)

    def compute_output_shape(self, input_shape):
        shapes = self._branch_shapes(input_shape, build=False)
        return shapes if self.fuse is None else self.fuse.compute_output_shape(shapes)

    def call(self, inputs, training=None):
        outputs = [
            branch(x, training=training) for x, branch in zip(list(inputs), self.branches, strict=True)
        ]
        if self.fuse is None:
            return outputs
        return self.fuse(outputs, training=training)

    def get_config(self):
        config = super().get_config()
        config.update(
            in_channels=self.in_channels,
            num_blocks=self.num_blocks,
            num_channels=self.num_channels,
            block=self.block,
            multi_scale_output=self.multi_scale_output,
            upsample_method=self.upsample_method,
            bn_momentum=self.bn_momentum,
            sync_bn=self.sync_bn,
        )
        return config


@keras.saving.register_keras_serializable(package="hrnet_tf")
class HRStage(Sequence):
    """``num_modules`` HighResolutionModules named "0", "1", ... (official ``stage2``..``stage4``).

    ``multi_scale_output=False`` makes the last module return only its high-resolution branch
    (HRNetV1's stage 4).
    """

    def __init__(
        self,
        in_channels,
        num_modules,
        num_blocks,
        num_channels,
        block="BASIC",
        multi_scale_output=True,
        upsample_method="nearest",
        bn_momentum=0.9,
        sync_bn=False,
        **kwargs,
    ):
        expansion = block_class(block).expansion
        modules = []
        channels = list(in_channels)
        for m in range(num_modules):
            modules.append(
                HighResolutionModule(
                    channels,
                    num_blocks,
                    num_channels,
                    block=block,
                    multi_scale_output=multi_scale_output or m < num_modules - 1,
                    upsample_method=upsample_method,
                    bn_momentum=bn_momentum,
                    sync_bn=sync_bn,
                    name=str(m),
                )
            )
            channels = [c * expansion for c in num_channels]
        super().__init__(modules, **kwargs)
        self.built = False
        self.in_channels = list(in_channels)
        self.num_modules = num_modules
        self.num_blocks = list(num_blocks)
        self.num_channels = list(num_channels)
        self.block = block
        self.multi_scale_output = multi_scale_output
        self.upsample_method = check_method(upsample_method)
        self.bn_momentum = bn_momentum
        self.sync_bn = sync_bn

    def get_config(self):
        config = super().get_config()
        config.update(
            in_channels=self.in_channels,
            num_modules=self.num_modules,
            num_blocks=self.num_blocks,
            num_channels=self.num_channels,
            block=self.block,
            multi_scale_output=self.multi_scale_output,
            upsample_method=self.upsample_method,
            bn_momentum=self.bn_momentum,
            sync_bn=self.sync_bn,
        )
        return config
