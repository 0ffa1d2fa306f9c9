"""The HRNet trunk: stem, stage 1, and stages 2-4 of parallel resolutions with repeated fusion."""

from keras import layers

from hrnet_tf.errors import ConfigError
from hrnet_tf.layers.blocks import ResidualStack
from hrnet_tf.layers.common import batch_norm, conv_init
from hrnet_tf.layers.hr_module import HRStage, TransitionLayer


def stem(x, channels=64, bn_momentum=0.9, sync_bn=False):
    """Two stride-2 3x3 conv-BN-ReLU (official ``conv1/bn1/conv2/bn2``): stride 4."""
    for i in (1, 2):
        x = layers.ZeroPadding2D(1, name=f"stem_pad{i}")(x)
        x = layers.Conv2D(
            channels, 3, strides=2, use_bias=False, kernel_initializer=conv_init(), name=f"conv{i}"
        )(x)
        x = batch_norm(f"bn{i}", bn_momentum, sync_bn)(x)
        x = layers.ReLU(name=f"relu{i}")(x)
    return x


def hrnet_trunk(
    x,
    spec,
    *,
    upsample_method="nearest",
    multi_scale_output=True,
    bn_momentum=0.9,
    sync_bn=False,
):
    """Applies the HRNet trunk to the image tensor ``x``; returns the list of stage-4 outputs.

    ``multi_scale_output=False`` builds only the high-resolution output in the last module (HRNetV1).
    """
    if upsample_method == "nearest":
        bad = [d for d in x.shape[1:3] if d is not None and d % 32]
        if bad:
            raise ConfigError(
                f"input size {tuple(x.shape[1:3])} must be a multiple of 32 for fusion by nearest "
                "upsampling with fixed factors (the official classification/pose/detection rule); "
                "use upsample_method='bilinear' for arbitrary sizes"
            )
    norm = {"bn_momentum": bn_momentum, "sync_bn": sync_bn}
    x = stem(x, spec.stem_channels, **norm)

    stage1 = spec.stage1
    x = ResidualStack(stage1.block, spec.stem_channels, stage1.num_channels[0], stage1.num_blocks[0],
                      name="layer1", **norm)(x)

    features = [x]
    channels = list(stage1.out_channels)
    for s, stage in enumerate(spec.stages[1:], start=2):
        features = TransitionLayer(channels, stage.out_channels, name=f"transition{s - 1}", **norm)(features)
        features = HRStage(
            stage.out_channels,
            stage.num_modules,
            stage.num_blocks,
            stage.num_channels,
            block=stage.block,
            multi_scale_output=multi_scale_output or s < 4,
            upsample_method=upsample_method,
            name=f"stage{s}",
            **norm,
        )(features)
        channels = list(stage.out_channels)
    return features
