"""Lite-HRNet (Yu et al., CVPR 2021): the official Lite-HRNet-18 and -30 top-down pose networks.

Re-implemented from HRNet/Lite-HRNet ``models/backbones/litehrnet.py`` (the same module is mmpose
0.x's ``mmpose/models/backbones/litehrnet.py``) with the head of its COCO configs
(``configs/top_down/lite_hrnet/coco/litehrnet_{18,30}_coco_256x192.py``: ``TopDownSimpleHead``
without deconvolutions, one 1x1 ``final_layer``). Every layer is named after its official module,
so the chain of names is the official key (``stage0`` > ``0`` > ``layers`` > ``1`` >
``cross_resolution_weighting`` > ``conv1`` > ``conv`` is ``stage0.0.layers.1.cross_resolution_
weighting.conv1.conv.weight``) and mmpose checkpoints load with ``--layout mmpose`` (``backbone.*``,
``keypoint_head.final_layer.*``). mmcv's ``ConvModule`` children are ``conv`` and ``bn``; its
``DepthwiseSeparableConvModule`` has ``depthwise_conv`` and ``pointwise_conv``.

The pieces (official class names):

* ``Stem``: 3x3/2 conv, then a ShuffleNet-v2 downsampling unit (two branches, channel shuffle);
* ``ConditionalChannelWeighting`` (the "LITE" block): half of every branch's channels pass, the
  other half goes through ``CrossResolutionWeighting`` (all branches pooled to the smallest,
  1x1-ReLU, 1x1-sigmoid, weights upsampled back), a 3x3 depthwise conv and ``SpatialWeighting``
  (squeeze-excitation, ratio 4), then concatenation and a channel shuffle;
* the fusion of ``LiteHRModule`` (1x1 + BN + nearest upsampling from lower resolutions, depthwise
  3x3/2 + BN + 1x1 + BN chains from higher ones). The official loop starts ``y`` at ``out[0]`` and
  then adds ``out[0]`` again (``for j in range(num_branches)``); its in-place ``y += ...`` also
  writes that first sum back into ``out[0]``, which the lower-resolution outputs then read. mmpose
  kept this ("``y = 0`` will lead to decreased accuracy"), and so does this code: the published
  weights were trained with it;
* ``IterativeHead``: from the lowest resolution up, bilinear ``align_corners=True`` upsampling,
  addition and a depthwise-separable conv per branch.

Fixed sizes: ``F.adaptive_avg_pool2d`` to the smallest branch is an average pooling with a fixed
window when the input divides by 32 (as the official 256x192 / 384x288 do), and the head's
upsampling is a constant interpolation matrix per axis; so the model converts to TFLite as
convolutions, pooling, means, matrix products, reshapes and transposes only.

    >>> model = LiteHRNet(18, input_shape=(256, 192, 3))     # doctest: +SKIP
    >>> model.count_params(), model.output_shape              # doctest: +SKIP
    (1138010, (None, 64, 48, 17))
"""

import keras
import numpy as np
from keras import layers, ops

from hrnet_tf.errors import ConfigError
from hrnet_tf.layers.common import BN_EPSILON, Group
from hrnet_tf.layers.resize import repeat_pixels, resize

# Official configs: configs/top_down/lite_hrnet/coco/litehrnet_{18,30}_coco_256x192.py
LITE_HRNET_SPECS = {
    "18": dict(stem_channels=32, stem_out=32, expand_ratio=1, num_modules=(2, 4, 2),
               num_branches=(2, 3, 4), num_blocks=(2, 2, 2), reduce_ratios=(8, 8, 8),
               num_channels=((40, 80), (40, 80, 160), (40, 80, 160, 320))),
    "30": dict(stem_channels=32, stem_out=32, expand_ratio=1, num_modules=(3, 8, 3),
               num_branches=(2, 3, 4), num_blocks=(2, 2, 2), reduce_ratios=(8, 8, 8),
               num_channels=((40, 80), (40, 80, 160), (40, 80, 160, 320))),
    # not official: a few-thousand-parameter network for tests and the CPU demo
    "tiny": dict(stem_channels=16, stem_out=16, expand_ratio=1, num_modules=(1, 1, 1),
                 num_branches=(2, 3, 4), num_blocks=(1, 1, 1), reduce_ratios=(4, 4, 4),
                 num_channels=((8, 16), (8, 16, 32), (8, 16, 32, 64))),
}
INPUT_MULTIPLE = 32


def _spec(variant):
    key = str(variant).lower().removeprefix("litehrnet").strip("_-")
    if key not in LITE_HRNET_SPECS:
        raise ConfigError(f"unknown Lite-HRNet variant {variant!r}; choose one of "
                          f"{sorted(LITE_HRNET_SPECS)}")
    return key, LITE_HRNET_SPECS[key]


def _init():
    # official init_weights: normal(std=0.001) for every conv, BN weight 1 bias 0
    return keras.initializers.RandomNormal(stddev=0.001)


def _bn(name, momentum):
    return layers.BatchNormalization(axis=-1, momentum=momentum, epsilon=BN_EPSILON, name=name)


def _pad_for(kernel_size, strides):
    # PyTorch pads k // 2 on each side; Keras "same" with stride 2 pads bottom/right only
    return layers.ZeroPadding2D(kernel_size // 2) if strides > 1 and kernel_size > 1 else None


def _conv(filters, kernel_size, strides, depthwise, use_bias, name):
    padding = "same" if strides == 1 else "valid"
    if depthwise:
        return layers.DepthwiseConv2D(kernel_size, strides=strides, padding=padding,
                                      use_bias=use_bias, depthwise_initializer=_init(), name=name)
    return layers.Conv2D(filters, kernel_size, strides=strides, padding=padding,
                         use_bias=use_bias, kernel_initializer=_init(), name=name)


def channel_shuffle(x, groups=2):
    """mmpose ``channel_shuffle`` in NHWC: channel ``g * (C / groups) + k`` moves to ``k * groups +
    g`` (the view [groups, C / groups], transposed, flattened)."""
    _, h, w, c = ops.shape(x)
    x = ops.reshape(x, (-1, h, w, groups, c // groups))
    x = ops.transpose(x, (0, 1, 2, 4, 3))
    return ops.reshape(x, (-1, h, w, c))


def _halves(x):
    c = ops.shape(x)[-1]
    return x[..., : c // 2], x[..., c // 2:]


@keras.saving.register_keras_serializable(package="hrnet_tf")
class ConvModule(layers.Layer):
    """mmcv ``ConvModule``: conv (``conv``; bias only without a norm) -> BN (``bn``) -> activation
    (None, "relu" or "sigmoid"); ``depthwise`` is ``groups=channels``."""

    def __init__(self, filters, kernel_size=1, strides=1, depthwise=False, norm=True,
                 activation=None, bn_momentum=0.9, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.strides = filters, kernel_size, strides
        self.depthwise, self.norm, self.activation = depthwise, norm, activation
        self.bn_momentum = bn_momentum
        self.pad = _pad_for(kernel_size, strides)
        self.conv = _conv(filters, kernel_size, strides, depthwise, not norm, "conv")
        self.bn = _bn("bn", bn_momentum) if norm else None

    def call(self, x, training=None):
        if self.pad is not None:
            x = self.pad(x)
        x = self.conv(x)
        if self.bn is not None:
            x = self.bn(x, training=training)
        if self.activation == "relu":
            return ops.relu(x)
        if self.activation == "sigmoid":
            return ops.sigmoid(x)
        return x

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "depthwise": self.depthwise, "norm": self.norm,
                "activation": self.activation, "bn_momentum": self.bn_momentum}


def _plain_conv(filters, kernel_size, strides, depthwise, name):
    """A bare bias-free ``build_conv_layer`` inside an ``nn.Sequential``: [padding, conv], the
    conv named by its official index (the padding has no weights, so no key)."""
    pad = _pad_for(kernel_size, strides)
    conv = _conv(filters, kernel_size, strides, depthwise, False, name)
    return [conv] if pad is None else [layers.ZeroPadding2D(kernel_size // 2, name=f"pad{name}"),
                                       conv]


def _dw_pw(in_channels, out_channels, strides, relu, momentum):
    """The official ``nn.Sequential(dw conv 3x3, BN, conv 1x1, BN[, ReLU])`` (transitions and
    fusion downsampling)."""
    members = [*_plain_conv(in_channels, 3, strides, True, "0"), _bn("1", momentum),
               *_plain_conv(out_channels, 1, 1, False, "2"), _bn("3", momentum)]
    if relu:
        members.append(layers.ReLU(name="4"))
    return members


class Chain(Group):
    """An ``nn.Sequential``: members applied in order (``training`` passed to every one)."""

    def call(self, x, training=None):
        for layer in self.members:
            x = layer(x, training=training)
        return x


@keras.saving.register_keras_serializable(package="hrnet_tf")
class Stem(layers.Layer):
    """Official ``Stem``."""

    def __init__(self, stem_channels, out_channels, expand_ratio, bn_momentum=0.9, **kwargs):
        super().__init__(**kwargs)
        self.stem_channels, self.out_channels = stem_channels, out_channels
        self.expand_ratio, self.bn_momentum = expand_ratio, bn_momentum
        m = bn_momentum
        mid = int(round(stem_channels * expand_ratio))
        branch = stem_channels // 2
        inc = out_channels - branch if stem_channels == out_channels else out_channels - stem_channels
        self.conv1 = ConvModule(stem_channels, 3, 2, activation="relu", bn_momentum=m, name="conv1")
        self.branch1 = Chain([
            ConvModule(branch, 3, 2, depthwise=True, bn_momentum=m, name="0"),
            ConvModule(inc, 1, 1, activation="relu", bn_momentum=m, name="1"),
        ], name="branch1")
        self.expand_conv = ConvModule(mid, 1, 1, activation="relu", bn_momentum=m,
                                      name="expand_conv")
        self.depthwise_conv = ConvModule(mid, 3, 2, depthwise=True, bn_momentum=m,
                                         name="depthwise_conv")
        self.linear_conv = ConvModule(branch if stem_channels == out_channels else stem_channels,
                                      1, 1, activation="relu", bn_momentum=m, name="linear_conv")

    def build(self, input_shape):
        # the sublayers build when first called (the functional model calls this on its input)
        self.built = True

    def call(self, x, training=None):
        x = self.conv1(x, training=training)
        x1, x2 = _halves(x)
        x2 = self.expand_conv(x2, training=training)
        x2 = self.depthwise_conv(x2, training=training)
        x2 = self.linear_conv(x2, training=training)
        out = ops.concatenate([self.branch1(x1, training=training), x2], axis=-1)
        return channel_shuffle(out, 2)

    def get_config(self):
        return {**super().get_config(), "stem_channels": self.stem_channels,
                "out_channels": self.out_channels, "expand_ratio": self.expand_ratio,
                "bn_momentum": self.bn_momentum}


class SpatialWeighting(layers.Layer):
    """Official ``SpatialWeighting`` (ratio 4; its convs have biases and no norm)."""

    def __init__(self, channels, ratio=4, **kwargs):
        super().__init__(**kwargs)
        self.conv1 = ConvModule(int(channels / ratio), norm=False, activation="relu", name="conv1")
        self.conv2 = ConvModule(channels, norm=False, activation="sigmoid", name="conv2")

    def call(self, x, training=None):
        out = ops.mean(x, axis=(1, 2), keepdims=True)
        return x * self.conv2(self.conv1(out))


class CrossResolutionWeighting(layers.Layer):
    """Official ``CrossResolutionWeighting``: ``adaptive_avg_pool2d`` of every branch to the
    smallest (a fixed window: the branches halve exactly), 1x1-BN-ReLU, 1x1-BN-sigmoid, split,
    nearest upsampling of the weights (pixel repetition) times each branch."""

    def __init__(self, channels, ratio, bn_momentum=0.9, **kwargs):
        super().__init__(**kwargs)
        self.channels = list(channels)
        total = sum(channels)
        self.conv1 = ConvModule(int(total / ratio), activation="relu", bn_momentum=bn_momentum,
                                name="conv1")
        # conv2's sigmoid is applied per branch after the split (the same numbers): int8 TFLite
        # then slices the BN output, not a LOGISTIC output of fixed scale
        self.conv2 = ConvModule(total, activation=None, bn_momentum=bn_momentum, name="conv2")

    def call(self, xs, training=None):
        n = len(xs)
        pooled = []
        for i, s in enumerate(xs[:-1]):
            window = 2 ** (n - 1 - i)
            pooled.append(average_pool_fixed(s, window))
        out = ops.concatenate([*pooled, xs[-1]], axis=-1)
        out = self.conv2(self.conv1(out, training=training), training=training)
        # channel slices, not ops.split: TFLite's SPLIT_V (unequal parts) is not an XNNPACK op
        bounds = [0, *np.cumsum(self.channels).tolist()]
        weights = [ops.sigmoid(out[..., a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        return [s * (repeat_pixels(a, 2 ** (n - 1 - i)) if i < n - 1 else a)
                for i, (s, a) in enumerate(zip(xs, weights, strict=True))]


class ConditionalChannelWeighting(layers.Layer):
    """Official ``ConditionalChannelWeighting`` (stride 1, the "LITE" block)."""

    def __init__(self, in_channels, reduce_ratio, bn_momentum=0.9, **kwargs):
        super().__init__(**kwargs)
        branch = [c // 2 for c in in_channels]
        self.cross_resolution_weighting = CrossResolutionWeighting(
            branch, reduce_ratio, bn_momentum, name="cross_resolution_weighting")
        self.depthwise_convs = Group([
            ConvModule(c, 3, 1, depthwise=True, bn_momentum=bn_momentum, name=str(i))
            for i, c in enumerate(branch)], name="depthwise_convs")
        self.spatial_weighting = Group([
            SpatialWeighting(c, 4, name=str(i)) for i, c in enumerate(branch)],
            name="spatial_weighting")

    def call(self, xs, training=None):
        halves = [_halves(s) for s in xs]
        x1 = [h[0] for h in halves]
        x2 = self.cross_resolution_weighting([h[1] for h in halves], training=training)
        x2 = [dw(s, training=training) for s, dw in zip(x2, self.depthwise_convs, strict=True)]
        x2 = [sw(s) for s, sw in zip(x2, self.spatial_weighting, strict=True)]
        return [channel_shuffle(ops.concatenate([a, b], axis=-1), 2)
                for a, b in zip(x1, x2, strict=True)]


class _Upsample(layers.Layer):
    """``nn.Upsample(scale_factor, mode="nearest")``: pixel repetition."""

    def __init__(self, factor, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return repeat_pixels(x, self.factor)


class _Row(Group):
    """One ``nn.ModuleList`` of a fusion with None entries: ``index[j]`` is the member of branch
    j, or -1."""

    def __init__(self, entries, **kwargs):
        super().__init__([e for e in entries if e is not None], **kwargs)
        self.index, k = [], 0
        for e in entries:
            self.index.append(-1 if e is None else k)
            k += e is not None

    def at(self, j):
        return None if self.index[j] < 0 else self.members[self.index[j]]


class LiteHRModule(layers.Layer):
    """Official ``LiteHRModule`` with ``module_type="LITE"`` and fusion (multi-scale output)."""

    def __init__(self, in_channels, num_blocks, reduce_ratio, bn_momentum=0.9, **kwargs):
        super().__init__(**kwargs)
        m = bn_momentum
        n = len(in_channels)
        self.blocks = Chain([ConditionalChannelWeighting(in_channels, reduce_ratio, m, name=str(b))
                             for b in range(num_blocks)], name="layers")
        rows = []
        for i in range(n):
            row = []
            for j in range(n):
                if j > i:
                    row.append(Chain([*_plain_conv(in_channels[i], 1, 1, False, "0"), _bn("1", m),
                                      _Upsample(2 ** (j - i), name="2")], name=str(j)))
                elif j == i:
                    row.append(None)
                else:
                    steps = []
                    for k in range(i - j):
                        last = k == i - j - 1
                        cout = in_channels[i] if last else in_channels[j]
                        steps.append(Chain(_dw_pw(in_channels[j], cout, 2, not last, m),
                                           name=str(k)))
                    row.append(Chain(steps, name=str(j)))
            rows.append(_Row(row, name=str(i)))
        self.fuse_layers = Group(rows, name="fuse_layers")

    def call(self, xs, training=None):
        out = self.blocks(list(xs), training=training)
        n = len(out)
        fused = []
        for i in range(n):
            row = self.fuse_layers[i]
            # official: y = out[0] (i == 0, the same tensor) or fuse[i][0](out[0]); then j from 0
            terms = [out[j] if i == j else row.at(j)(out[j], training=training) for j in range(n)]
            y = out[0] if i == 0 else row.at(0)(out[0], training=training)
            for term in terms:
                y = y + term
            if i == 0:
                # The in-place ``y += ...`` wrote the sum into out[0], which the lower rows read
                # before the ReLU. An int8 RELU on its own is not an XNNPACK op (float only) and
                # cut the int8 graph, so the ReLU'd sum is formed a second time, starting from
                # ``out[0] * 2`` (bit-equal to ``out[0] + out[0]``; a repeated ADD would be merged
                # by the converter's CSE): the ReLU then fuses into that chain's last ADD.
                out[0], y = y, out[0] * 2.0
                for term in terms[1:]:
                    y = y + term
            fused.append(ops.relu(y))
        return fused


@keras.saving.register_keras_serializable(package="hrnet_tf")
class LiteStage(Group):
    """Official ``stage{i}``: an ``nn.Sequential`` of ``LiteHRModule``."""

    def __init__(self, in_channels, num_modules, num_blocks, reduce_ratio, bn_momentum=0.9,
                 **kwargs):
        super().__init__([LiteHRModule(in_channels, num_blocks, reduce_ratio, bn_momentum,
                                       name=str(k)) for k in range(num_modules)], **kwargs)
        self.config = dict(in_channels=list(in_channels), num_modules=num_modules,
                           num_blocks=num_blocks, reduce_ratio=reduce_ratio,
                           bn_momentum=bn_momentum)

    def call(self, xs, training=None):
        for module in self.members:
            xs = module(xs, training=training)
        return xs

    def get_config(self):
        base = layers.Layer.get_config(self)
        return {**base, **self.config}


@keras.saving.register_keras_serializable(package="hrnet_tf")
class LiteTransition(_Row):
    """Official ``transition{i}``: an ``nn.ModuleList`` with None where a branch passes."""

    def __init__(self, previous, current, bn_momentum=0.9, **kwargs):
        entries = []
        for i, c in enumerate(current):
            if i < len(previous):
                entries.append(Chain(_dw_pw(previous[i], c, 1, True, bn_momentum), name=str(i))
                               if c != previous[i] else None)
            else:
                steps = []
                for j in range(i + 1 - len(previous)):
                    cin = previous[-1]
                    cout = c if j == i - len(previous) else cin
                    steps.append(Chain(_dw_pw(cin, cout, 2, True, bn_momentum), name=str(j)))
                entries.append(Chain(steps, name=str(i)))
        super().__init__(entries, **kwargs)
        self.config = dict(previous=list(previous), current=list(current),
                           bn_momentum=bn_momentum)

    def call(self, xs, training=None):
        out = []
        for j in range(len(self.index)):
            chain = self.at(j)
            if chain is None:
                out.append(xs[j])
            else:
                out.append(chain(xs[j] if j < len(xs) else xs[-1], training=training))
        return out

    def get_config(self):
        return {**layers.Layer.get_config(self), **self.config}


def average_pool_fixed(x, window):
    """``average_pool(x, window, window, "valid")`` as a depthwise conv with constant weights
    ``1 / window**2`` (the same numbers up to float rounding): XNNPACK runs AVERAGE_POOL_2D in
    float only, so in an int8 TFLite model the pooling fell out of the delegate; an int8
    DEPTHWISE_CONV_2D stays inside (the constant weights quantize exactly: one value a channel)."""
    channels = x.shape[-1]
    kernel = ops.full((window, window, channels, 1), 1.0 / (window * window), dtype=x.dtype)
    return ops.depthwise_conv(x, kernel, strides=window, padding="valid")


def _interpolation_matrix(n_in, n_out):
    """[n_out, n_in] weights of ``F.interpolate(mode="bilinear", align_corners=True)`` on one axis."""
    matrix = np.zeros((n_out, n_in), np.float32)
    scale = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    for o in range(n_out):
        pos = o * scale
        lo = min(int(np.floor(pos)), n_in - 1)
        hi = min(lo + 1, n_in - 1)
        frac = pos - lo
        matrix[o, lo] += 1 - frac
        matrix[o, hi] += frac
    return matrix


def upsample_align_corners(x, size):
    """Bilinear ``align_corners=True`` resize of NHWC ``x`` to static ``size`` as two constant
    matrix products (one per axis); dynamic sizes fall back to the gather version."""
    h, w, c = x.shape[1], x.shape[2], x.shape[3]
    if None in (h, w) or None in tuple(size):
        return resize(x, size, "bilinear_align_corners")
    rows = ops.convert_to_tensor(_interpolation_matrix(h, size[0]).T, x.dtype)  # [H, H']
    cols = ops.convert_to_tensor(_interpolation_matrix(w, size[1]).T, x.dtype)  # [W, W']
    x = ops.matmul(ops.transpose(x, (0, 1, 3, 2)), cols)       # N, H, C, W'
    x = ops.matmul(ops.transpose(x, (0, 3, 2, 1)), rows)       # N, W', C, H'
    x = ops.transpose(x, (0, 3, 1, 2))                          # N, H', W', C
    return ops.reshape(x, (-1, size[0], size[1], c))


@keras.saving.register_keras_serializable(package="hrnet_tf")
class IterativeHead(layers.Layer):
    """Official ``IterativeHead``: depthwise-separable convs from the lowest resolution up, each
    input plus the bilinearly upsampled (``align_corners=True``) output below it."""

    def __init__(self, in_channels, bn_momentum=0.9, **kwargs):
        super().__init__(**kwargs)
        self.in_channels, self.bn_momentum = list(in_channels), bn_momentum
        reverse = list(in_channels)[::-1]
        projects = []
        for i, c in enumerate(reverse):
            out = reverse[i + 1] if i < len(reverse) - 1 else c
            projects.append(Chain([
                ConvModule(c, 3, 1, depthwise=True, bn_momentum=bn_momentum,
                           name="depthwise_conv"),
                ConvModule(out, 1, 1, activation="relu", bn_momentum=bn_momentum,
                           name="pointwise_conv")], name=str(i)))
        self.projects = Group(projects, name="projects")

    def call(self, xs, training=None):
        ys, last = [], None
        for i, s in enumerate(xs[::-1]):
            if last is not None:
                s = s + upsample_align_corners(last, (s.shape[1], s.shape[2]))
            last = self.projects[i](s, training=training)
            ys.append(last)
        return ys[::-1]

    def get_config(self):
        return {**super().get_config(), "in_channels": self.in_channels,
                "bn_momentum": self.bn_momentum}


def LiteHRNet(variant=18, num_outputs=17, input_shape=(256, 192, 3), *, weights=None, name=None,
              bn_momentum=0.9):
    """Lite-HRNet-18 / -30 (``variant``; "tiny" is a small test network) with the top-down
    heatmap head of the official COCO configs: [N, H/4, W/4, ``num_outputs``] heatmaps.

    ``input_shape`` must divide by 32 (the official sizes do): the cross-resolution weighting pools
    every branch to the smallest with a fixed window. ``weights``: a weights file (Keras, or an
    official / mmpose ``.pth``: :func:`hrnet_tf.convert.load_weights`).
    """
    from hrnet_tf.models.model import HRNetModel, ModelInfo

    key, spec = _spec(variant)
    if input_shape is None or len(input_shape) != 3 or input_shape[-1] != 3:
        raise ConfigError(f"input_shape must be (height, width, 3), got {input_shape!r}")
    if any(d is None or d % INPUT_MULTIPLE for d in input_shape[:2]):
        raise ConfigError(f"Lite-HRNet input size {tuple(input_shape[:2])} must be a multiple of "
                          f"{INPUT_MULTIPLE} (the cross-resolution weighting pools by fixed "
                          "windows)")
    m = bn_momentum
    image = keras.Input(shape=tuple(input_shape), name="image")
    x = Stem(spec["stem_channels"], spec["stem_out"], spec["expand_ratio"], m, name="stem")(image)
    features, previous = [x], [spec["stem_out"]]
    for i, channels in enumerate(spec["num_channels"]):
        features = LiteTransition(previous, channels, m, name=f"transition{i}")(features)
        features = LiteStage(channels, spec["num_modules"][i], spec["num_blocks"][i],
                             spec["reduce_ratios"][i], m, name=f"stage{i}")(features)
        previous = list(channels)
    features = IterativeHead(previous, m, name="head_layer")(features)
    heatmaps = layers.Conv2D(num_outputs, 1, use_bias=True, name="final_layer",
                             kernel_initializer=_init())(features[0])
    info = ModelInfo(task="pose", architecture="LiteHRNet", spec=None, width=f"lite{key}",
                     upsample_method="nearest", output_stride=4)
    model = HRNetModel(image, heatmaps, info=info, name=name or f"litehrnet_{key}")
    if weights is not None:
        from hrnet_tf.convert import checkpoints

        checkpoints.load_weights(model, weights)
    return model


__all__ = ["LITE_HRNET_SPECS", "LiteHRNet", "channel_shuffle", "upsample_align_corners"]
