"""From a preset name to weights in a model: check the model, download once, convert once, cache.

``hrnet_tf.load_weights(model, "<preset>")`` (and so ``weights="<preset>"`` on every constructor)
lands in :func:`load_preset`, given the constructors by its caller (:mod:`hrnet_tf.models.hrnet`:
presets sit below the models and do not import them):

1. the model must be the preset's network (architecture, width, outputs, fusion, and for pose the
   input size): otherwise one line says what the preset needs, before any download;
2. the converted ``$KERAS_HOME/hrnet_tf/<preset>-<hash>.weights.h5`` is loaded when it is cached:
   no torch, no network;
3. else the checkpoint is fetched (:mod:`hrnet_tf.presets.download`: hash verified first), read
   (torch only for ``.pth``/``.bin``), mapped onto the official keys with the preset's key layout
   (:mod:`hrnet_tf.convert.layouts`), loaded strictly and saved as that ``.weights.h5``.

``strict=False`` loads what fits of the preset into another model (an ImageNet trunk into a pose or
segmentation model, as the official training does), through the preset's own converted weights.
"""

import difflib
import importlib.util
import inspect
import os

from hrnet_tf.errors import ModelFileError
from hrnet_tf.presets.download import cache_dir, fetch
from hrnet_tf.presets.table import PRESETS


def get_preset(name):
    """The :class:`~hrnet_tf.presets.table.Preset` called ``name``; an unknown name raises one line
    with the closest names."""
    try:
        return PRESETS[name]
    except KeyError:
        close = difflib.get_close_matches(str(name), list(PRESETS), n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ModelFileError(
            f"{name!r} is neither a weights file nor a preset{hint} (python -m hrnet_tf.presets lists them)"
        ) from None


def available_preset(name):
    """``get_preset(name)`` for a preset whose model hrnet_tf can build now."""
    preset = get_preset(name)
    if not preset.available:
        raise ModelFileError(f"preset {name!r} cannot be loaded yet: {preset.pending} ({preset.url})")
    return preset


def converted_path(preset):
    """Where the converted weights of ``preset`` are cached."""
    tag = preset.sha256[:8] if preset.sha256 else "unverified"
    return cache_dir() / f"{preset.name}-{tag}.weights.h5"


def is_preset_name(weights):
    """Whether ``weights`` names a preset rather than a file (no extension, no folder)."""
    text = os.fspath(weights)
    return not os.path.exists(text) and "." not in text and "/" not in text and os.sep not in text


def build_preset_model(preset, constructors, **overrides):
    """The preset's network, untrained: ``constructors[preset.constructor]`` with its arguments."""
    return constructors[preset.constructor](**{**preset.kwargs, **overrides})


def _outputs(model):
    """The number of classes / heatmaps / landmarks the model predicts (None: it has no head)."""
    if model.info.task == "features":
        return None
    output = model.output
    if isinstance(output, (dict, list, tuple)):
        return None
    if model.info.architecture == "HRNetFCOS":  # per point: classes, 4 box distances, centerness
        return output.shape[-1] - 5
    return output.shape[-1]


def check_model(model, preset, constructors, check_input_shape=None):
    """Raises one line naming what ``preset`` needs when ``model`` is not its network."""
    info = getattr(model, "info", None)
    call = f"hrnet_tf.{preset.constructor_call()}"
    if info is None:
        raise ModelFileError(f"preset {preset.name!r} needs an hrnet_tf model: {call}")
    problems = []
    if info.architecture != preset.constructor:
        problems.append(f"an {info.architecture}")
    else:
        constructor = constructors[preset.constructor]
        defaults = {k: p.default for k, p in inspect.signature(constructor).parameters.items()}
        want = {**defaults, **preset.kwargs}
        if info.width != str(want["width"]).lower().removeprefix("w"):
            problems.append(f"width={info.width if info.width.isdigit() else repr(info.width)}")
        outputs = _outputs(model)
        for key in ("num_classes", "num_outputs", "num_landmarks"):
            if key in want and outputs is not None and outputs != want[key]:
                problems.append(f"{key}={outputs!r}")
        if info.upsample_method != want["upsample_method"]:
            problems.append(f"upsample_method={info.upsample_method!r}")
        if check_input_shape is None:
            check_input_shape = preset.check_input_shape
        shape = tuple(model.input_shape[1:])
        if check_input_shape and shape != tuple(want["input_shape"]):
            problems.append(f"input_shape={shape!r}")
    if problems:
        raise ModelFileError(
            f"preset {preset.name!r} needs {call}; this model has {', '.join(problems)} "
            f"(hrnet_tf.from_preset({preset.name!r}) builds it)"
        )


def _convert(model, preset):
    """Fetches, converts and loads ``preset`` into ``model`` (strict); returns the LoadReport."""
    from hrnet_tf.convert.checkpoints import read_state_dict
    from hrnet_tf.convert.layouts import reverse_input_channels, to_official
    from hrnet_tf.convert.torch_weights import WeightConversionError, load_torch_state_dict
    from hrnet_tf.data.normalization import IMAGENET_MEAN, IMAGENET_STD

    path = fetch(preset)
    if path.suffix == ".safetensors" and importlib.util.find_spec("safetensors") is None:
        raise ModelFileError(f"preset {preset.name!r} is a .safetensors file: pip install safetensors")
    try:
        state = to_official(read_state_dict(path), preset.layout)
    except ModelFileError as e:  # e.g. a .pth without torch: say which preset
        raise ModelFileError(f"preset {preset.name!r}: {e}") from None
    norm = preset.normalization
    if norm.channel_order == "BGR":
        # Our models take RGB: reversing conv1's input channels is exact when the statistics are
        # the RGB ImageNet ones reversed (mmdet's BGR mean/std are).
        if (norm.mean[::-1], norm.std[::-1]) != (IMAGENET_MEAN, IMAGENET_STD):
            raise ModelFileError(f"preset {preset.name!r}: BGR statistics that are not ImageNet's")
        state = reverse_input_channels(state)
    try:
        return load_torch_state_dict(model, state, strict=True)
    except WeightConversionError as e:
        details = "; ".join(str(e).splitlines()[1:])
        if len(details) > 400:
            details = details[:400] + " ..."
        raise ModelFileError(
            f"preset {preset.name!r}: {path.name} ({preset.layout} layout) does not fit "
            f"hrnet_tf.{preset.constructor_call()}: {details}"
        ) from None


def _save(model, path):
    """``model.save_weights(path)`` through a temporary file, so no half-written file is cached."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name.removesuffix('.weights.h5')}.part-{os.getpid()}.weights.h5")
    try:
        model.save_weights(partial)
        os.replace(partial, path)
    finally:
        if partial.exists():
            partial.unlink()


def load_preset(model, name, constructors, strict=True, check_input_shape=None):
    """Loads preset ``name`` into ``model`` (see the module docstring); ``constructors`` maps the
    table's constructor names to the functions. Returns the conversion's LoadReport, or None when
    the cached ``.weights.h5`` was loaded."""
    preset = available_preset(name)
    if not strict:
        return _load_matching(model, preset, constructors)
    check_model(model, preset, constructors, check_input_shape)
    cached = converted_path(preset)
    if cached.is_file():
        try:
            model.load_weights(cached)
            return None
        except (ValueError, KeyError, OSError):  # another hrnet_tf's layer structure, or damaged:
            pass  # convert again (from the cached download when there is one)
    report = _convert(model, preset)
    _save(model, cached)
    return report


def _load_matching(model, preset, constructors):
    """``strict=False``: the preset's own network, loaded as above, lends every tensor that fits."""
    from hrnet_tf.convert.torch_weights import keras_to_torch_state_dict, load_torch_state_dict

    source = build_preset_model(preset, constructors, name=f"{preset.name}_source")
    load_preset(source, preset.name, constructors)
    return load_torch_state_dict(model, keras_to_torch_state_dict(source), strict=False)


__all__ = [
    "available_preset",
    "build_preset_model",
    "check_model",
    "converted_path",
    "get_preset",
    "is_preset_name",
    "load_preset",
]
