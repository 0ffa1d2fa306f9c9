"""Object detection: FCOS (mmdetection's head and recipe) and RetinaNet (keras-hub's layers) on
HRNetV2p, COCO-format data.

Modules: ``sources`` (COCO json via pycocotools), ``synthetic`` (the shapes demo), ``pipeline``
(tf.data: keep-ratio resize, flip, normalization, padding), ``codec`` (FCOS targets, decoding with
per-class NMS), ``retinanet`` (the RetinaNet coder), ``loss`` (focal, IoU/GIoU, centerness; RetinaNet's
focal + L1), ``metrics`` (COCO bbox stats),
``evaluator``, ``task``, ``predict`` (``python -m hrnet_tf.detection.predict``).
"""
