"""The classification evaluation: top-1 / top-5 over the validation split, through
:func:`hrnet_tf.evaluation.evaluate` (which counts and names the images that could not be used).

    evaluator = ClassificationEvaluator(data.val, image_size=(224, 224), batch_size=100)
    metrics, skips = hrnet_tf.evaluation.evaluate(model, evaluator)
    # {"top1": 0.768, "top5": 0.934, "examples": 50000, "skipped": 0}
"""

from hrnet_tf.classification import pipeline
from hrnet_tf.classification.codec import probabilities
from hrnet_tf.classification.metrics import accuracies, topk_correct
from hrnet_tf.classification.sources import TFRecordSplit
from hrnet_tf.evaluation import Evaluator

TOP_K = (1, 5)


class ClassificationEvaluator(Evaluator):
    """Top-k accuracy of ``split`` (an ``ImageFolderListing`` or a scanned ``TFRecordSplit``),
    each image through :func:`hrnet_tf.classification.pipeline.eval_image`."""

    metric = "top1"
    higher_is_better = True

    def __init__(self, split, image_size, batch_size, num_classes=None,
                 crop_fraction=pipeline.EVAL_CROP_FRACTION, label_offset=0, num_parallel_calls=-1):
        self.split = split
        self.image_size = tuple(image_size)
        self.batch_size = int(batch_size)
        self.num_classes = num_classes
        self.crop_fraction = crop_fraction
        self.label_offset = label_offset
        self.num_parallel_calls = num_parallel_calls
        self.is_tfrecord = isinstance(split, TFRecordSplit)
        self.num_samples = sum(split.records) if self.is_tfrecord else len(split.paths)
        self.name = f"evaluation of {split.root}"
        self.hits = {k: 0 for k in TOP_K}
        self.count = 0

    def dataset(self):
        if self.is_tfrecord:
            return pipeline.tfrecord_eval_dataset(
                self.split, self.batch_size, self.image_size, self.num_classes,
                self.label_offset, self.crop_fraction, self.num_parallel_calls,
            )
        return pipeline.folder_eval_dataset(
            self.split, self.batch_size, self.image_size, self.crop_fraction,
            self.num_parallel_calls,
        )

    def sample_name(self, index):
        if self.is_tfrecord:
            return self.split.record_name(index)
        return self.split.paths[index]

    def predict(self, forward, batch):
        """Class probabilities ``[B, C]`` (float64), as ``predict`` and the signature give them."""
        return probabilities(forward(batch["image"]).numpy())

    def update(self, batch, outputs):
        for k in self.hits:
            self.hits[k] += int(topk_correct(batch["label"], outputs, k).sum())
        self.count += len(batch["label"])

    def result(self, out_dir=None):
        return accuracies(self.hits, self.count)


__all__ = ["TOP_K", "ClassificationEvaluator"]
