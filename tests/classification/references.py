"""Independent NumPy/cv2 re-derivations of the torchvision transforms the official code uses."""


import cv2
import numpy as np

# torchvision.transforms.Normalize as in the official tools/train.py
MEAN = np.array([0.485, 0.456, 0.406])
STD = np.array([0.229, 0.224, 0.225])


def read_rgb(path):
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION),
                        cv2.COLOR_BGR2RGB)


def _pil_bilinear_weights(in_size, out_size):
    """PIL ``ImagingResample`` (libImaging/Resample.c ``precompute_coeffs``) for the bilinear
    (triangle) filter: the output pixel ``i`` centred at ``(i + 0.5) * scale`` averages the input
    under a triangle widened by the scale when downsizing (antialiasing)."""
    scale = in_size / out_size
    filterscale = max(scale, 1.0)
    support = 1.0 * filterscale
    weights = np.zeros((out_size, in_size))
    for i in range(out_size):
        center = (i + 0.5) * scale
        lo = max(int(center - support + 0.5), 0)
        hi = min(int(center + support + 0.5), in_size)
        x = np.arange(lo, hi)
        w = np.maximum(0.0, 1.0 - np.abs((x - center + 0.5) / filterscale))
        weights[i, lo:hi] = w / w.sum()
    return weights


def pil_resize(image, height, width):
    """float64 result of PIL ``Image.resize((width, height), BILINEAR)`` before its rounding."""
    rows = _pil_bilinear_weights(image.shape[0], height)
    cols = _pil_bilinear_weights(image.shape[1], width)
    vertical = np.einsum("ij,jkc->ikc", rows, image.astype(np.float64))
    return np.einsum("ikc,lk->ilc", vertical, cols)


def official_eval_transform(rgb, size):
    """``Resize(int(size / 0.875))`` (shorter side; the longer ``int(s * long / short)``),
    ``CenterCrop(size)`` (offsets ``int(round((H - size) / 2))``), ``ToTensor``, ``Normalize``."""
    short = int(size / 0.875)
    h, w = rgb.shape[:2]
    if h <= w:
        new_h, new_w = short, int(short * w / h)
    else:
        new_h, new_w = int(short * h / w), short
    resized = pil_resize(rgb, new_h, new_w)
    top, left = int(round((new_h - size) / 2.0)), int(round((new_w - size) / 2.0))
    crop = resized[top:top + size, left:left + size]
    return (crop / 255.0 - MEAN) / STD


def torchvision_crop_fallback(height, width, ratio):
    """``RandomResizedCrop.get_params`` after ten misses: the centre crop, aspect clamped."""
    in_ratio = width / height
    if in_ratio < ratio[0]:
        w, h = width, int(round(width / ratio[0]))
    elif in_ratio > ratio[1]:
        h, w = height, int(round(height * ratio[1]))
    else:
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w


__all__ = ["MEAN", "STD", "official_eval_transform", "pil_resize", "read_rgb",
           "torchvision_crop_fallback"]
