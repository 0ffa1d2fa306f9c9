"""Object detection: FCOS on HRNetV2p (mmdetection's head and recipe), COCO-format data.

Modules: ``sources`` (COCO json via pycocotools), ``synthetic`` (the shapes demo), ``pipeline``
(tf.data: keep-ratio resize, flip, normalization, padding), ``codec`` (FCOS targets, decoding with
per-class NMS), ``loss`` (focal, IoU/GIoU, centerness), ``metrics`` (COCO bbox stats),
``evaluator``, ``task``, ``predict`` (``python -m hrnet_tf.detection.predict``).
"""
