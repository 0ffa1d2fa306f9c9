"""COCO bbox metrics with pycocotools ``COCOeval(iouType="bbox")`` (the official tool).

    >>> STAT_NAMES[:3]
    ('AP', 'AP50', 'AP75')
"""

import contextlib
import io

STAT_NAMES = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")


def coco_bbox_stats(api, results, image_ids):
    """The twelve COCO bbox stats of ``results`` (COCO result dicts) against the ground truth
    ``api`` (pycocotools COCO) on ``image_ids``; all 0 when there is no detection (pycocotools
    cannot load an empty result list)."""
    from pycocotools.cocoeval import COCOeval

    if not results:
        return dict.fromkeys(STAT_NAMES, 0.0)
    with contextlib.redirect_stdout(io.StringIO()):
        detections = api.loadRes(list(results))
        evaluator = COCOeval(api, detections, iouType="bbox")
        evaluator.params.imgIds = sorted(int(i) for i in image_ids)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    # pycocotools reports -1 for an area range without ground truth
    return {name: float(v) for name, v in zip(STAT_NAMES, evaluator.stats, strict=True)}


def to_coco_results(image_id, boxes, scores, labels, category_ids):
    """COCO result dicts of one image: boxes x1 y1 x2 y2 -> [x, y, w, h], labels -> category ids."""
    out = []
    for box, score, label in zip(boxes, scores, labels, strict=True):
        x1, y1, x2, y2 = (float(v) for v in box)
        out.append({"image_id": int(image_id), "category_id": int(category_ids[int(label)]),
                    "bbox": [round(x1, 2), round(y1, 2), round(x2 - x1, 2), round(y2 - y1, 2)],
                    "score": round(float(score), 5)})
    return out


__all__ = ["STAT_NAMES", "coco_bbox_stats", "to_coco_results"]
