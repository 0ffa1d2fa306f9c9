"""One call from a Keras model to a checked export: SavedModel, TFLite or ONNX, plus its report."""

import os
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

from hrnet_tf.data import images as image_io
from hrnet_tf.errors import ConfigError, DataError
from hrnet_tf.export import report as reports
from hrnet_tf.export.saved_model import export_saved_model
from hrnet_tf.export.signatures import check_signature, signature_of
from hrnet_tf.export.tasks import (
    check_task,
    model_input_size,
    normalize_uint8,
    resolve_input_size,
    sample_images,
    with_static_input,
)
from hrnet_tf.export.tflite import QUANTIZE_MODES, convert_to_tflite, custom_ops, operator_codes
from hrnet_tf.models.fold_bn import fold_batch_norm

FORMATS = ("saved_model", "tflite", "onnx")
# Images used for the accuracy check when none are given; int8 calibration uses up to 200.
DEFAULT_CHECK_IMAGES = 4
MAX_CALIBRATION_IMAGES = 200


def check_options(fmt, quantize="none"):
    """One ConfigError for a format or quantization the exporter does not have, or a mismatch."""
    if fmt not in FORMATS:
        raise ConfigError(f"--format must be one of {FORMATS}, got {fmt!r}")
    if quantize not in QUANTIZE_MODES:
        raise ConfigError(f"--quantize must be one of {QUANTIZE_MODES}, got {quantize!r}")
    if quantize != "none" and fmt != "tflite":
        raise ConfigError(f"--quantize {quantize} applies to --format tflite only (got {fmt})")


def export_input_size(model, fmt, task, input_size=None):
    """The (height, width) the export runs at: ``input_size``, else the model's own; None only for a
    SavedModel of a model that takes any size (TFLite and ONNX need one size), unless the export
    ``task``'s signature needs a fixed one."""
    if fmt == "saved_model" and input_size is None and None in model_input_size(model):
        signature = signature_of(task)
        if signature is not None and signature.needs_fixed_input:
            raise ConfigError(
                f"model {model.name!r} accepts any image size, but the {signature.name} signature "
                "needs a fixed input size; pass --input-size HxW"
            )
        return None
    return resolve_input_size(model, input_size)


def _cover_and_center_crop(image, size):
    """uint8 [H, W, 3] resized (aspect kept, antialiased) to cover ``size`` = (h, w), centre crop."""
    height, width = size
    crop = image_io.center_crop(image_io.resize_to_cover(image, height, width), height, width)
    return np.clip(np.round(crop.numpy()), 0, 255).astype(np.uint8)


def load_image_dir(directory, size, limit=MAX_CALIBRATION_IMAGES):
    """uint8 [N, h, w, 3] from the images in ``directory`` (decoded by :mod:`hrnet_tf.data.images`):
    aspect kept, centre crop to ``size``.

    Unreadable files are skipped and returned second, as ``"<file>: <problem>"`` lines.

    Example:
        >>> images, skipped = load_image_dir("data/calib", (256, 192))  # doctest: +SKIP
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"--representative-data: not a directory: {directory}")
    files = sorted(p for p in directory.rglob("*") if p.suffix.lower() in image_io.IMAGE_EXTENSIONS)
    files = files[:limit]
    if not files:
        raise DataError(
            f"--representative-data: no {image_io.IMAGE_EXTENSIONS} images in {directory}"
        )
    images, skipped = [], []
    for path in files:
        try:
            image = image_io.read_image_numpy(str(path))
        except ValueError as e:  # names the file and what is wrong with it
            skipped.append(str(e))
            continue
        images.append(_cover_and_center_crop(image, size))
    if not images:
        raise DataError(f"--representative-data: none of the {len(files)} images in {directory} "
                        f"could be decoded, e.g. {skipped[0]}")
    return np.stack(images), skipped


def _output_path(out, fmt, quantize):
    out = os.fspath(out)
    suffix = {"tflite": ".tflite", "onnx": ".onnx"}.get(fmt)
    if suffix and not out.endswith(suffix):
        out += suffix
    return out


def report_path(out):
    """``saved_models/NAME.tflite`` -> ``saved_models/NAME.report.json`` (also for directories)."""
    out = os.fspath(out).rstrip("/")
    for suffix in (".tflite", ".onnx"):
        if out.endswith(suffix):
            out = out[: -len(suffix)]
    return out + ".report.json"


def _check_saved_model(path, reference, task, images):
    """Reloads the SavedModel and compares its raw and task signatures with the Keras model."""
    loaded = tf.saved_model.load(path)
    x = normalize_uint8(images).numpy()
    raw = loaded.signatures["raw"](image=tf.constant(x))
    raw = raw["output"].numpy() if "output" in raw else {k: v.numpy() for k, v in raw.items()}
    expected = reference(x, training=False)
    if isinstance(expected, dict):
        expected = {k: np.asarray(v) for k, v in expected.items()}
    result = {"accuracy": reports.accuracy_report(expected, raw, task, images.shape[1:3])}
    result["signatures"] = sorted(loaded.signatures.keys())
    signature = signature_of(task)
    if signature is not None:
        served = loaded.signatures[signature.name]
        result["signature_check"] = check_signature(signature, served, reference, images)
    return result


def export_model(
    model,
    out,
    fmt="saved_model",
    *,
    quantize="none",
    task="auto",
    representative_images=None,
    input_size=None,
    fold_bn=True,
    num_threads=2,
    verbose=True,
):
    """Exports ``model`` to ``out`` and writes ``<out>.report.json``; returns the report dict.

    Args:
      model: an hrnet_tf model (its task comes from ``model.info``), or any single-input image
        model (``task`` then chooses the signature).
      out: a directory for ``saved_model``; a file for ``tflite``/``onnx`` (suffix added).
      fmt: "saved_model", "tflite" or "onnx".
      quantize: TFLite only: "none", "fp16", "dynamic", "int8".
      task: "auto" (``model.info``; "raw" for plain Keras models), "raw" (the raw signature
        only), or for plain Keras models "pose", "segmentation", "classification".
      representative_images: uint8 [N, h, w, 3] at the model input size: int8 calibration and the
        accuracy check (default: a few smooth synthetic images).
      input_size: (h, w) to fix for models built with a dynamic input size.
      fold_bn: fold BatchNorm into the convolutions first (faster, same outputs).

    Example:
        >>> import hrnet_tf
        >>> m = hrnet_tf.HRNetV1("tiny", input_shape=(64, 64, 3))
        >>> rep = export_model(m, "/tmp/tiny_pose", "tflite")  # doctest: +SKIP
        >>> rep["accuracy"]["relative_error"] < 1e-4  # doctest: +SKIP
        True
    """
    check_options(fmt, quantize)
    task = check_task(task, model)
    size = export_input_size(model, fmt, task, input_size)

    started = time.time()
    exported = fold_batch_norm(model) if fold_bn else model
    check_size = size or (96, 128)
    if representative_images is None:
        images = sample_images(DEFAULT_CHECK_IMAGES, check_size)
        data_note = "synthetic (smooth random) images"
    else:
        images = np.asarray(representative_images)
        if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1:3] != tuple(check_size):
            raise DataError(
                f"representative images must be uint8 [N, {check_size[0]}, {check_size[1]}, 3], "
                f"got {images.dtype} {images.shape}"
            )
        data_note = f"{len(images)} representative images"
    check_images = images[:DEFAULT_CHECK_IMAGES]

    out = _output_path(out, fmt, quantize)
    report = {
        "model": model.name,
        "task": task,
        "format": fmt,
        "quantize": quantize,
        "bn_folded": bool(fold_bn),
        "input_size": list(size) if size else None,
        "check_data": data_note,
        "check_images": len(check_images),
        "path": out,
    }
    if fmt == "saved_model":
        signature = signature_of(task)
        if size is not None and signature is not None and signature.needs_fixed_input:
            exported = with_static_input(exported, size)  # e.g. pose crops at --input-size
        export_saved_model(exported, out, task, raw_input_size=size)
        report.update(_check_saved_model(out, model, task, check_images))
    else:
        if task == "segmentation":  # HRNet-OCR: the `out` head is the one output
            from hrnet_tf.segmentation.codec import prediction_model

            model, exported = prediction_model(model), prediction_model(exported)
        static = with_static_input(exported, size)
        x = normalize_uint8(check_images).numpy()
        expected = np.asarray(model(x, training=False))
        if fmt == "tflite":
            from hrnet_tf.export.tflite import make_interpreter, run_tflite, xnnpack_partitions

            calibration = normalize_uint8(images).numpy() if quantize == "int8" else None
            data = convert_to_tflite(static, quantize, calibration, size)
            os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
            Path(out).write_bytes(data)
            interpreter = make_interpreter(data, num_threads)
            report["xnnpack_partitions"] = xnnpack_partitions(interpreter)
            got = run_tflite(interpreter, x)
            report["operators"] = operator_codes(data)
            report["non_builtin_ops"] = custom_ops(data)
            report["calibration_images"] = len(images) if quantize == "int8" else 0
        else:
            from hrnet_tf.export.onnx import export_onnx, make_session, run_onnx

            export_onnx(static, out, size)
            got = run_onnx(make_session(out, num_threads), x)
        report["accuracy"] = reports.accuracy_report(expected, got, task, size)
        if task == "detection" and model.info.architecture == "HRNetFCOS":
            # NMS stays outside: the report carries what decoding needs
            from hrnet_tf.detection.codec import coder_for_model, decoding_settings

            report["accuracy"]["detections"] = reports.detection_agreement(
                coder_for_model(model), size, expected, got)
            report["decoding"] = decoding_settings(model)
    report["size_bytes"] = _size_on_disk(out)
    report["seconds"] = round(time.time() - started, 1)
    reports.write_report(report_path(out), report)
    if verbose:
        print(f"wrote {out} ({report['size_bytes'] / 1e6:.2f} MB); report {report_path(out)}")
        print("  " + reports.summary_line(report))
    return report


def _size_on_disk(path):
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
