"""The public constructors: shapes, heads, fusion modes, BatchNorm settings and initialization
(tiny widths and inputs)."""

import numpy as np
import pytest

import hrnet_tf
from hrnet_tf.errors import ConfigError
from hrnet_tf.models import HRNetSpec, StageSpec
from tests.helpers import normal_images as images


def test_custom_stage_specification_builds():
    spec = HRNetSpec(
        stage1=StageSpec(1, (1,), (16,), "BOTTLENECK"),
        stage2=StageSpec(1, (1, 1), (8, 16)),
        stage3=StageSpec(2, (1, 1, 1), (8, 16, 32)),
        stage4=StageSpec(1, (1, 1, 1, 1), (8, 16, 32, 64)),
    )
    model = hrnet_tf.HRNetV2(spec, num_classes=None)
    assert model.predict(images((1, 64, 64, 3)), verbose=0).shape == (1, 16, 16, 8 + 16 + 32 + 64)
    assert [module.name for module in model.get_layer("stage3").members] == ["0", "1"]
    assert model.info.spec == spec and model.info.width == "custom"


def test_hrnet_v1_heatmaps_from_the_high_resolution_branch_only():
    model = hrnet_tf.HRNetV1("tiny", num_outputs=17, input_shape=(96, 64, 3))
    assert model.predict(images((2, 96, 64, 3)), verbose=0).shape == (2, 24, 16, 17)
    last = model.get_layer("stage4").members[-1]
    assert last.fuse.num_outputs == 1 and [row.name for row in last.fuse.rows] == ["0"]
    features = hrnet_tf.HRNetV1("tiny", num_outputs=None, input_shape=(96, 64, 3))
    assert features.output.shape == (None, 24, 16, 8)


def test_nearest_fusion_rejects_sizes_that_are_not_multiples_of_32():
    with pytest.raises(ConfigError, match=r"\(64, 48\).*multiple of 32"):
        hrnet_tf.HRNetV1("tiny", input_shape=(64, 48, 3))
    hrnet_tf.HRNetV1("tiny", input_shape=(64, 48, 3), upsample_method="bilinear")


def test_hrnet_v2_any_input_size_and_15c_features():
    model = hrnet_tf.HRNetV2("tiny", num_classes=5)
    for h, w in [(64, 64), (70, 90), (33, 47)]:
        out = model.predict(images((1, h, w, 3)), verbose=0)
        assert out.shape == (1, -(-h // 4), -(-w // 4), 5)
    features = hrnet_tf.HRNetV2(48, num_classes=None, input_shape=(64, 64, 3))
    assert features.output.shape[-1] == 15 * 48


def test_hrnet_v2p_pyramid_levels():
    model = hrnet_tf.HRNetV2p("tiny", input_shape=(128, 128, 3))
    out = model.predict(images((1, 128, 128, 3)), verbose=0)
    assert sorted(out) == ["P2", "P3", "P4", "P5", "P6"]
    for level, stride in zip(["P2", "P3", "P4", "P5", "P6"], [4, 8, 16, 32, 64], strict=True):
        assert out[level].shape == (1, 128 // stride, 128 // stride, 256)


def test_classifier_head_options():
    model = hrnet_tf.HRNetClassifier("tiny", num_classes=10, input_shape=(64, 64, 3))
    assert model.predict(images((2, 64, 64, 3)), verbose=0).shape == (2, 10)
    no_bias = hrnet_tf.HRNetClassifier("tiny", num_classes=10, input_shape=(64, 64, 3), head_conv_bias=False)
    assert model.count_params() - no_bias.count_params() == 256 + 512 + 1024 + 2048
    pooled = hrnet_tf.HRNetClassifier("tiny", num_classes=None, input_shape=(64, 64, 3))
    assert pooled.output.shape == (None, 2048)


def test_sync_bn_flag_reaches_every_batch_norm():
    model = hrnet_tf.HRNetV2("tiny", num_classes=3, sync_bn=True)
    bns = [w for w in model.weights if "moving_mean" in w.path]
    assert bns
    import keras

    def walk(layer):
        yield layer
        for child in layer._flatten_layers(include_self=False, recursive=False):
            yield from walk(child)

    norms = [
        lyr for top in model.layers for lyr in walk(top) if isinstance(lyr, keras.layers.BatchNormalization)
    ]
    assert len(norms) == len(bns) and all(n.synchronized for n in norms)
    assert all(abs(n.epsilon - 1e-5) < 1e-12 for n in norms)




@pytest.mark.slow
def test_training_step_compiles_under_xla_with_nearest_fusion():
    """Gradients of the fixed-factor nearest fusion must lower to XLA (jit_compile training)."""
    import tensorflow as tf

    model = hrnet_tf.HRNetV1("tiny", num_outputs=3, input_shape=(64, 64, 3))
    x = tf.constant(images((2, 64, 64, 3)))

    @tf.function(jit_compile=True)
    def grads(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(model(x, training=True) ** 2)
        return tape.gradient(loss, model.trainable_variables)

    assert all(g is not None for g in grads(x))


@pytest.mark.parametrize(
    "build",
    [
        lambda: hrnet_tf.HRNetV1("18-small-v1", input_shape=(64, 64, 3)),
        lambda: hrnet_tf.HRNetV2p("tiny", input_shape=(64, 64, 3)),
        lambda: hrnet_tf.HRNetClassifier("tiny", num_classes=5, input_shape=(64, 64, 3)),
    ],
)
def test_every_kernel_starts_from_its_own_random_draw(build):
    # One shared Keras 3 initializer instance hands every same-shaped kernel the same values
    # (41 of W18-small-v1's 59 kernels were copies), which symmetric training never undoes.
    kernels = [w.numpy() for w in build().weights if w.path.endswith("kernel")]
    fingerprints = {(k.shape, k.tobytes()) for k in kernels}
    assert len(fingerprints) == len(kernels)
    # and the official scale: kaiming normal, fan-out, for the trunk's 3x3 convs
    trunk = [k for k in kernels if k.shape[:2] == (3, 3) and k.size > 10_000]
    for kernel in trunk:
        fan_out = kernel.shape[0] * kernel.shape[1] * kernel.shape[3]
        assert np.std(kernel) == pytest.approx(np.sqrt(2.0 / fan_out), rel=0.1)
