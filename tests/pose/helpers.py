"""Helpers of the pose tests: tiny models as training builds them, damaged files."""


def tiny_pose_model(input_hw=(64, 64), keypoints="coco", **kwargs):
    """The "tiny" HRNetV1 with its keypoint set recorded, as the pose task builds it."""
    import hrnet_tf
    from hrnet_tf.pose.keypoints import KeypointSet

    keypoints = KeypointSet.from_config(keypoints)
    kwargs.setdefault("width", "tiny")
    model = hrnet_tf.HRNetV1(num_outputs=keypoints.num_joints, input_shape=(*input_hw, 3), **kwargs)
    model.info.labels = {"keypoints": keypoints.to_config()}
    return model


def truncate(path, keep=0.5):
    """Cuts a file to ``keep`` of its bytes (a broken download)."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
