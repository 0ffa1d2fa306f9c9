"""The OCR head of HRNet-OCR (object-contextual representations), with the official module names.

Written from HRNet/HRNet-Semantic-Segmentation, branch ``HRNet-OCR``, ``lib/models/seg_hrnet_ocr.py``
(``HighResolutionNet.__init__``/``forward``, ``SpatialGather_Module``, ``_ObjectAttentionBlock``,
``SpatialOCR_Module``). On the 15C-channel HRNetV2 features:

* ``aux_head``: 1x1 conv (bias) - BN - ReLU - 1x1 conv to the classes: soft object regions
  (the ``aux`` output); the same layout as HRNetV2's ``last_layer`` (``SegmentationHead``);
* ``conv3x3_ocr``: 3x3 conv (bias) - BN - ReLU to ``MID_CHANNELS`` (512);
* ``ocr_gather_head`` (:class:`SpatialGather`): softmax of each region over the pixels, the
  region's feature = the softmax-weighted sum of pixel features -> one "object" per class;
* ``ocr_distri_head`` (:class:`SpatialOCR`): ``object_context_block`` (:class:`ObjectAttention`:
  pixel queries ``f_pixel``, object keys ``f_object`` and values ``f_down`` of ``KEY_CHANNELS``
  (256), similarity scaled by ``KEY_CHANNELS ** -0.5``, softmax over the objects, ``f_up`` back to
  the mid channels), then ``conv_bn_dropout`` on ``[context, features]``: 1x1 conv - BN - ReLU -
  ``Dropout2d(0.05)``;
* ``cls_head``: 1x1 conv (bias) to the classes (the ``out`` output).

Every ``ModuleHelper.BNReLU`` of the official code is ``nn.Sequential(BatchNorm2d, ReLU)``, so the
BN of a conv at index ``i`` owns the keys ``<i + 1>.0.*``; :class:`ConvBNReLUChain` nests that way
(``f_pixel.0.weight``, ``f_pixel.1.0.running_mean``, ``f_pixel.2.weight``, ``f_pixel.3.0.weight``).
The official attention block is built with ``scale=1`` (no pooling), the only value the model uses.

The official ``init_weights`` leaves every module named ``cls``/``aux``/``ocr`` at PyTorch's default
initialization (the trunk gets N(0, 0.001)); :func:`pytorch_default_init` re-draws those kernels
and biases the same way.
"""

import math

import keras
from keras import layers, ops

from hrnet_tf.layers.common import Group, batch_norm


def pytorch_default_init(layer):
    """Re-draws every Conv2D kernel and bias under ``layer`` as ``nn.Conv2d.reset_parameters``:
    kaiming_uniform(a=sqrt(5)) = U(+-1/sqrt(fan_in)) for the kernel, U(+-1/sqrt(fan_in)) for the bias.
    BatchNorm keeps gamma 1, beta 0 (PyTorch's too)."""
    convs = [lay for lay in layer._flatten_layers(include_self=True, recursive=True)
             if isinstance(lay, layers.Conv2D)]
    for conv in convs:
        kh, kw, cin, _ = conv.kernel.shape
        bound = 1.0 / math.sqrt(kh * kw * cin)
        init = keras.initializers.RandomUniform(-bound, bound)
        conv.kernel.assign(init(conv.kernel.shape, conv.kernel.dtype))
        if conv.use_bias:
            conv.bias.assign(init(conv.bias.shape, conv.bias.dtype))


@keras.saving.register_keras_serializable(package="hrnet_tf")
class ConvBNReLUChain(layers.Layer):
    """``nn.Sequential(conv1x1, BNReLU, conv1x1, BNReLU, ..., [Dropout2d])`` with bias-free 1x1
    convs: conv ``i`` is child ``2i``, its BN is ``0`` inside child ``2i + 1`` (ModuleHelper.BNReLU),
    the optional ``Dropout2d`` is child ``2n`` (channel dropout, ``SpatialDropout2D``)."""

    def __init__(self, channels, dropout=0.0, bn_momentum=0.9, sync_bn=False, **kwargs):
        super().__init__(**kwargs)
        self.channels = [int(c) for c in channels]
        self.dropout = float(dropout)
        self.bn_momentum = bn_momentum
        self.sync_bn = sync_bn
        self.convs, self.norms = [], []
        for i, c in enumerate(self.channels):
            self.convs.append(layers.Conv2D(c, 1, use_bias=False, name=str(2 * i)))
            self.norms.append(Group([batch_norm("0", bn_momentum, sync_bn)], name=str(2 * i + 1)))
        self.drop = (layers.SpatialDropout2D(self.dropout, name=str(2 * len(self.channels)))
                     if self.dropout else None)

    def build(self, input_shape):
        shape = tuple(input_shape)
        for conv, norm in zip(self.convs, self.norms, strict=True):
            conv.build(shape)
            shape = conv.compute_output_shape(shape)
            norm[0].build(shape)

    def compute_output_shape(self, input_shape):
        return (*tuple(input_shape)[:-1], self.channels[-1])

    def call(self, x, training=None):
        for conv, norm in zip(self.convs, self.norms, strict=True):
            x = ops.relu(norm[0](conv(x), training=training))
        if self.drop is not None:
            x = self.drop(x, training=training)
        return x

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "dropout": self.dropout,
                "bn_momentum": self.bn_momentum, "sync_bn": self.sync_bn}


def _flatten_pixels(x):
    """[N, H, W, C] -> [N, H * W, C]."""
    shape = ops.shape(x)
    return ops.reshape(x, (-1, shape[1] * shape[2], x.shape[-1]))


@keras.saving.register_keras_serializable(package="hrnet_tf")
class SpatialGather(layers.Layer):
    """``ocr_gather_head`` (``SpatialGather_Module``): inputs ``[features [N, H, W, C], region
    logits [N, H, W, K]]`` -> object features [N, K, 1, C] (the official [N, C, K, 1] in NHWC):
    ``softmax over the pixels of each region (scale 1)`` @ features."""

    def compute_output_shape(self, input_shape):
        feats, probs = (tuple(s) for s in input_shape)
        return (feats[0], probs[-1], 1, feats[-1])

    def call(self, inputs):
        feats, probs = inputs
        probs = ops.transpose(_flatten_pixels(probs), (0, 2, 1))  # [N, K, HW]
        weights = ops.softmax(probs, axis=-1)
        context = ops.matmul(weights, _flatten_pixels(feats))  # [N, K, C]
        return ops.expand_dims(context, 2)


@keras.saving.register_keras_serializable(package="hrnet_tf")
class ObjectAttention(layers.Layer):
    """``object_context_block`` (``ObjectAttentionBlock2D`` with scale 1): inputs ``[pixels
    [N, H, W, C], objects [N, K, 1, C]]`` -> object context of every pixel [N, H, W, C]."""

    def __init__(self, in_channels, key_channels, bn_momentum=0.9, sync_bn=False, **kwargs):
        super().__init__(**kwargs)
        self.in_channels = int(in_channels)
        self.key_channels = int(key_channels)
        self.bn_momentum = bn_momentum
        self.sync_bn = sync_bn
        norm = {"bn_momentum": bn_momentum, "sync_bn": sync_bn}
        key = self.key_channels
        self.f_pixel = ConvBNReLUChain([key, key], name="f_pixel", **norm)
        self.f_object = ConvBNReLUChain([key, key], name="f_object", **norm)
        self.f_down = ConvBNReLUChain([key], name="f_down", **norm)
        self.f_up = ConvBNReLUChain([self.in_channels], name="f_up", **norm)

    def build(self, input_shape):
        pixels, objects = (tuple(s) for s in input_shape)
        self.f_pixel.build(pixels)
        self.f_object.build(objects)
        self.f_down.build(objects)
        self.f_up.build((*pixels[:-1], self.key_channels))

    def compute_output_shape(self, input_shape):
        pixels = tuple(input_shape[0])
        return (*pixels[:-1], self.in_channels)

    def call(self, inputs, training=None):
        x, proxy = inputs
        shape = ops.shape(x)
        query = _flatten_pixels(self.f_pixel(x, training=training))  # [N, HW, key]
        key = ops.squeeze(self.f_object(proxy, training=training), 2)  # [N, K, key]
        value = ops.squeeze(self.f_down(proxy, training=training), 2)  # [N, K, key]
        sim = ops.matmul(query, ops.transpose(key, (0, 2, 1))) * (self.key_channels ** -0.5)
        sim = ops.softmax(sim, axis=-1)  # over the objects
        context = ops.reshape(ops.matmul(sim, value), (-1, shape[1], shape[2], self.key_channels))
        return self.f_up(context, training=training)

    def get_config(self):
        return {**super().get_config(), "in_channels": self.in_channels,
                "key_channels": self.key_channels, "bn_momentum": self.bn_momentum,
                "sync_bn": self.sync_bn}


@keras.saving.register_keras_serializable(package="hrnet_tf")
class SpatialOCR(layers.Layer):
    """``ocr_distri_head`` (``SpatialOCR_Module``): inputs ``[features [N, H, W, C], objects
    [N, K, 1, C]]`` -> ``conv_bn_dropout(concat([object context, features]))`` [N, H, W, out]."""

    def __init__(self, in_channels, key_channels, out_channels, dropout=0.05, bn_momentum=0.9,
                 sync_bn=False, **kwargs):
        super().__init__(**kwargs)
        self.in_channels = int(in_channels)
        self.key_channels = int(key_channels)
        self.out_channels = int(out_channels)
        self.dropout = float(dropout)
        self.bn_momentum = bn_momentum
        self.sync_bn = sync_bn
        norm = {"bn_momentum": bn_momentum, "sync_bn": sync_bn}
        self.object_context_block = ObjectAttention(self.in_channels, self.key_channels,
                                                    name="object_context_block", **norm)
        self.conv_bn_dropout = ConvBNReLUChain([self.out_channels], self.dropout,
                                               name="conv_bn_dropout", **norm)

    def build(self, input_shape):
        pixels, objects = (tuple(s) for s in input_shape)
        self.object_context_block.build([pixels, objects])
        self.conv_bn_dropout.build((*pixels[:-1], 2 * self.in_channels))

    def compute_output_shape(self, input_shape):
        return (*tuple(input_shape[0])[:-1], self.out_channels)

    def call(self, inputs, training=None):
        feats, proxy = inputs
        context = self.object_context_block([feats, proxy], training=training)
        return self.conv_bn_dropout(ops.concatenate([context, feats], axis=-1), training=training)

    def get_config(self):
        return {**super().get_config(), "in_channels": self.in_channels,
                "key_channels": self.key_channels, "out_channels": self.out_channels,
                "dropout": self.dropout, "bn_momentum": self.bn_momentum, "sync_bn": self.sync_bn}


__all__ = ["ConvBNReLUChain", "ObjectAttention", "SpatialGather", "SpatialOCR",
           "pytorch_default_init"]
