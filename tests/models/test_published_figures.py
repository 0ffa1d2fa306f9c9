"""Parameter counts and GFLOPs of the full-size models against the published tables
(hrnet-facts.md section 2.2). Models are only built and traced here, never run."""

import pytest

import hrnet_tf
from hrnet_tf.summary import count_gflops, count_parameters

pytestmark = pytest.mark.slow  # full-size networks: about a minute in all

# (width, published #params in millions, exact trainable count where the facts give one)
CLASSIFIERS = [
    ("18-small-v1", 13.19, None),
    ("18-small-v2", 15.60, None),
    (18, 21.30, 21_299_004),
    (30, 37.71, None),
    (32, 41.23, 41_232_680),
    (40, 57.56, None),
    (44, 67.06, None),
    (48, 77.47, 77_469_864),
    (64, 128.06, None),
]


def assert_params(model, millions, exact):
    params = count_parameters(model)
    if exact is not None:
        assert params == exact
    assert abs(params / 1e6 - millions) <= 0.01, f"{params:,} vs {millions}M"


@pytest.mark.parametrize("width,millions,exact", CLASSIFIERS, ids=[str(c[0]) for c in CLASSIFIERS])
def test_classifier_parameters(width, millions, exact):
    assert_params(hrnet_tf.HRNetClassifier(width), millions, exact)


@pytest.mark.parametrize("width,millions,exact", [(32, 28.54, 28_536_113), (48, 63.60, 63_595_745)])
def test_pose_parameters(width, millions, exact):
    assert_params(hrnet_tf.HRNetV1(width, num_outputs=17), millions, exact)


@pytest.mark.parametrize("width,millions", [(48, 65.86), ("18-small-v1", 1.54), ("18-small-v2", 3.94)])
def test_segmentation_parameters(width, millions):
    assert_params(hrnet_tf.HRNetV2(width, num_classes=19), millions, None)


@pytest.mark.parametrize(
    "build,size,published",
    [
        (lambda: hrnet_tf.HRNetClassifier(18), (224, 224), 3.99),
        (lambda: hrnet_tf.HRNetV1(32, input_shape=(256, 192, 3)), (256, 192), 7.1),
        (lambda: hrnet_tf.HRNetV2(48, num_classes=19), (1024, 2048), 696.2),
    ],
    ids=["cls-w18-224", "pose-w32-256x192", "seg-w48-1024x2048"],
)
def test_gflops_match_official_definition(build, size, published):
    gflops = count_gflops(build(), size)
    assert abs(gflops - published) / published <= 0.005, f"{gflops:.3f} vs {published}"
