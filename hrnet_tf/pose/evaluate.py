"""COCO keypoint evaluation as the official code does it (``lib/dataset/coco.py evaluate``).

Predictions (image keypoints with per-joint maxvals) are rescored (box score x mean maxval of the
joints above ``in_vis_threshold``), filtered per image with greedy OKS-NMS (``oks_threshold`` 0.9),
written as a COCO results json and scored by pycocotools ``COCOeval(..., "keypoints")``.

    >>> stats = coco_keypoint_eval(records.annotation_file, results_json)   # doctest: +SKIP
    >>> stats["AP"]                                                          # doctest: +SKIP
    0.744
"""

import contextlib
import io
import json
import os
from collections import defaultdict

import numpy as np

from hrnet_tf.data.affine import PIXEL_STD
from hrnet_tf.pose.keypoints import COCO

STAT_NAMES = ("AP", "AP50", "AP75", "APM", "APL", "AR", "AR50", "AR75", "ARM", "ARL")


def oks_overlaps(keypoints, others, area, other_areas, sigmas):
    """Official ``oks_iou`` (lib/nms/nms.py): OKS of one prediction [J, 3] against others
    [M, J, 3], with the mean of the two areas as the object scale. Returns [M]."""
    variances = (np.asarray(sigmas) * 2) ** 2
    dx = others[..., 0] - keypoints[None, :, 0]
    dy = others[..., 1] - keypoints[None, :, 1]
    scale = (area + np.asarray(other_areas)) / 2 + np.spacing(1)
    e = (dx**2 + dy**2) / variances[None] / scale[:, None] / 2
    return np.exp(-e).mean(axis=1)


def oks_nms(keypoints, scores, areas, threshold, sigmas):
    """Greedy OKS-NMS: indices kept, highest score first (official ``oks_nms``)."""
    keypoints = np.asarray(keypoints, np.float64)
    if len(keypoints) == 0:
        return []
    order = np.argsort(np.asarray(scores))[::-1]
    keep = []
    while order.size > 0:
        best = order[0]
        keep.append(int(best))
        overlap = oks_overlaps(keypoints[best], keypoints[order[1:]], areas[best],
                               np.asarray(areas)[order[1:]], sigmas)
        order = order[1:][overlap <= threshold]
    return keep


def rescore(keypoints, box_scores, in_vis_threshold=0.2):
    """Instance score = box score x mean of the joint maxvals above ``in_vis_threshold``
    (0 when none is above; the official code then keeps the box score times 0)."""
    maxvals = np.asarray(keypoints)[..., 2]
    above = maxvals > in_vis_threshold
    count = above.sum(axis=1)
    mean = np.where(count > 0, (maxvals * above).sum(axis=1) / np.maximum(count, 1), 0.0)
    return mean * np.asarray(box_scores)


def select_results(keypoints, image_ids, box_scores, scales, keypoint_set=COCO,
                   in_vis_threshold=0.2, oks_threshold=0.9, use_nms=True):
    """Rescoring + per-image OKS-NMS; returns the COCO results list (not yet written).

    Args:
      keypoints: [N, J, 3] (x, y, maxval) in image pixels (``PoseCodec.decode``).
      image_ids: [N]; box_scores: [N]; scales: [N, 2] crop scales (area = prod(scale * 200)).
    """
    keypoints = np.asarray(keypoints, np.float32)
    scores = rescore(keypoints, box_scores, in_vis_threshold)
    areas = np.prod(np.asarray(scales, np.float64) * PIXEL_STD, axis=1)
    by_image = defaultdict(list)
    for i, image_id in enumerate(np.asarray(image_ids)):
        by_image[int(image_id)].append(i)
    results = []
    for image_id in sorted(by_image):
        rows = np.asarray(by_image[image_id])
        keep = (oks_nms(keypoints[rows], scores[rows], areas[rows], oks_threshold,
                        keypoint_set.sigmas) if use_nms else range(len(rows)))
        kept = rows[list(keep)] if len(keep) else rows
        for i in kept:
            results.append({
                "image_id": image_id,
                "category_id": 1,
                "keypoints": [round(float(v), 3) for v in keypoints[i].reshape(-1)],
                "score": float(scores[i]),
            })
    return results


def write_results(results, path):
    """Writes a COCO keypoint results json (the official ``keypoints_*_results_0.json``)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(results, f)
    return path


def coco_keypoint_eval(annotation_file_or_api, results, sigmas=None, verbose=False):
    """pycocotools COCOeval on keypoints; returns the ten stats as a dict (``STAT_NAMES``).

    ``results`` is a results list or json path; ``sigmas`` overrides the COCO OKS sigmas for
    custom keypoint sets. An empty result list scores 0 everywhere.
    """
    from pycocotools.coco import COCO as CocoApi
    from pycocotools.cocoeval import COCOeval

    from hrnet_tf.pose.coco import open_coco

    api = annotation_file_or_api
    if not isinstance(api, CocoApi):
        api = open_coco(api)
    if isinstance(results, (str, os.PathLike)):
        with open(results) as f:
            results = json.load(f)
    if not results:
        return dict.fromkeys(STAT_NAMES, 0.0)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        detections = api.loadRes(list(results))
        evaluator = COCOeval(api, detections, "keypoints")
        evaluator.params.useSegm = None
        if sigmas is not None:
            evaluator.params.kpt_oks_sigmas = np.asarray(sigmas, np.float64)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    if verbose:
        print(out.getvalue())
    return {name: float(v) for name, v in zip(STAT_NAMES, evaluator.stats, strict=True)}


def predict_heatmaps(model, dataset, codec, flip_test=True, shift_heatmap=True):
    """Runs ``model`` over a dataset of normalised crops; with ``flip_test`` averages in the
    flipped-back output of the mirrored crops (official ``TEST.FLIP_TEST``). Returns NHWC."""
    import tensorflow as tf

    @tf.function(reduce_retracing=True)
    def forward(images):
        outputs = model(images, training=False)
        if flip_test:
            return outputs, model(tf.reverse(images, axis=[2]), training=False)
        return outputs, outputs

    chunks = []
    for images in dataset:
        outputs, flipped = forward(images)
        outputs = outputs.numpy()
        if flip_test:
            outputs = codec.flip_average(outputs, flipped.numpy(), shift_heatmap)
        chunks.append(outputs.astype(np.float32))
    if not chunks:
        h, w = codec.heatmap_size[1], codec.heatmap_size[0]
        return np.zeros((0, h, w, codec.num_joints), np.float32)
    return np.concatenate(chunks)


def evaluate_coco(model, pipeline, records, out_dir, batch_size=32, flip_test=True,
                  shift_heatmap=True, post_process=True, in_vis_threshold=0.2,
                  oks_threshold=0.9, use_nms=True, verbose=False):
    """The official top-down evaluation of ``model`` on ``records`` (GT or detector boxes).

    Writes ``out_dir/keypoints_results.json`` and returns the ten COCO stats.

    >>> records = load_coco(root, "val2017", 0.75)                 # doctest: +SKIP
    >>> evaluate_coco(model, pipeline, records, "out")["AP"]       # doctest: +SKIP
    """
    codec = pipeline.codec
    heatmaps = predict_heatmaps(model, pipeline.eval_dataset(records, batch_size), codec,
                                flip_test, shift_heatmap)
    keypoints = codec.decode(heatmaps, records.centers, records.scales, post_process)
    results = select_results(keypoints, records.image_ids, records.scores, records.scales,
                             codec.keypoints, in_vis_threshold, oks_threshold, use_nms)
    write_results(results, os.path.join(out_dir, "keypoints_results.json"))
    return coco_keypoint_eval(records.annotation_file, results, codec.keypoints.sigmas, verbose)
