"""What this process runs on, as JSON: versions, the Keras backend, TensorFlow's oneDNN kernels, devices.

    python -m hrnet_tf.environment          # attach it to a bug report

Run as a command it shows what every hrnet_tf command gets (oneDNN on: see hrnet_tf/__init__.py);
``report()`` in your own process shows that process's settings.
"""

import json
import os
import platform
import sys


def report():
    """A dict: python, platform, versions, keras backend, oneDNN kernels on, CPU count, devices."""
    import cv2
    import keras
    import numpy as np
    import tensorflow as tf
    from tensorflow.python.util import _pywrap_util_port

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "hrnet_tf": __import__("hrnet_tf").__version__,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "keras_backend": keras.backend.backend(),
        "numpy": np.__version__,
        "opencv": cv2.__version__,
        # what TensorFlow decided when it loaded (TF_ENABLE_ONEDNN_OPTS and the CPU's features)
        "onednn": bool(_pywrap_util_port.IsMklEnabled()),
        "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
        "cpu_count": os.cpu_count(),
        "devices": [d.name for d in tf.config.list_logical_devices()],
    }


def main(argv=None):
    json.dump(report(), sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
