"""ImageNet classification with HRNet-Wxx-C on the shared training engine.

    from hrnet_tf.classification import ClassificationTask
    from hrnet_tf.training.cli import main
    main(ClassificationTask(), ["--config", "configs/classification/w18.yaml",
                                "--data-dir", "/data/imagenet"])
"""

from hrnet_tf.classification.task import (
    ClassificationConfig,
    ClassificationDataConfig,
    ClassificationModelConfig,
    ClassificationTask,
    cross_entropy,
    evaluate_classifier,
    topk_correct,
)

__all__ = [
    "ClassificationConfig",
    "ClassificationDataConfig",
    "ClassificationModelConfig",
    "ClassificationTask",
    "cross_entropy",
    "evaluate_classifier",
    "topk_correct",
]
