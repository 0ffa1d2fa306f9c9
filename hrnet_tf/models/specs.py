"""Stage specifications of every released HRNet and the table of presets.

A spec mirrors the official YAML (``MODEL.EXTRA.STAGE1..STAGE4``): per stage the number of modules,
the block type, and per branch the number of blocks and the width. Stage 1 is always one module with
one Bottleneck branch; the stem is always 64 channels.
"""

from dataclasses import dataclass

from hrnet_tf.errors import ConfigError
from hrnet_tf.layers.blocks import block_class


@dataclass(frozen=True)
class StageSpec:
    num_modules: int
    num_blocks: tuple
    num_channels: tuple
    block: str = "BASIC"

    def __post_init__(self):
        object.__setattr__(self, "num_blocks", tuple(int(b) for b in self.num_blocks))
        object.__setattr__(self, "num_channels", tuple(int(c) for c in self.num_channels))
        object.__setattr__(self, "block", self.block.upper())
        block_class(self.block)  # validates the name
        if len(self.num_blocks) != len(self.num_channels):
            raise ConfigError(
                f"num_blocks {self.num_blocks} and num_channels {self.num_channels} need one entry per branch"
            )
        if self.num_modules < 1:
            raise ConfigError(f"num_modules must be >= 1, got {self.num_modules}")

    @property
    def num_branches(self):
        return len(self.num_channels)

    @property
    def out_channels(self):
        expansion = block_class(self.block).expansion
        return tuple(c * expansion for c in self.num_channels)

    @classmethod
    def from_dict(cls, d, where="stage"):
        """Reads an official YAML stage dict (NUM_MODULES, NUM_BLOCKS, ...) or lower-case keys."""
        lower = {k.lower(): v for k, v in d.items()}
        known = {
            "num_modules",
            "num_branches",
            "num_ranches",
            "block",
            "num_blocks",
            "num_channels",
            "fuse_method",
        }
        unknown = sorted(k for k in d if k.lower() not in known)
        if unknown:
            raise ConfigError(
                f"{where}: unknown key(s) {unknown}; expected NUM_MODULES, NUM_BRANCHES, BLOCK, "
                "NUM_BLOCKS, NUM_CHANNELS, FUSE_METHOD"
            )
        if lower.get("fuse_method", "SUM").upper() != "SUM":
            raise ConfigError(f"{where}: only FUSE_METHOD SUM exists in HRNet")
        try:
            spec = cls(
                num_modules=int(lower["num_modules"]),
                num_blocks=tuple(lower["num_blocks"]),
                num_channels=tuple(lower["num_channels"]),
                block=str(lower.get("block", "BASIC")),
            )
        except KeyError as e:
            raise ConfigError(f"{where}: missing key {e.args[0].upper()}") from None
        branches = lower.get("num_branches")
        if branches is not None and int(branches) != spec.num_branches:
            raise ConfigError(
                f"{where}: NUM_BRANCHES={branches} but {spec.num_branches} channel entries given"
            )
        return spec


@dataclass(frozen=True)
class HRNetSpec:
    stage1: StageSpec
    stage2: StageSpec
    stage3: StageSpec
    stage4: StageSpec
    stem_channels: int = 64

    def __post_init__(self):
        for k, stage in enumerate(self.stages, start=1):
            if stage.num_branches != k:
                raise ConfigError(f"stage{k} must have {k} branch(es), got {stage.num_branches}")
        if self.stage1.num_modules != 1:
            raise ConfigError("stage1 is a single module (the official code hard-codes it)")

    @property
    def stages(self):
        return (self.stage1, self.stage2, self.stage3, self.stage4)

    @property
    def out_channels(self):
        """Channels of the four stage-4 outputs (strides 4, 8, 16, 32)."""
        return self.stage4.out_channels

    @classmethod
    def from_dict(cls, d):
        """From ``{"STAGE1": {...}, ..., "STAGE4": {...}}`` (``MODEL.EXTRA`` of an official YAML)."""
        lower = {k.lower(): v for k, v in d.items()}
        stages = {}
        for k in range(1, 5):
            key = f"stage{k}"
            if key not in lower:
                raise ConfigError(f"stage specification is missing {key.upper()}")
            stages[key] = StageSpec.from_dict(lower[key], where=key.upper())
        allowed = {*stages, "stem_channels", "final_conv_kernel", "pretrained_layers"}
        extra = sorted(k for k in d if k.lower() not in allowed)
        if extra:
            raise ConfigError(f"unknown key(s) in stage specification: {extra}")
        return cls(**stages, stem_channels=int(lower.get("stem_channels", 64)))


def _standard(c):
    return HRNetSpec(
        stage1=StageSpec(1, (4,), (64,), "BOTTLENECK"),
        stage2=StageSpec(1, (4, 4), (c, 2 * c)),
        stage3=StageSpec(4, (4, 4, 4), (c, 2 * c, 4 * c)),
        stage4=StageSpec(3, (4, 4, 4, 4), (c, 2 * c, 4 * c, 8 * c)),
    )


PRESETS = {
    "18-small-v1": HRNetSpec(
        stage1=StageSpec(1, (1,), (32,), "BOTTLENECK"),
        stage2=StageSpec(1, (2, 2), (16, 32)),
        stage3=StageSpec(1, (2, 2, 2), (16, 32, 64)),
        stage4=StageSpec(1, (2, 2, 2, 2), (16, 32, 64, 128)),
    ),
    "18-small-v2": HRNetSpec(
        stage1=StageSpec(1, (2,), (64,), "BOTTLENECK"),
        stage2=StageSpec(1, (2, 2), (18, 36)),
        stage3=StageSpec(3, (2, 2, 2), (18, 36, 72)),
        stage4=StageSpec(2, (2, 2, 2, 2), (18, 36, 72, 144)),
    ),
    **{str(c): _standard(c) for c in (18, 30, 32, 40, 44, 48, 64)},
}

WIDTHS = (18, 30, 32, 40, 44, 48, 64, "18-small-v1", "18-small-v2")

# Not an official model: the smallest network with the full HRNet topology (4 stages, fusion at every
# module), for tests, the synthetic demo jobs and quick experiments on a CPU.
PRESETS["tiny"] = HRNetSpec(
    stage1=StageSpec(1, (1,), (8,), "BOTTLENECK"),
    stage2=StageSpec(1, (1, 1), (8, 16)),
    stage3=StageSpec(1, (1, 1, 1), (8, 16, 32)),
    stage4=StageSpec(1, (1, 1, 1, 1), (8, 16, 32, 64)),
    stem_channels=16,
)


def resolve_spec(width):
    """A preset width (18, 32, "18-small-v1", ...), an HRNetSpec, or an official stage dict."""
    if isinstance(width, HRNetSpec):
        return width
    if isinstance(width, dict):
        return HRNetSpec.from_dict(width)
    key = str(width).lower().removeprefix("w")
    if key not in PRESETS:
        raise ConfigError(
            f"unknown HRNet width {width!r}; choose one of {[*WIDTHS, 'tiny']} or pass a stage "
            "specification (HRNetSpec or a dict with STAGE1..STAGE4)"
        )
    return PRESETS[key]


def spec_name(width):
    if isinstance(width, (HRNetSpec, dict)):
        return "custom"
    return f"w{str(width).lower().removeprefix('w')}"


def spec_to_config(spec):
    """A JSON-able dict that `HRNetSpec.from_dict` reads back (for get_config/serialization)."""
    out = {}
    for k, stage in enumerate(spec.stages, start=1):
        out[f"STAGE{k}"] = {
            "NUM_MODULES": stage.num_modules,
            "NUM_BRANCHES": stage.num_branches,
            "BLOCK": stage.block,
            "NUM_BLOCKS": list(stage.num_blocks),
            "NUM_CHANNELS": list(stage.num_channels),
        }
    out["STEM_CHANNELS"] = spec.stem_channels
    return out
