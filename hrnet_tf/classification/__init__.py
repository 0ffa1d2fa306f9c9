"""ImageNet classification with HRNet-Wxx-C, in the shape of every task package.

* ``sources``: the folder layout and TFRecord shards on disk (listing, counted skips);
* ``synthetic``: the generated demo set;
* ``pipeline``: the official train and eval transforms in tf.data, stateless;
* ``codec``: logits -> probabilities / top-k, and the uint8 ``classify`` serving function;
* ``loss``, ``metrics``, ``evaluator``: cross-entropy, top-k accuracy, the evaluation;
* ``task``: the config and :class:`ClassificationTask`; ``predict``: the command.

    python train/classify.py                                  # the demo
    python train/classify.py --data-dir /data/imagenet         # the official W18-C recipe
    python -m hrnet_tf.classification.predict cat.jpg --weights runs/classify/w18/model.keras
"""

from hrnet_tf.classification.task import (
    ClassificationConfig,
    ClassificationDataConfig,
    ClassificationModelConfig,
    ClassificationTask,
)

__all__ = [
    "ClassificationConfig",
    "ClassificationDataConfig",
    "ClassificationModelConfig",
    "ClassificationTask",
]
