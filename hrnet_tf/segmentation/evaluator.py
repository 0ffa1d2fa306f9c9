"""The segmentation evaluator: confusion-matrix mIoU over a split, and the prediction PNGs.

Run by the one evaluation loop (:func:`hrnet_tf.evaluation.evaluate`), which also counts the
samples left out by name: an image that is truncated or cannot be decoded is always a counted skip;
a bad label (wrong size, unknown ids, not one channel) is one ``DataError`` line with
``on_bad="error"`` and a counted skip with ``on_bad="skip"``.

    evaluator = SegmentationEvaluator(pairs, dataset_info("cityscapes"), mode="multiscale",
                                      scales=(0.75, 1.0, 1.25), flip=True)
    metrics, skips = evaluate(model, evaluator, "runs/eval")   # metrics["mIoU"], ...

``result(out_dir)`` with ``save_predictions`` writes ``out_dir/predictions/<name>_color.png`` in the
dataset palette and, for Cityscapes, ``out_dir/labelIds/<name>.png`` holding label ids for the
official benchmark server.
"""

import os
import zlib

import numpy as np

from hrnet_tf.data.images import normalize, write_png
from hrnet_tf.data.normalization import IMAGENET
from hrnet_tf.errors import DataError
from hrnet_tf.evaluation import Evaluator
from hrnet_tf.segmentation import labels as L
from hrnet_tf.segmentation.codec import MODES, predict_labels, resize_uint8
from hrnet_tf.segmentation.metrics import confusion_matrix, miou_report
from hrnet_tf.segmentation.pipeline import eval_dataset


def file_stem(path):
    """The file name without folder and extension: the name prediction files are given."""
    return os.path.splitext(os.path.basename(path))[0]


def write_label_maps(train_ids, stem, out_dir, colors, benchmark_ids=False):
    """``predictions/<stem>_color.png`` (and, for Cityscapes, ``labelIds/<stem>.png``); returns
    the paths written."""
    written = [os.path.join(out_dir, "predictions", f"{stem}_color.png")]
    write_png(written[0], L.colorize(train_ids, colors))
    if benchmark_ids:
        written.append(os.path.join(out_dir, "labelIds", f"{stem}.png"))
        write_png(written[-1], L.train_ids_to_label_ids(train_ids))
    return written


class SegmentationEvaluator(Evaluator):
    """mIoU of a model on ``pairs`` ((image, label) paths) of a dataset ``info``.

    ``mode``/``scales``/``flip``/``base_size``/``stride`` choose the inference
    (:func:`hrnet_tf.segmentation.codec.predict_labels`; LIP's flips swap left/right channels);
    ``test_size`` (default ``info.test_size``, the official ``TEST.IMAGE_SIZE``) is the window,
    ``protocol`` (default ``info.protocol``) the dataset's official ``multi_scale_inference``,
    ``align_corners`` the model's ``MODEL.ALIGN_CORNERS``.
    ``input_size``: run the network at that size (LIP's crop size, or a model built for one input
    size); the scores are compared at the label's own size.
    """

    name = "segmentation eval"
    metric = "mIoU"
    higher_is_better = True

    def __init__(self, pairs, info, mode="whole", scales=(1.0,), flip=False, base_size=None,
                 stride=None, input_size=None, on_bad="error", save_predictions=False,
                 max_images=0, normalization=IMAGENET, test_size=None, protocol=None,
                 align_corners=False):
        if mode not in MODES:
            raise ValueError(f"inference mode must be one of {MODES}, got {mode!r}")
        self.pairs = list(pairs)[: max_images or None]
        self.num_samples = len(self.pairs)
        self.info = info
        self.mode, self.scales, self.flip = mode, tuple(scales), bool(flip)
        self.base_size, self.stride = base_size, (tuple(stride) if stride else None)
        self.test_size = tuple(test_size or info.test_size or info.crop_size)
        self.protocol = protocol or info.protocol
        self.align_corners = bool(align_corners)
        # The official pad value -mean/std: black, normalized.
        self.pad_value = np.asarray(normalize(np.zeros((1, 1, 1, 3), np.uint8), normalization),
                                    np.float32)[0, 0, 0]
        self.input_size = tuple(input_size) if input_size else None
        self.on_bad = on_bad
        self.save_predictions = save_predictions
        self.normalization = normalization
        self.confusion = np.zeros((info.num_classes, info.num_classes), np.int64)
        self.evaluated = 0
        self.predictions = {}  # stem -> (shape, compressed uint8 train ids), written by result()

    def sample_name(self, index):
        return self.pairs[index][0]

    def dataset(self):
        for batch in eval_dataset(self.pairs, self.info, self.on_bad):
            fatal = batch.pop("fatal")
            if bool(fatal[0]):
                raise DataError(batch["problem"][0].numpy().decode())
            yield batch

    def predict(self, forward, batch):
        label_size = tuple(batch["label"].shape[1:3])
        image, input_size = batch["image"], self.input_size
        if input_size is not None and self.info.resize_to_crop_first:
            # LIP: the uint8 image resized to the test size first, as the official loader does.
            image, input_size = resize_uint8(image, input_size), None
        train_ids = predict_labels(
            forward, normalize(image, self.normalization), self.mode, self.scales,
            self.flip, self.test_size, self.base_size, self.stride, self.info.flip_pairs,
            input_size=input_size,
            output_size=None if label_size == tuple(image.shape[1:3]) else label_size,
            protocol=self.protocol, pad_value=self.pad_value, align_corners=self.align_corners,
        )
        return train_ids[None]

    def update(self, batch, outputs):
        for index, label, train_ids in zip(batch["index"], batch["label"], outputs, strict=True):
            self.confusion += confusion_matrix(label, train_ids, self.info.num_classes,
                                               self.info.ignore_label)
            self.evaluated += 1
            if self.save_predictions:
                # Kept compressed until result() knows where to write (a few kB per image).
                stem = file_stem(self.pairs[int(index)][0])
                self.predictions[stem] = (train_ids.shape,
                                          zlib.compress(train_ids.astype(np.uint8).tobytes(), 1))

    def prediction(self, stem):
        """The train ids predicted for the image named ``stem`` (with ``save_predictions``)."""
        shape, data = self.predictions[stem]
        return np.frombuffer(zlib.decompress(data), np.uint8).reshape(shape)

    def result(self, out_dir=None):
        report = miou_report(self.confusion, self.info.class_names)
        report["num_images"] = self.evaluated
        report["inference"] = {"mode": self.mode, "scales": list(self.scales), "flip": self.flip,
                               "test_size": list(self.test_size), "protocol": self.protocol,
                               "base_size": self.base_size,
                               "stride": list(self.stride) if self.stride else None,
                               "align_corners": self.align_corners}
        if out_dir and self.save_predictions:
            for stem in self.predictions:
                write_label_maps(self.prediction(stem), stem, out_dir, self.info.colors,
                                 self.info.benchmark_label_ids)
        return report


__all__ = ["SegmentationEvaluator", "file_stem", "write_label_maps"]
