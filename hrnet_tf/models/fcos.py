"""The FCOS head of mmdetection on the HRNetV2p pyramid, with mmdetection's module names.

Read from open-mmlab/mmdetection ``mmdet/models/dense_heads/fcos_head.py`` (``FCOSHead.forward_single``)
and ``anchor_free_head.py`` (``AnchorFreeHead._init_cls_convs/_init_reg_convs/_init_predictor``): two
towers of ``stacked_convs`` 3x3 conv-GroupNorm-ReLU units (mmcv ``ConvModule``; the conv has no bias
with a norm, ``conv_bias='auto'``), shared by every pyramid level; ``conv_cls`` (class logits),
``conv_reg`` (four distances) and ``conv_centerness`` (one logit), 3x3 with bias; a learnable scalar per
level (mmcv ``Scale``, ``scales.{i}.scale``). The distances are ``exp(scale * reg)`` or, with
``norm_on_bbox``, ``relu(scale * reg) * stride`` (mmdet multiplies by the stride at test time only;
here the output is always in input pixels, which gives the same decoded boxes and, IoU being scale
invariant about the point, the same losses). The centerness comes from the classification tower, or
the regression tower with ``centerness_on_reg``.

Keras names: ``bbox_head`` > ``cls_convs`` > ``0`` > ``conv``/``gn``, ``conv_cls``, ``scales`` > ``0``,
so :func:`hrnet_tf.convert.torch_variable_map` gives mmdet's keys (``bbox_head.cls_convs.0.gn.weight``,
``bbox_head.scales.0.scale``).

The output is one tensor ``[batch, points, num_classes + 5]``: per point (levels in order, each in
row-major order, as mmdet flattens them) the class logits, the distances (left, top, right, bottom)
in input pixels and the centerness logit. :func:`hrnet_tf.detection.codec.level_sizes` gives the
points of an input size.
"""

import math

import keras
from keras import layers, ops

from hrnet_tf.layers.common import Group

GN_EPSILON = 1e-5  # torch.nn.GroupNorm


def head_normal():
    """mmdet's ``normal_init(std=0.01)`` of the head convs (a new instance per layer)."""
    return keras.initializers.RandomNormal(stddev=0.01)


def prior_bias(probability=0.01):
    """``bias_init_with_prob``: the classification bias ``-log((1 - p) / p)``."""
    return -math.log((1.0 - probability) / probability)


@keras.saving.register_keras_serializable(package="hrnet_tf")
class Scale(layers.Layer):
    """mmcv ``Scale``: multiplies by one learnable scalar (PyTorch key ``<name>.scale``)."""

    def __init__(self, initial=1.0, **kwargs):
        super().__init__(**kwargs)
        self.initial = float(initial)

    def build(self, input_shape):
        self.scale = self.add_weight(name="scale", shape=(),
                                     initializer=keras.initializers.Constant(self.initial))

    def compute_output_shape(self, input_shape):
        return input_shape

    def call(self, x):
        return x * ops.cast(self.scale, x.dtype)

    def torch_parameters(self):
        """(PyTorch parameter name, variable, layout permutation) for :mod:`hrnet_tf.convert`."""
        return [("scale", self.scale, None)]

    def get_config(self):
        return {**super().get_config(), "initial": self.initial}


@keras.saving.register_keras_serializable(package="hrnet_tf")
class ConvGN(layers.Layer):
    """mmcv ``ConvModule(3x3 conv, GroupNorm, ReLU)``: children ``conv`` and ``gn``."""

    def __init__(self, filters, groups=32, use_bias=False, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.groups = groups
        self.use_bias = use_bias
        self.conv = layers.Conv2D(filters, 3, padding="same", use_bias=use_bias,
                                  kernel_initializer=head_normal(), name="conv")
        self.gn = layers.GroupNormalization(groups, epsilon=GN_EPSILON, name="gn")

    def build(self, input_shape):
        self.conv.build(input_shape)
        self.gn.build(self.conv.compute_output_shape(input_shape))

    def compute_output_shape(self, input_shape):
        return self.conv.compute_output_shape(input_shape)

    def call(self, x):
        return ops.relu(self.gn(self.conv(x)))

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "groups": self.groups,
                "use_bias": self.use_bias}


@keras.saving.register_keras_serializable(package="hrnet_tf")
class FCOSHead(layers.Layer):
    """mmdetection's ``FCOSHead`` on a list of pyramid levels; see the module docstring."""

    def __init__(self, num_classes, strides, feat_channels=256, stacked_convs=4, groups=32,
                 conv_bias=False, norm_on_bbox=False, centerness_on_reg=False,
                 prior_probability=0.01, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = int(num_classes)
        self.strides = [int(s) for s in strides]
        self.feat_channels = int(feat_channels)
        self.stacked_convs = int(stacked_convs)
        self.groups = int(groups)
        self.conv_bias = bool(conv_bias)
        self.norm_on_bbox = bool(norm_on_bbox)
        self.centerness_on_reg = bool(centerness_on_reg)
        self.prior_probability = float(prior_probability)

        def tower(name):
            return Group([ConvGN(self.feat_channels, self.groups, self.conv_bias, name=str(i))
                          for i in range(self.stacked_convs)], name=name)

        def predictor(filters, name, bias=0.0):
            return layers.Conv2D(filters, 3, padding="same", kernel_initializer=head_normal(),
                                 bias_initializer=keras.initializers.Constant(bias), name=name)

        self.cls_convs = tower("cls_convs")
        self.reg_convs = tower("reg_convs")
        self.conv_cls = predictor(self.num_classes, "conv_cls", prior_bias(self.prior_probability))
        self.conv_reg = predictor(4, "conv_reg")
        self.conv_centerness = predictor(1, "conv_centerness")
        self.scales = Group([Scale(1.0, name=str(i)) for i in range(len(self.strides))],
                            name="scales")

    def build(self, input_shape):
        shape = tuple(list(input_shape)[0])
        for tower in (self.cls_convs, self.reg_convs):
            level = shape
            for unit in tower:
                unit.build(level)
                level = unit.compute_output_shape(level)
        feat = (*shape[:-1], self.feat_channels)
        for conv in (self.conv_cls, self.conv_reg, self.conv_centerness):
            conv.build(feat)
        for scale in self.scales:
            scale.build(())

    def compute_output_shape(self, input_shape):
        shapes = [tuple(s) for s in list(input_shape)]
        points = 0
        for shape in shapes:
            if shape[1] is None or shape[2] is None:
                points = None
                break
            points += shape[1] * shape[2]
        return (shapes[0][0], points, self.num_classes + 5)

    def forward_level(self, x, index):
        """(class logits, distances in input pixels, centerness logit) of one level, NHWC."""
        cls_feat = x
        for unit in self.cls_convs:
            cls_feat = unit(cls_feat)
        reg_feat = x
        for unit in self.reg_convs:
            reg_feat = unit(reg_feat)
        cls_score = self.conv_cls(cls_feat)
        centerness = self.conv_centerness(reg_feat if self.centerness_on_reg else cls_feat)
        bbox_pred = self.scales[index](self.conv_reg(reg_feat))
        if self.norm_on_bbox:
            bbox_pred = ops.relu(bbox_pred) * float(self.strides[index])
        else:
            bbox_pred = ops.exp(bbox_pred)
        return cls_score, bbox_pred, centerness

    def call(self, inputs):
        flat = []
        for index, x in enumerate(list(inputs)):
            outputs = ops.concatenate(list(self.forward_level(x, index)), axis=-1)
            batch = ops.shape(outputs)[0]
            flat.append(ops.reshape(outputs, (batch, -1, self.num_classes + 5)))
        return ops.concatenate(flat, axis=1)

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "strides": list(self.strides),
            "feat_channels": self.feat_channels,
            "stacked_convs": self.stacked_convs,
            "groups": self.groups,
            "conv_bias": self.conv_bias,
            "norm_on_bbox": self.norm_on_bbox,
            "centerness_on_reg": self.centerness_on_reg,
            "prior_probability": self.prior_probability,
        }


__all__ = ["ConvGN", "FCOSHead", "Scale", "prior_bias"]
