"""Reading official checkpoint files (.pth/.pt/.bin with torch, .safetensors, .npz) into state dicts."""

import contextlib
import os
import pickle
import zipfile

import numpy as np

from hrnet_tf.convert.layouts import NESTED_STATE_KEYS, to_official
from hrnet_tf.convert.torch_weights import LoadReport, load_torch_state_dict
from hrnet_tf.errors import ModelFileError

TORCH_SUFFIXES = (".pth", ".pt", ".bin", ".pth.tar", ".safetensors", ".npz")

def read_state_dict(path):
    """``{key: numpy array}`` from a checkpoint file; torch is imported only for .pth/.pt/.bin and
    loads with ``weights_only=True`` (tensors only, never unpickled code).

    A missing, truncated or foreign file raises :class:`ModelFileError` naming it."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ModelFileError(f"checkpoint not found: {path}")
    try:
        return _read_state_dict(path)
    except ModelFileError:
        raise
    except _read_errors() as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelFileError(f"{path}: cannot be read as a checkpoint ({first})") from None


def _read_errors():
    """What the readers raise on a damaged or foreign file (torch: UnpicklingError for anything that
    is not a tensor pickle, RuntimeError for a broken zip; numpy: ValueError, BadZipFile)."""
    errors = (OSError, ValueError, RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile)
    try:
        from safetensors import SafetensorError
    except ImportError:
        return errors
    return (*errors, SafetensorError)


def _read_state_dict(path):
    if path.endswith(".safetensors"):
        from safetensors.numpy import load_file

        return dict(load_file(path))
    if path.endswith(".npz"):
        with np.load(path) as data:
            return {k: data[k] for k in data.files}
    if path.endswith((".pth", ".pt", ".bin", ".pth.tar")):
        try:
            import torch
        except ImportError:
            raise ModelFileError(
                f"reading {path} needs PyTorch (pip install 'hrnet_tf[parity]'), or convert it to "
                ".safetensors first"
            ) from None
        with numpy_safe_globals():  # OpenMMLab 1.x files keep numpy arrays in their meta
            obj = torch.load(path, map_location="cpu", weights_only=True)
        for key in NESTED_STATE_KEYS:
            if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
                obj = obj[key]
                break
        if not isinstance(obj, dict):
            raise ModelFileError(f"{path}: expected a state dict, found {type(obj).__name__}")
        return {k: v.float().numpy() if v.is_floating_point() else v.numpy() for k, v in obj.items()}
    raise ModelFileError(
        f"{path}: unknown checkpoint format (expected .pth, .pt, .bin, .safetensors, .npz)"
    )


@contextlib.contextmanager
def numpy_safe_globals():
    """Lets ``torch.load(weights_only=True)`` rebuild numpy arrays and scalars, nothing else.

    OpenMMLab 1.x checkpoints keep the dataset metadata (keypoint colours, sigmas: numpy arrays)
    in ``meta`` beside the state dict (mmengine's ``Runner.save_checkpoint``; ``publish_model.py``
    keeps ``meta``). PyTorch's own error message offers allowing these globals; an array's items
    are still unpickled under the weights-only restrictions. Both module spellings are allowed:
    numpy 1.x pickles ``numpy.core.multiarray``, numpy 2 ``numpy._core.multiarray``.
    """
    import torch

    safe_globals = getattr(torch.serialization, "safe_globals", None)
    if safe_globals is None:  # torch < 2.5: nothing to allow
        yield
        return
    core = getattr(np, "_core", None) or np.core
    allowed = [np.ndarray, np.dtype]
    for name in ("_reconstruct", "scalar"):
        function = getattr(core.multiarray, name)
        for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
            allowed.append((function, f"{module}.{name}"))
    dtypes = getattr(np, "dtypes", None)
    if dtypes is not None:
        allowed += [getattr(dtypes, n) for n in dir(dtypes) if n.endswith("DType")]
    with safe_globals(allowed):
        yield


def load_torch_checkpoint(model, path, strict=True, layout="official") -> LoadReport:
    """Reads ``path`` (key names of ``layout``: see `hrnet_tf.convert.layouts`) into ``model``."""
    return load_torch_state_dict(model, to_official(read_state_dict(path), layout), strict=strict)


def load_weights(model, path, strict=True):
    """Loads weights into ``model``: Keras ``.weights.h5``, the weights of a saved ``.keras`` model,
    or official PyTorch weights (``.pth``/``.pt``/``.bin``/``.safetensors``, converted by name).
    (``hrnet_tf.load_weights`` also takes preset names: :func:`hrnet_tf.models.hrnet.load_weights`.)

    Returns the :class:`LoadReport` for converted checkpoints, else None. ``strict=False`` (converted
    checkpoints only) loads what fits and reports the rest, e.g. an ImageNet trunk into a pose model.
    """
    import keras

    path = os.fspath(path)
    if not os.path.exists(path):
        raise ModelFileError(f"weights file not found: {path}")
    if path.endswith(TORCH_SUFFIXES):
        return load_torch_checkpoint(model, path, strict=strict)
    try:
        if path.endswith(".keras"):
            model.set_weights(keras.saving.load_model(path, compile=False).get_weights())
        elif path.endswith(".h5"):
            model.load_weights(path)
        else:
            raise ModelFileError(
                f"{path}: unknown weights format (expected .weights.h5, .keras, .pth, .safetensors)"
            )
    except ModelFileError:
        raise
    except (ValueError, OSError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelFileError(f"{path}: does not fit model {model.name!r} ({first})") from None
    return None
