"""Seeded random weights for parity checks against PyTorch.

The PyTorch reference (scripts/make_parity_fixtures.py) and our tests draw the same weights from numpy's
PCG64 generator in the order of the stored key list, so fixtures hold only keys, shapes, inputs and
reference outputs (kilobytes), never the weights themselves.
"""

import json

import numpy as np


def random_state_dict(keys_and_shapes, seed):
    """``{key: float32 array}`` for ``[(key, shape), ...]``, scaled to keep activations O(1)."""
    rng = np.random.default_rng(seed)
    state = {}
    for key, shape in keys_and_shapes:
        shape = tuple(shape)
        if key.endswith("num_batches_tracked"):
            continue
        if key.endswith("running_mean"):
            value = rng.normal(0.0, 0.1, shape)
        elif key.endswith("running_var"):
            value = rng.uniform(0.5, 1.5, shape)
        elif key.endswith("weight") and len(shape) == 1:  # BatchNorm gamma
            value = rng.uniform(0.5, 1.0, shape)
        elif key.endswith("weight"):  # conv (O, I, kh, kw) or linear (O, I)
            fan_in = int(np.prod(shape[1:]))
            value = rng.normal(0.0, np.sqrt(1.0 / fan_in), shape)
        else:  # biases
            value = rng.normal(0.0, 0.1, shape)
        state[key] = value.astype(np.float32)
    return state


def save_fixture(path, keys_and_shapes, seed, arrays, meta):
    np.savez_compressed(
        path,
        keys_and_shapes=np.array(json.dumps(keys_and_shapes)),
        seed=np.array(seed),
        meta=np.array(json.dumps(meta)),
        **arrays,
    )


def load_fixture(path):
    with np.load(path) as data:
        fixture = {k: data[k] for k in data.files}
    fixture["keys_and_shapes"] = json.loads(str(fixture["keys_and_shapes"]))
    fixture["meta"] = json.loads(str(fixture["meta"]))
    fixture["seed"] = int(fixture["seed"])
    return fixture
