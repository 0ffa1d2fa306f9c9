"""Stage specifications: the official YAML ``MODEL.EXTRA`` dicts, presets, and one-line errors."""

import pytest

import hrnet_tf
from hrnet_tf.errors import ConfigError
from hrnet_tf.models import HRNetSpec, resolve_spec

OFFICIAL_W18_YAML = {  # MODEL.EXTRA of cls_hrnet_w18_sgd_lr5e-2_wd1e-4_bs32_x100.yaml
    "STAGE1": {
        "NUM_MODULES": 1,
        "NUM_RANCHES": 1,
        "BLOCK": "BOTTLENECK",
        "NUM_BLOCKS": [4],
        "NUM_CHANNELS": [64],
        "FUSE_METHOD": "SUM",
    },
    "STAGE2": {
        "NUM_MODULES": 1,
        "NUM_BRANCHES": 2,
        "BLOCK": "BASIC",
        "NUM_BLOCKS": [4, 4],
        "NUM_CHANNELS": [18, 36],
        "FUSE_METHOD": "SUM",
    },
    "STAGE3": {
        "NUM_MODULES": 4,
        "NUM_BRANCHES": 3,
        "BLOCK": "BASIC",
        "NUM_BLOCKS": [4, 4, 4],
        "NUM_CHANNELS": [18, 36, 72],
        "FUSE_METHOD": "SUM",
    },
    "STAGE4": {
        "NUM_MODULES": 3,
        "NUM_BRANCHES": 4,
        "BLOCK": "BASIC",
        "NUM_BLOCKS": [4, 4, 4, 4],
        "NUM_CHANNELS": [18, 36, 72, 144],
        "FUSE_METHOD": "SUM",
    },
}


def test_official_yaml_stage_dict_equals_the_w18_preset():
    assert HRNetSpec.from_dict(OFFICIAL_W18_YAML) == resolve_spec(18)
    assert resolve_spec("w18") == resolve_spec(18)

@pytest.mark.parametrize(
    "bad,message",
    [
        (
            {**OFFICIAL_W18_YAML, "STAGE2": {**OFFICIAL_W18_YAML["STAGE2"], "NUM_BRANCHES": 3}},
            "STAGE2: NUM_BRANCHES=3 but 2 channel entries given",
        ),
        (
            {**OFFICIAL_W18_YAML, "STAGE3": {**OFFICIAL_W18_YAML["STAGE3"], "NUM_CHANEL": [1]}},
            r"STAGE3: unknown key\(s\) \['NUM_CHANEL'\]; expected NUM_MODULES",
        ),
        ({k: v for k, v in OFFICIAL_W18_YAML.items() if k != "STAGE4"}, "specification is missing STAGE4"),
        (
            {**OFFICIAL_W18_YAML, "STAGE2": {**OFFICIAL_W18_YAML["STAGE2"], "BLOCK": "RESNEXT"}},
            r"block must be one of \['BASIC', 'BOTTLENECK'\], got 'RESNEXT'",
        ),
    ],
)
def test_bad_stage_specifications_name_the_problem(bad, message):
    with pytest.raises(ConfigError, match=message):
        HRNetSpec.from_dict(bad)


def test_unknown_width_lists_the_choices():
    with pytest.raises(ConfigError, match=r"unknown HRNet width 20; choose one of \[18, .*'18-small-v2'"):
        hrnet_tf.HRNetV2(width=20)
