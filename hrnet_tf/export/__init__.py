"""Deployment: SavedModel with uint8 serving signatures, TFLite (fp32/fp16/dynamic/int8), ONNX.

    python -m hrnet_tf.export --model-path RUN/model.keras --format tflite --quantize int8 \\
        --representative-data DIR --out saved_models/NAME

Every export checks itself against the Keras model and writes ``NAME.report.json`` next to it.
"""

from hrnet_tf.export.api import FORMATS, export_model, load_image_dir, report_path
from hrnet_tf.export.tasks import TASKS, calibrate_batch_norm, detect_task, normalize_uint8
from hrnet_tf.export.tflite import QUANTIZE_MODES
from hrnet_tf.models.fold_bn import count_batch_norms, fold_batch_norm

__all__ = [
    "FORMATS",
    "QUANTIZE_MODES",
    "TASKS",
    "calibrate_batch_norm",
    "count_batch_norms",
    "detect_task",
    "export_model",
    "fold_batch_norm",
    "load_image_dir",
    "normalize_uint8",
    "report_path",
]
