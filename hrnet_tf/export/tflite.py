"""TFLite export (builtin ops only) and a runner on ai-edge-litert with XNNPACK.

The TFLite file holds the raw network at a fixed input size: ``image`` float32 [1, h, w, 3]
(ImageNet-normalized RGB) -> the model's output (heatmaps, logits). The pose crop
(``ImageProjectiveTransformV3``) has no builtin TFLite op, so pose apps crop and decode outside
(docs/export.md shows the few lines with cv2/numpy).

Conversion goes through a SavedModel, the only path that keeps Keras 3 weights (converting a
concrete function leaves them out). Quantization modes:

* ``none``: float32;
* ``fp16``: float16 weights, float32 compute (XNNPACK dequantizes once at load);
* ``dynamic``: int8 weights, float activations (dynamic-range quantization);
* ``int8``: int8 weights and activations, calibrated on a representative dataset; float32 input and
  output are kept, with QUANTIZE/DEQUANTIZE at the ends.
"""

import os
import tempfile

import numpy as np
import tensorflow as tf

QUANTIZE_MODES = ("none", "fp16", "dynamic", "int8")


def convert_to_tflite(
    model, quantize="none", representative_images=None, input_size=None, batch_size=1
):
    """Converts a Keras model with a static input size to TFLite bytes (builtin ops only).

    Args:
      model: a Keras model whose input is [None, h, w, 3] (static h and w).
      quantize: one of QUANTIZE_MODES.
      representative_images: normalized float32 [N, h, w, 3] for ``int8`` calibration.
      input_size: (h, w) when the model's input size is dynamic.
      batch_size: the fixed batch of the TFLite model (1 for apps; the benchmark also builds 8:
        resizing a batch-1 model's input fails on the BROADCAST_TO ops the converter bakes in).

    Example:
        >>> import hrnet_tf
        >>> m = hrnet_tf.HRNetV1("tiny", input_shape=(64, 64, 3))
        >>> data = convert_to_tflite(m)  # doctest: +SKIP
    """
    if quantize not in QUANTIZE_MODES:
        raise ValueError(f"--quantize must be one of {QUANTIZE_MODES}, got {quantize!r}")
    if quantize == "int8" and representative_images is None:
        raise ValueError("int8 quantization needs representative images")
    with tempfile.TemporaryDirectory(prefix="hrnet_tflite_") as tmp:
        saved = export_for_tflite(model, os.path.join(tmp, "saved_model"), input_size, batch_size)
        return convert_saved_model(saved, quantize, representative_images, batch_size)


def export_for_tflite(model, directory, input_size=None, batch_size=1):
    """Writes the SavedModel the converter reads: ``model`` traced at a static [batch, h, w, 3]
    (TFLite plans memory once and XNNPACK takes the whole graph). Returns ``directory``.

    :func:`convert_to_tflite` is this plus :func:`convert_saved_model`; the two halves let one
    export feed several conversions (fp32 and int8 of the same network)."""
    height, width = model.inputs[0].shape[1:3] if input_size is None else input_size
    signature = [tf.TensorSpec([batch_size, height, width, 3], tf.float32, name="image")]
    model.export(directory, format="tf_saved_model", input_signature=signature, verbose=False)
    return directory


def convert_saved_model(saved, quantize="none", representative_images=None, batch_size=1):
    """TFLite bytes (builtin ops only) of a SavedModel written by :func:`export_for_tflite`."""
    if quantize not in QUANTIZE_MODES:
        raise ValueError(f"--quantize must be one of {QUANTIZE_MODES}, got {quantize!r}")
    if quantize == "int8" and representative_images is None:
        raise ValueError("int8 quantization needs representative images")
    converter = tf.lite.TFLiteConverter.from_saved_model(saved)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quantize == "fp16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif quantize == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif quantize == "int8":
        images = np.asarray(representative_images, np.float32)

        def representative_dataset():
            for start in range(0, len(images), batch_size):
                batch = np.resize(images[start:], (batch_size, *images.shape[1:]))
                yield [batch]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative_dataset
        # INT8 kernels everywhere; TFLITE_BUILTINS stays as the (builtin) float fallback.
        converter.target_spec.supported_ops = [
            tf.lite.OpsSet.TFLITE_BUILTINS_INT8,
            tf.lite.OpsSet.TFLITE_BUILTINS,
        ]
    return converter.convert()


def make_interpreter(model_path_or_bytes, num_threads=2):
    """An ai-edge-litert Interpreter (XNNPACK applied by default) for a .tflite path or bytes."""
    from ai_edge_litert.interpreter import Interpreter

    if isinstance(model_path_or_bytes, (bytes, bytearray)):
        return Interpreter(model_content=bytes(model_path_or_bytes), num_threads=num_threads)
    return Interpreter(model_path=os.fspath(model_path_or_bytes), num_threads=num_threads)


def xnnpack_partitions(interpreter):
    """How many XNNPACK delegate partitions an Interpreter runs: 1 when the whole graph is delegated.

    Every op XNNPACK does not take cuts the graph; the cut ops run on TFLite's reference kernels
    between partitions. Read from the execution plan after ``allocate_tensors`` (ai-edge-litert has
    no public accessor for it), where each partition is one ``DELEGATE`` node.
    """
    interpreter.allocate_tensors()
    return sum(op["op_name"] == "DELEGATE" for op in interpreter._get_ops_details())


def run_tflite(interpreter, images):
    """Runs a single-input, single-output TFLite model on a batch, one image at a time.

    Returns the stacked float32 outputs [N, ...].
    """
    inp = interpreter.get_input_details()[0]
    out = interpreter.get_output_details()[0]
    interpreter.allocate_tensors()
    results = []
    for image in np.asarray(images, np.float32):
        interpreter.set_tensor(inp["index"], image[None].astype(inp["dtype"]))
        interpreter.invoke()
        results.append(np.array(interpreter.get_tensor(out["index"])[0], np.float32))
    return np.stack(results)


def operator_codes(tflite_bytes):
    """The operators a TFLite flatbuffer uses: builtin names, or the custom code of custom ops
    (Flex ops are custom ops named ``Flex<TFOp>``), read from the model's operator-code table.

    Example:
        >>> "CONV_2D" in operator_codes(convert_to_tflite(model))  # doctest: +SKIP
        True
    """
    from tensorflow.lite.python import schema_py_generated as schema

    names = {
        value: name for name, value in vars(schema.BuiltinOperator).items() if name.isupper()
    }
    flatbuffer = schema.Model.GetRootAs(bytes(tflite_bytes), 0)
    codes = []
    for i in range(flatbuffer.OperatorCodesLength()):
        code = flatbuffer.OperatorCodes(i)
        # Builtin codes above 127 live in BuiltinCode; older ones in DeprecatedBuiltinCode.
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if builtin == schema.BuiltinOperator.CUSTOM:
            codes.append(code.CustomCode().decode())
        else:
            codes.append(names.get(builtin, str(builtin)))
    return sorted(set(codes))


def custom_ops(tflite_bytes):
    """Operators that are not TFLite builtins (Flex or custom). Empty for a deployable model."""
    from tensorflow.lite.python import schema_py_generated as schema

    builtin_names = {name for name in vars(schema.BuiltinOperator) if name.isupper()}
    return [name for name in operator_codes(tflite_bytes) if name not in builtin_names]
