"""The official test loop (``tools/test.py`` -> ``testval`` -> ``multi_scale_inference``)
re-derived line by line in NumPy/cv2 from HRNet-Semantic-Segmentation ``lib/datasets/
cityscapes.py`` (``Cityscapes.multi_scale_inference``) and ``lib/datasets/base_dataset.py``
(``BaseDataset.multi_scale_inference``, ``pad_image``, ``image_resize``, ``inference``), branch
HRNet-OCR (score resizes with ``MODEL.ALIGN_CORNERS``). Shared by test_protocol.py and
test_codec.py."""

import cv2
import numpy as np

from .helpers import corner_resize

MEAN = np.array([0.485, 0.456, 0.406])
STD = np.array([0.229, 0.224, 0.225])
PAD = (-MEAN / STD).astype(np.float32)  # official padvalue = -mean/std


def cv2_resize(array, h, w):
    return cv2.resize(array, (w, h), interpolation=cv2.INTER_LINEAR)


def score_resize(array, h, w, align_corners):
    return corner_resize(array, h, w) if align_corners else cv2_resize(array, h, w)


def official_inference(model, image, flip, align_corners):
    h, w = image.shape[:2]
    pred = score_resize(np.asarray(model(image[None]))[0], h, w, align_corners)
    if flip:
        mirrored = np.asarray(model(np.ascontiguousarray(image[None, :, ::-1])))[0]
        pred = (pred + score_resize(mirrored, h, w, align_corners)[:, ::-1]) * 0.5
    return np.exp(pred)


def pad_image(image, size):
    """``pad_image``: bottom/right to ``size`` with -mean/std (cv2.copyMakeBorder)."""
    h, w = image.shape[:2]
    pad_h, pad_w = max(size[0] - h, 0), max(size[1] - w, 0)
    if not (pad_h or pad_w):
        return image
    return cv2.copyMakeBorder(image, 0, pad_h, 0, pad_w, cv2.BORDER_CONSTANT,
                              value=[float(v) for v in PAD])


def image_resize(image, base, scale):
    """``multi_scale_aug(rand_crop=False)`` -> ``image_resize``: long side to base*scale."""
    h, w = image.shape[:2]
    long_size = int(base * scale + 0.5)
    if h > w:
        new_h, new_w = long_size, int(w * long_size / h + 0.5)
    else:
        new_h, new_w = int(h * long_size / w + 0.5), long_size
    return cv2_resize(image, new_h, new_w)


def official_cityscapes(model, image, scales, flip, crop, base, align_corners, windows):
    ori_h, ori_w = image.shape[:2]
    final = 0
    for scale in scales:
        new_img = image_resize(image, base, scale)
        height, width = new_img.shape[:2]
        if scale <= 1.0:
            preds = official_inference(model, new_img, flip, align_corners)
            windows.append((0, 0, height, width))
        else:
            rows = int(np.ceil((height - crop[0]) / crop[0])) + 1
            cols = int(np.ceil((width - crop[1]) / crop[1])) + 1
            preds, count = None, np.zeros((height, width, 1))
            for r in range(rows):
                for c in range(cols):
                    h1, w1 = min(r * crop[0] + crop[0], height), min(c * crop[1] + crop[1], width)
                    h0, w0 = max(h1 - crop[0], 0), max(w1 - crop[1], 0)
                    pred = official_inference(model, np.ascontiguousarray(new_img[h0:h1, w0:w1]),
                                              flip, align_corners)
                    if preds is None:
                        preds = np.zeros((height, width, pred.shape[-1]))
                    preds[h0:h1, w0:w1] += pred
                    count[h0:h1, w0:w1] += 1
                    windows.append((h0, w0, h1, w1))
            preds = preds / count
        final = final + score_resize(preds.astype(np.float32), ori_h, ori_w, align_corners)
    return final


def official_generic(model, image, scales, flip, crop, base, align_corners, windows):
    ori_h, ori_w = image.shape[:2]
    stride_h, stride_w = int(crop[0] * 2.0 / 3.0), int(crop[1] * 2.0 / 3.0)
    final = 0
    for scale in scales:
        new_img = image_resize(image, base, scale)
        height, width = new_img.shape[:2]
        if max(height, width) <= np.min(crop):
            new_img = pad_image(new_img, crop)
            preds = official_inference(model, new_img, flip, align_corners)[:height, :width]
            windows.append((0, 0) + tuple(crop))
        else:
            if height < crop[0] or width < crop[1]:
                new_img = pad_image(new_img, crop)
            new_h, new_w = new_img.shape[:2]
            rows = int(np.ceil((new_h - crop[0]) / stride_h)) + 1
            cols = int(np.ceil((new_w - crop[1]) / stride_w)) + 1
            preds, count = None, np.zeros((new_h, new_w, 1))
            for r in range(rows):
                for c in range(cols):
                    h0, w0 = r * stride_h, c * stride_w
                    h1, w1 = min(h0 + crop[0], new_h), min(w0 + crop[1], new_w)
                    crop_img = new_img[h0:h1, w0:w1]
                    if h1 == new_h or w1 == new_w:
                        crop_img = pad_image(crop_img, crop)
                    pred = official_inference(model, np.ascontiguousarray(crop_img), flip,
                                              align_corners)
                    if preds is None:
                        preds = np.zeros((new_h, new_w, pred.shape[-1]))
                    preds[h0:h1, w0:w1] += pred[: h1 - h0, : w1 - w0]
                    count[h0:h1, w0:w1] += 1
                    windows.append((h0, w0, h1, w1))
            preds = (preds / count)[:height, :width]
        final = final + score_resize(preds.astype(np.float32), ori_h, ori_w, align_corners)
    return final


