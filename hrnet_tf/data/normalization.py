"""Input normalization: the one home of the ImageNet statistics and of ``preprocess_input``.

Every official HRNet recipe feeds RGB images normalized with torchvision's ImageNet mean and std;
mmdetection's HRNet detectors normalize BGR images with the same numbers in 0-255 units. A
``Normalization`` records which, travels with each model (``model.info.normalization``), and is
applied by the tf.data pipelines, the exported signatures and ``preprocess_input`` alike.

    >>> import numpy as np
    >>> x = preprocess_input(np.full((1, 1, 3), 255, np.uint8))
    >>> [round(float(v), 3) for v in np.asarray(x)[0, 0]]
    [2.249, 2.429, 2.64]

No TensorFlow here: ``preprocess_input`` uses ``keras.ops`` and runs on every backend.
"""

from dataclasses import dataclass

import numpy as np

# torchvision's ImageNet statistics (RGB, on [0, 1] pixels), used by every official HRNet recipe.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Normalization:
    """``(pixel / 255 - mean) / std`` per channel, with the channels in ``channel_order``.

    Inputs are always RGB; ``channel_order="BGR"`` reverses them before normalizing (mmdetection
    checkpoints), and ``mean``/``std`` are then given in that order.
    """

    mean: tuple = IMAGENET_MEAN
    std: tuple = IMAGENET_STD
    channel_order: str = "RGB"

    def __post_init__(self):
        object.__setattr__(self, "mean", tuple(float(v) for v in self.mean))
        object.__setattr__(self, "std", tuple(float(v) for v in self.std))
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            raise ValueError(f"normalization needs 3 means and 3 positive stds, got {self}")
        if self.channel_order not in ("RGB", "BGR"):
            raise ValueError(f"channel_order must be 'RGB' or 'BGR', got {self.channel_order!r}")

    def scale_offset(self):
        """(scale, offset) float32 [3] arrays with ``normalized = pixel * scale + offset``."""
        mean, std = np.asarray(self.mean, np.float64), np.asarray(self.std, np.float64)
        return (1.0 / (255.0 * std)).astype(np.float32), (-mean / std).astype(np.float32)

    def to_config(self):
        return {"mean": list(self.mean), "std": list(self.std), "channel_order": self.channel_order}

    @classmethod
    def from_config(cls, config):
        return cls(tuple(config["mean"]), tuple(config["std"]), config.get("channel_order", "RGB"))


IMAGENET = Normalization()


def preprocess_input(images, normalization=IMAGENET):
    """uint8 or float RGB pixels in [0, 255] (any leading shape) -> the network's input.

    As ``keras.applications.*.preprocess_input``; pass ``model.info.normalization`` for a model
    whose normalization is not ImageNet RGB.
    """
    from keras import ops

    x = ops.cast(images, "float32")
    if normalization.channel_order == "BGR":
        x = ops.flip(x, axis=-1)
    scale, offset = normalization.scale_offset()
    return x * scale + offset


__all__ = ["IMAGENET", "IMAGENET_MEAN", "IMAGENET_STD", "Normalization", "preprocess_input"]
