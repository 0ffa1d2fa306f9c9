"""The multi-resolution parts of HRNet: transitions, fusion and the HighResolutionModule.

Each layer takes and returns a *list* of NHWC tensors, highest resolution first (strides 4, 8, 16, 32).
Sublayer names spell the official PyTorch module paths relative to the layer (``"1.0.0"`` inside
``fuse_layers`` is ``fuse_layers.1.0.0``), which is all `hrnet_tf.convert` needs to map weights.
"""

import keras
from keras import layers, ops

from hrnet_tf.layers.blocks import block_class
from hrnet_tf.layers.common import ConvBN
from hrnet_tf.layers.resize import check_method, upsample


@keras.saving.register_keras_serializable(package="hrnet_tf")
class TransitionLayer(layers.Layer):
    """Adapts the branch list of one stage to the next stage (``transition1``..``transition3``).

    An existing branch passes through, or through a 3x3 conv-BN-ReLU where its width changes. Each new,
    lower-resolution branch is a chain of stride-2 3x3 conv-BN-ReLU units fed by the previous stage's
    *last* branch (the official behaviour; the paper's figure suggests all branches).
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
                if channels == self.in_channels[i]:
                    self.paths.append([])
                else:
                    self.paths.append([self._unit(f"{i}", channels, 1)])
            else:
                depth = i + 1 - len(self.in_channels)
                last_in = self.in_channels[-1]
                self.paths.append(
                    [self._unit(f"{i}.{k}", channels if k == depth - 1 else last_in, 2) for k in range(depth)]
                )

    def _unit(self, name, filters, strides):
        return ConvBN(filters, 3, strides, bn_momentum=self.bn_momentum, sync_bn=self.sync_bn, name=name)

    def _path_shapes(self, input_shapes, build):
        input_shapes = list(input_shapes)
        shapes = []
        for i, path in enumerate(self.paths):
            shape = input_shapes[i] if i < len(self.in_channels) else input_shapes[-1]
            for unit in path:
                if build:
                    unit.build(shape)
                shape = unit.compute_output_shape(shape)
            shapes.append(tuple(shape))
        return shapes

    def build(self, input_shape):
        self._path_shapes(input_shape, build=True)

    def compute_output_shape(self, input_shape):
        return self._path_shapes(input_shape, build=False)

    def call(self, inputs, training=None):
        inputs = list(inputs)
        outputs = []
        for i, path in enumerate(self.paths):
            x = inputs[i] if i < len(self.in_channels) else inputs[-1]
            for unit in path:
                x = unit(x, training=training)
            outputs.append(x)
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

    f_ii is the identity; a lower-resolution input (j > i) goes through 1x1 conv-BN and is upsampled
    (``upsample_method``: "nearest" by 2^(j-i) as in classification/pose, or "bilinear" /
    "bilinear_align_corners" to x_i's size as in segmentation); a higher-resolution input (j < i) goes
    through i-j stride-2 3x3 conv-BN units with ReLU between them but not after the last.
    ReLU comes only after the sum. ``num_outputs=1`` builds only the high-resolution output
    (``multi_scale_output=False``, the last module of pose stage 4).
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
        self.paths = {}
        for i in range(self.num_outputs):
            for j in range(len(self.channels)):
                if j > i:
                    self.paths[f"{i}_{j}"] = [self._unit(f"{i}.{j}", self.channels[i], 1, 1, False)]
                elif j < i:
                    self.paths[f"{i}_{j}"] = [
                        self._unit(
                            f"{i}.{j}.{k}",
                            self.channels[i] if k == i - j - 1 else self.channels[j],
                            3,
                            2,
                            k < i - j - 1,
                        )
                        for k in range(i - j)
                    ]

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
        for key, path in self.paths.items():
            shape = input_shape[int(key.split("_")[1])]
            for unit in path:
                unit.build(shape)
                shape = unit.compute_output_shape(shape)

    def compute_output_shape(self, input_shape):
        return [tuple(shape) for shape in list(input_shape)[: self.num_outputs]]

    def _branch(self, i, j, x, target, training):
        for unit in self.paths[f"{i}_{j}"]:
            x = unit(x, training=training)
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
    """Parallel residual branches (one per resolution) followed by a FuseLayer."""

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
        block_cls = block_class(block)
        self.out_channels = [c * block_cls.expansion for c in self.num_channels]
        self.branches = []
        for b, (cin, blocks, width) in enumerate(
            zip(self.in_channels, self.num_blocks, self.num_channels, strict=True)
        ):
            self.branches.append(
                [
                    block_cls(
                        cin if k == 0 else self.out_channels[b],
                        width,
                        bn_momentum=bn_momentum,
                        sync_bn=sync_bn,
                        name=f"branches.{b}.{k}",
                    )
                    for k in range(blocks)
                ]
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
        shapes = []
        for shape, branch in zip(list(input_shape), self.branches, strict=True):
            for blk in branch:
                if build:
                    blk.build(shape)
                shape = blk.compute_output_shape(shape)
            shapes.append(tuple(shape))
        return shapes

    def build(self, input_shape):
        shapes = self._branch_shapes(input_shape, build=True)
        if self.fuse is not None:
            self.fuse.build(shapes)

    def compute_output_shape(self, input_shape):
        shapes = self._branch_shapes(input_shape, build=False)
        return shapes if self.fuse is None else self.fuse.compute_output_shape(shapes)

    def call(self, inputs, training=None):
        outputs = []
        for x, branch in zip(list(inputs), self.branches, strict=True):
            for blk in branch:
                x = blk(x, training=training)
            outputs.append(x)
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
