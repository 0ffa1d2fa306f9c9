"""Semantic segmentation with HRNetV2 (docs/segmentation.md), one module one job:

* ``labels``: class tables (Cityscapes label id -> train id, names, colors; PASCAL-Context, LIP).
* ``sources``: datasets on disk: layouts, image/label pairing, counted skips, ``DatasetInfo``.
* ``synthetic``: the generated street scenes of the demo.
* ``pipeline``: tf.data: the official training augmentation, the evaluation stream, sample checks.
* ``codec``: outputs -> label maps: whole image, sliding window, multi-scale + flip (LIP channel
  swap), and ``segment_images``, the uint8 serving function of the exported ``segment`` signature.
* ``loss``: weighted cross-entropy with ignore, OHEM (the criterion).
* ``metrics``: confusion matrix, mIoU, per-class IoU.
* ``evaluator``: ``SegmentationEvaluator`` for :func:`hrnet_tf.evaluation.evaluate`.
* ``task``: config sections and ``SegmentationTask`` (``train/segment.py``).
* ``predict`` / ``evaluate``: the commands ``python -m hrnet_tf.segmentation.predict|evaluate``.

Modules are imported on use, so that ``import hrnet_tf.segmentation.labels`` stays light.
"""
