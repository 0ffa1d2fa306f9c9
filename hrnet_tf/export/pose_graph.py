"""Official top-down pose inference as TF ops, for the SavedModel signature.

``hrnet_tf.pose.codec`` holds the same formulas in NumPy (decoding) for evaluation; these are their
in-graph, batched twins (boxes in, keypoints out), checked against them in tests/export. The crop
uses ``hrnet_tf.data.affine`` (``ImageProjectiveTransformV3``), which TFLite has no builtin op
for: the pose signature therefore exists in SavedModels only, while a TFLite export takes crops.

Steps (hrnet-facts.md section 3.4):

1. box (x, y, w, h) -> center = box centre, scale = (w, h) / 200 after widening to the input aspect
   ratio, times 1.25;
2. crop = warpAffine of the image with ``get_affine_transform(center, scale, 0, input size)``;
3. heatmaps = model(normalized crop);
4. argmax per joint (score = the maximum; coordinates 0 when it is <= 0), plus a quarter pixel
   toward the higher neighbour strictly inside the border;
5. heatmap pixels -> image pixels with the inverse transform for the heatmap size.
"""

import tensorflow as tf

from hrnet_tf.data.affine import PIXEL_STD, similarity_matrix, warp_affine

BOX_PADDING = 1.25


def boxes_to_centers_scales(boxes, aspect_ratio, padding=BOX_PADDING):
    """Batched official ``_xywh2cs``: boxes [N, 4] (x, y, w, h) -> centers [N, 2], scales [N, 2].

    Example:
        >>> c, s = boxes_to_centers_scales(tf.constant([[0.0, 0.0, 30.0, 100.0]]), 0.75)
        >>> c.numpy().tolist(), s.numpy().tolist()
        ([[15.0, 50.0]], [[0.46875, 0.625]])
    """
    boxes = tf.cast(tf.reshape(boxes, [-1, 4]), tf.float32)
    x, y, w, h = tf.unstack(boxes, axis=1)
    centers = tf.stack([x + w * 0.5, y + h * 0.5], axis=1)
    too_wide = w > aspect_ratio * h
    too_tall = w < aspect_ratio * h
    new_h = tf.where(too_wide, w / aspect_ratio, h)
    new_w = tf.where(too_tall, h * aspect_ratio, w)
    scales = tf.stack([new_w, new_h], axis=1) / PIXEL_STD * padding
    return centers, scales


def crop_boxes(image, centers, scales, input_size):
    """Crops [N, h, w, 3] float32 (0-255) from one [H, W, 3] image, one per (center, scale).

    ``input_size`` is the model's (height, width); pixels outside the image are 0, as with
    ``cv2.warpAffine``'s default border.
    """
    height, width = input_size

    def crop_one(center_scale):
        center, scale = center_scale
        matrix = similarity_matrix(center, scale, 0.0, (width, height))
        return warp_affine(image, matrix, (width, height))

    return tf.map_fn(
        crop_one,
        (centers, scales),
        fn_output_signature=tf.TensorSpec([height, width, None], tf.float32),
    )


def heatmap_maxima(heatmaps):
    """Official ``get_max_preds`` on NHWC heatmaps: ([N, J, 2] integer-valued x, y; [N, J] maxima).

    Example:
        >>> hm = tf.one_hot([[7]], 12)[..., None]          # N=1, a 1x12 "heatmap" with 1 joint
        >>> xy, v = heatmap_maxima(tf.reshape(hm, [1, 3, 4, 1]))
        >>> xy.numpy().tolist(), v.numpy().tolist()
        ([[[3.0, 1.0]]], [[1.0]])
    """
    heatmaps = tf.convert_to_tensor(heatmaps, tf.float32)
    shape = tf.shape(heatmaps)
    n, h, w, j = shape[0], shape[1], shape[2], shape[3]
    flat = tf.reshape(tf.transpose(heatmaps, [0, 3, 1, 2]), [n, j, h * w])
    index = tf.argmax(flat, axis=2, output_type=tf.int32)
    maxima = tf.reduce_max(flat, axis=2)
    coords = tf.cast(tf.stack([index % w, index // w], axis=-1), tf.float32)
    coords *= tf.cast(maxima > 0.0, tf.float32)[..., None]
    return coords, maxima


def quarter_offset(heatmaps, coords):
    """The official post-processing shift: +-0.25 toward the higher neighbour on each axis, only
    for maxima strictly inside the border (``1 < x < W - 1``, ``1 < y < H - 1``)."""
    heatmaps = tf.convert_to_tensor(heatmaps, tf.float32)
    shape = tf.shape(heatmaps)
    h, w = shape[1], shape[2]
    px = tf.cast(tf.floor(coords[..., 0] + 0.5), tf.int32)
    py = tf.cast(tf.floor(coords[..., 1] + 0.5), tf.int32)
    inside = (px > 1) & (px < w - 1) & (py > 1) & (py < h - 1)
    per_joint = tf.transpose(heatmaps, [0, 3, 1, 2])  # [N, J, H, W]

    def at(y, x):
        y = tf.clip_by_value(y, 0, h - 1)
        x = tf.clip_by_value(x, 0, w - 1)
        return tf.gather_nd(per_joint, tf.stack([y, x], axis=-1), batch_dims=2)

    dx = at(py, px + 1) - at(py, px - 1)
    dy = at(py + 1, px) - at(py - 1, px)
    shift = 0.25 * tf.sign(tf.stack([dx, dy], axis=-1))
    return coords + shift * tf.cast(inside, tf.float32)[..., None]


def decode_heatmaps(heatmaps, centers, scales, post_process=True):
    """Official ``get_final_preds`` in TF ops: heatmaps [N, h, w, J] -> keypoints [N, J, 2] in image
    pixels and scores [N, J] (the heatmap maxima).

    The inverse transform for rotation 0 is ``image = (hm - hm_size / 2) * scale_x * 200 / hm_w +
    center`` (one zoom for both axes: the official code uses only the scale's width).
    """
    heatmaps = tf.convert_to_tensor(heatmaps, tf.float32)
    coords, scores = heatmap_maxima(heatmaps)
    if post_process:
        coords = quarter_offset(heatmaps, coords)
    shape = tf.shape(heatmaps)
    hm_size = tf.cast(tf.stack([shape[2], shape[1]]), tf.float32)  # (w, h)
    zoom = scales[:, 0] * PIXEL_STD / hm_size[0]  # image pixels per heatmap pixel
    keypoints = (coords - hm_size * 0.5) * zoom[:, None, None] + centers[:, None, :]
    return keypoints, scores


def estimate_poses(model_fn, image, boxes, input_size, normalize):
    """The whole top-down inference for one image: [H, W, 3] uint8 and boxes [N, 4] xywh ->
    keypoints [N, J, 2] (image pixels) and scores [N, J]."""
    height, width = input_size
    centers, scales = boxes_to_centers_scales(boxes, width / height)
    crops = crop_boxes(image, centers, scales, input_size)
    heatmaps = model_fn(normalize(crops))
    return decode_heatmaps(heatmaps, centers, scales)
