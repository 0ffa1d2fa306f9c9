"""Small helpers shared by the tests of several packages."""

import numpy as np

from hrnet_tf.models.specs import HRNetSpec, StageSpec

# A custom stage specification (not a preset): small, with two modules in stage 4.
SMALL_SPEC = HRNetSpec(
    stage1=StageSpec(1, (1,), (8,), "BOTTLENECK"),
    stage2=StageSpec(1, (1, 1), (4, 8)),
    stage3=StageSpec(1, (1, 1, 1), (4, 8, 16)),
    stage4=StageSpec(2, (1, 1, 1, 1), (4, 8, 16, 32)),
    stem_channels=8,
)


def normal_images(shape, seed=0):
    """float32 standard-normal "images" (already normalized network inputs)."""
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def randomize_batch_norm(model, seed=0):
    """Non-trivial BN parameters and statistics: a reload that lost them, or a fold that ignored
    them, would show."""
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        path = variable.path
        if "moving_variance" in path or "gamma" in path:
            variable.assign(rng.uniform(0.5, 1.5, variable.shape).astype("float32"))
        elif "moving_mean" in path or "beta" in path:
            variable.assign(rng.normal(0, 0.1, variable.shape).astype("float32"))
    return model


def assert_user_error(status, capsys, pattern):
    """A command's result for a user error: exit status 2 and exactly one stderr line
    ``error: ...`` matching the regular expression ``pattern``; returns that line."""
    import re

    err = capsys.readouterr().err.strip()
    assert status == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    assert re.search(pattern, err), err
    return err
