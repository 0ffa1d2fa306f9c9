"""Top-down human pose estimation with HRNetV1 (the official COCO/MPII pipeline).

    from hrnet_tf.pose import PoseCodec, COCO
    codec = PoseCodec(image_size=(192, 256), sigma=2.0, keypoints=COCO)
"""

from hrnet_tf.pose.codec import PoseCodec, box_to_center_scale
from hrnet_tf.pose.keypoints import COCO, MPII, KeypointSet

__all__ = ["COCO", "MPII", "KeypointSet", "PoseCodec", "box_to_center_scale"]
