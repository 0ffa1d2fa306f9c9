"""ONNX export (through tf2onnx, which Keras 3's ``model.export(format="onnx")`` calls) and an
ONNX Runtime runner.

The ONNX graph is the raw network, NHWC like the Keras model: ``image`` float32 [B, h, w, 3]
(ImageNet-normalized RGB) -> the model's output; the batch dimension is dynamic.
"""

import os

import numpy as np
import tensorflow as tf


def export_onnx(model, path, input_size=None, opset=None):
    """Writes ``model`` as ONNX to ``path``; returns the path.

    Example:
        >>> import hrnet_tf
        >>> m = hrnet_tf.HRNetV1("tiny", input_shape=(64, 64, 3))
        >>> export_onnx(m, "/tmp/tiny_pose.onnx")  # doctest: +SKIP
        '/tmp/tiny_pose.onnx'
    """
    height, width = model.inputs[0].shape[1:3] if input_size is None else input_size
    signature = [tf.TensorSpec([None, height, width, 3], tf.float32, name="image")]
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    model.export(
        os.fspath(path),
        format="onnx",
        input_signature=signature,
        opset_version=opset,
        verbose=False,
    )
    return os.fspath(path)


def make_session(path, num_threads=2):
    """An ONNX Runtime CPU session: ``num_threads`` intra-op threads, all graph optimizations."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = num_threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # tf2onnx's nearest-resize attribute warns on every load
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(os.fspath(path), options, providers=["CPUExecutionProvider"])


def run_onnx(session, images):
    """Runs the session's first output on float32 images [N, h, w, 3]."""
    name = session.get_inputs()[0].name
    return session.run(None, {name: np.asarray(images, np.float32)})[0]
