"""Semantic segmentation with HRNetV2: datasets, tf.data pipeline, losses, inference, evaluation.

* ``labels``: Cityscapes label table (label id -> train id, names, colors), PASCAL-Context, LIP.
* ``datasets``: dataset layouts, image/label pairing with count checks.
* ``pipeline``: the official training augmentation in tf.data ops.
* ``loss``: weighted cross-entropy with ignore, OHEM.
* ``metrics``: confusion matrix, mIoU, per-class IoU.
* ``inference``: whole image, sliding window, multi-scale + flip.
* ``evaluate`` / ``predict``: command-line evaluation and prediction.
* ``task``: ``SegmentationTask`` for the shared trainer (``train/segment.py``).

Modules are imported on use, so that ``import hrnet_tf.segmentation.labels`` stays light.
See docs/segmentation.md.
"""
