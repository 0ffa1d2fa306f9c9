"""Top-down human pose estimation with HRNetV1 (the official COCO/MPII pipeline).

One module one job: ``keypoints`` (joint sets), ``sources``/``coco``/``mpii`` (datasets on disk),
``synthetic`` (the demo data), ``codec`` (the pose geometry: crops, targets, decoding, flip test,
serving), ``pipeline`` (tf.data), ``loss``, ``metrics`` (COCO AP, PCKh), ``evaluator``, ``task``
(configs + the Task), ``predict`` (library function and command).

    from hrnet_tf.pose import PoseCodec, COCO
    codec = PoseCodec(image_size=(192, 256), sigma=2.0, keypoints=COCO)
"""

from hrnet_tf.pose.codec import PoseCodec, box_to_center_scale
from hrnet_tf.pose.keypoints import COCO, MPII, KeypointSet

__all__ = ["COCO", "MPII", "KeypointSet", "PoseCodec", "box_to_center_scale"]
