"""The building blocks against the official PyTorch modules, written out in NumPy.

Official code: HRNet/HRNet-Image-Classification lib/models/cls_hrnet.py (``BasicBlock``,
``Bottleneck``, ``HighResolutionModule._make_fuse_layers`` and ``forward``,
``HighResolutionNet._make_transition_layer``). Convolutions pad ``k // 2`` on each side, BatchNorm
(inference) uses epsilon 1e-5, ReLU comes after the residual sum and after the fusion sum only.
"""

import keras
import numpy as np
import pytest

from hrnet_tf.layers import (
    BasicBlock,
    Bottleneck,
    ConvBN,
    FuseLayer,
    HighResolutionModule,
    TransitionLayer,
)
from hrnet_tf.layers.hr_module import HRStage
from tests.helpers import normal_images, randomize_batch_norm


def conv2d(x, conv, stride):
    """PyTorch ``nn.Conv2d(padding=k // 2)`` on NHWC float64, with the Keras layer's kernel."""
    kernel = np.asarray(conv.kernel, np.float64)
    kh, kw = kernel.shape[:2]
    xp = np.pad(x, [(0, 0), (kh // 2, kh // 2), (kw // 2, kw // 2), (0, 0)])
    oh = (xp.shape[1] - kh) // stride + 1
    ow = (xp.shape[2] - kw) // stride + 1
    out = np.zeros((x.shape[0], oh, ow, kernel.shape[3]))
    for i in range(kh):
        for j in range(kw):
            out += xp[:, i : i + stride * oh : stride, j : j + stride * ow : stride] @ kernel[i, j]
    return out + (np.asarray(conv.bias) if conv.use_bias else 0)


def batch_norm(x, bn):
    gamma, beta, mean, var = (np.asarray(w, np.float64) for w in bn.get_weights())
    return (x - mean) / np.sqrt(var + 1e-5) * gamma + beta


def relu(x):
    return np.maximum(x, 0)


def conv_bn(x, unit, stride, activation):
    """``nn.Sequential(conv, BatchNorm2d[, ReLU])``: a ConvBN."""
    y = batch_norm(conv2d(x, unit.conv, stride), unit.bn)
    return relu(y) if activation else y


def built(layer, *shapes, seed=0):
    """``layer`` called once on random inputs, then given random BN parameters and statistics (a
    fresh layer's are the identity, which would hide a wrong epsilon or order); returns (layer,
    inputs)."""
    inputs = [normal_images(shape, seed + i) for i, shape in enumerate(shapes)]
    layer(inputs if len(inputs) > 1 else inputs[0])
    randomize_batch_norm(layer, seed)
    return layer, inputs


def output(layer, inputs):
    result = layer(inputs if len(inputs) > 1 else inputs[0], training=False)
    if isinstance(result, (list, tuple)):
        return [np.asarray(r, np.float64) for r in result]
    return np.asarray(result, np.float64)


def assert_close(got, want):
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * float(np.abs(want).max()))


def test_strided_convs_pad_symmetrically_like_pytorch():
    """A 3x3 stride-2 conv with an all-ones kernel on an even-sized ramp must see the PyTorch window
    (rows -1..1 for output 0), not Keras "same"'s bottom/right-only padding."""
    block = BasicBlock(1, 1, strides=2, name="b")
    block.build((1, 4, 4, 1))
    x = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    out = keras.ops.convert_to_numpy(block.pad1(x))
    conv = keras.layers.Conv2D(1, 3, strides=2, use_bias=False, kernel_initializer="ones")
    y = keras.ops.convert_to_numpy(conv(out))[0, :, :, 0]
    xp = np.pad(x[0, :, :, 0], 1)
    expected = np.array([[xp[r : r + 3, c : c + 3].sum() for c in (0, 2)] for r in (0, 2)])
    np.testing.assert_array_equal(y, expected)


def test_conv_bn_is_conv_then_batch_norm_then_relu():
    unit, (x,) = built(ConvBN(6, 3, strides=2, name="unit"), (2, 9, 8, 4))
    assert unit.bn.epsilon == pytest.approx(1e-5)
    assert_close(output(unit, [x]), conv_bn(x, unit, 2, activation=True))
    linear, (x,) = built(ConvBN(6, 1, activation=False, use_bias=True, name="linear"), (1, 5, 5, 4))
    assert_close(output(linear, [x]), conv_bn(x, linear, 1, activation=False))


def test_basic_block_with_projection_is_the_official_formula():
    block, (x,) = built(BasicBlock(4, 8, strides=2, name="block"), (2, 8, 8, 4))
    # BasicBlock.forward: relu(bn2(conv2(relu(bn1(conv1(x))))) + downsample(x)); the stride is on
    # conv1 and on the 1x1 projection.
    out = relu(batch_norm(conv2d(x, block.conv1, 2), block.bn1))
    out = batch_norm(conv2d(out, block.conv2, 1), block.bn2)
    shortcut = conv_bn(x, block.downsample, 2, activation=False)
    assert_close(output(block, [x]), relu(out + shortcut))


def test_bottleneck_is_the_official_formula():
    block, (x,) = built(Bottleneck(16, 4, name="block"), (2, 6, 6, 16))
    assert block.downsample is None  # 4 x 4 = 16 channels in and out: the identity shortcut
    out = relu(batch_norm(conv2d(x, block.conv1, 1), block.bn1))
    out = relu(batch_norm(conv2d(out, block.conv2, 1), block.bn2))
    out = batch_norm(conv2d(out, block.conv3, 1), block.bn3)
    assert_close(output(block, [x]), relu(out + x))


def reference_fuse(layer, xs):
    """``HighResolutionModule.forward``'s fusion with nearest upsampling by 2^(j-i)."""
    outputs = []
    for i in range(layer.num_outputs):
        total = 0
        for j, x in enumerate(xs):
            path = layer.rows[i][j]
            if j == i:
                y = x
            elif j > i:  # 1x1 conv-BN, nn.Upsample(scale_factor=2 ** (j - i), mode="nearest")
                y = conv_bn(x, path, 1, activation=False)
                y = np.repeat(np.repeat(y, 2 ** (j - i), axis=1), 2 ** (j - i), axis=2)
            else:  # i - j stride-2 3x3 conv-BN, ReLU between them, none after the last
                y = x
                for k, unit in enumerate(path.members):
                    y = conv_bn(y, unit, 2, activation=k < len(path.members) - 1)
            total = total + y
        outputs.append(relu(total))
    return outputs


@pytest.mark.parametrize("num_outputs", [None, 1])
def test_fuse_layer_is_the_official_sum_of_paths(num_outputs):
    shapes = [(1, 16, 12, 4), (1, 8, 6, 8), (1, 4, 3, 16)]
    layer, xs = built(FuseLayer([4, 8, 16], num_outputs=num_outputs, name="fuse_layers"), *shapes)
    got = output(layer, xs)
    want = reference_fuse(layer, xs)
    assert len(got) == len(want) == (3 if num_outputs is None else 1)
    for g, w in zip(got, want, strict=True):
        assert_close(g, w)


def test_transition_feeds_a_new_branch_from_the_last_branch():
    layer, xs = built(TransitionLayer([4, 8], [4, 16, 32], name="transition2"), (1, 8, 8, 4),
                      (1, 4, 4, 8))
    got = output(layer, xs)
    np.testing.assert_array_equal(got[0], xs[0])  # same width: passes through
    assert_close(got[1], conv_bn(xs[1], layer.paths[1], 1, activation=True))
    # The official code builds the new branch from x_list[-1], not from every branch.
    (unit,) = layer.paths[2].members
    assert_close(got[2], conv_bn(xs[1], unit, 2, activation=True))


def test_stage_of_modules_drops_the_low_resolutions_only_at_its_end():
    stage = HRStage([4, 8], 2, [1, 1], [4, 8], multi_scale_output=False, name="stage2")
    xs = [normal_images((1, 8, 8, 4), 1), normal_images((1, 4, 4, 8), 2)]
    out = stage(xs, training=False)
    first, last = stage.members
    assert first.fuse.num_outputs == 2 and last.fuse.num_outputs == 1
    assert len(out) == 1 and tuple(out[0].shape) == (1, 8, 8, 4)
    np.testing.assert_allclose(np.asarray(out[0]), np.asarray(last(first(xs))[0]), rtol=1e-6,
                               atol=1e-6)


@pytest.mark.parametrize(
    "layer,inputs",
    [
        (ConvBN(8, 3, strides=2, name="convbn"), [(1, 8, 8, 4)]),
        (BasicBlock(8, 8, name="basic"), [(1, 8, 8, 8)]),
        (Bottleneck(8, 4, strides=2, name="bottleneck"), [(1, 8, 8, 8)]),
        (
            TransitionLayer([8, 16], [8, 16, 32], name="transition2"),
            [[(1, 8, 8, 8), (1, 4, 4, 16)]],
        ),
        (
            FuseLayer([8, 16, 32], upsample_method="bilinear_align_corners", name="fuse_layers"),
            [[(1, 8, 8, 8), (1, 4, 4, 16), (1, 2, 2, 32)]],
        ),
        (
            HighResolutionModule([8, 16], [1, 1], [8, 16], multi_scale_output=False, name="m"),
            [[(1, 8, 8, 8), (1, 4, 4, 16)]],
        ),
        (
            HRStage([8, 16], 2, [1, 1], [8, 16], upsample_method="bilinear", name="stage"),
            [[(1, 8, 8, 8), (1, 4, 4, 16)]],
        ),
    ],
    ids=lambda v: getattr(v, "name", None),
)
def test_layers_round_trip_through_get_config(layer, inputs):
    def make(shape):
        if isinstance(shape, list):
            return [make(s) for s in shape]
        return normal_images(shape, seed=len(shape))

    args = make(inputs[0])
    expected = layer(args)
    clone = type(layer).from_config(layer.get_config())
    clone(args)
    clone.set_weights(layer.get_weights())
    got = clone(args)
    as_list = lambda v: list(v) if isinstance(v, (list, tuple)) else [v]  # noqa: E731
    for a, b in zip(as_list(expected), as_list(got), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-6)
