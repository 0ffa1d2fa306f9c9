"""Image decoding, normalization and resizing for every pipeline and export: the one home of each.

    image = read_image(path)                           # uint8 [H, W, 3] RGB, as cv2.imread + BGR2RGB
    x = normalize(image)                               # float32, the model's normalization
    problem = image_file_problem("train/n01/a.JPEG")   # None, or why the file is unusable

JPEGs are decoded with the accurate integer DCT, which gives exactly the pixels of cv2/PIL
(libjpeg-turbo), the decoders of the official code; TensorFlow's default fast DCT is about one grey
level off. EXIF orientation is ignored, as the official ``cv2.IMREAD_IGNORE_ORIENTATION``.
"""

import os

import numpy as np
import tensorflow as tf

from hrnet_tf.data.checks import fail_unless
from hrnet_tf.data.normalization import IMAGENET, Normalization

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
JPEG_DCT = "INTEGER_ACCURATE"

_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_GIF_MAGICS = (b"GIF87a", b"GIF89a")
_BMP_MAGIC = b"BM"
_TAIL = 64


def normalize(image, normalization=IMAGENET):
    """uint8 (or [0, 255] float) RGB -> float32 network input, in TF ops (any leading shape).

    >>> round(float(normalize(tf.constant([[[0, 0, 0]]], tf.uint8))[0, 0, 0]), 4)
    -2.1179
    """
    x = tf.cast(image, tf.float32)
    if normalization.channel_order == "BGR":
        x = tf.reverse(x, axis=[-1])
    scale, offset = normalization.scale_offset()
    return x * scale + offset


def denormalize(x, normalization=IMAGENET):
    """Inverse of ``normalize``: float32 RGB pixels in [0, 255] (for drawing/TensorBoard)."""
    scale, offset = normalization.scale_offset()
    image = (tf.cast(x, tf.float32) - offset) / scale
    return tf.reverse(image, axis=[-1]) if normalization.channel_order == "BGR" else image


def decode_image(encoded):
    """Encoded JPEG/PNG/GIF/BMP bytes -> uint8 ``[H, W, 3]`` RGB (grayscale expanded, alpha dropped,
    the first frame of a GIF)."""
    image = tf.cond(
        tf.io.is_jpeg(encoded),
        lambda: tf.io.decode_jpeg(encoded, channels=3, dct_method=JPEG_DCT),
        lambda: tf.io.decode_image(encoded, channels=3, expand_animations=False),
    )
    image.set_shape([None, None, 3])
    return image


def decode_image_window(encoded, window_of_shape):
    """Decodes only a window of the image: ``window_of_shape([h, w, c])`` -> (top, left, height,
    width) int32. Returns (window uint8 [height, width, 3], [top, left], the whole image's [h, w]).

    JPEGs decode just that window (``decode_and_crop_jpeg``, accurate DCT: the same pixels as
    decoding whole, tested against ``cv2.imread``), which saves most of the decoding when the window
    is small; other formats decode whole and are cropped."""

    def jpeg():
        shape = tf.image.extract_jpeg_shape(encoded)
        top, left, h, w = window_of_shape(shape)
        window = tf.image.decode_and_crop_jpeg(
            encoded, tf.stack([top, left, h, w]), channels=3, dct_method=JPEG_DCT
        )
        return window, tf.stack([top, left]), shape[:2]

    def other():
        image = tf.io.decode_image(encoded, channels=3, expand_animations=False)
        shape = tf.shape(image)
        top, left, h, w = window_of_shape(shape)
        return image[top : top + h, left : left + w], tf.stack([top, left]), shape[:2]

    window, top_left, size = tf.cond(tf.io.is_jpeg(encoded), jpeg, other)
    window.set_shape([None, None, 3])
    return window, top_left, size


def decode_image_crop(encoded, window_of_shape):
    """The window of :func:`decode_image_window` alone."""
    return decode_image_window(encoded, window_of_shape)[0]


def read_image(path):
    """``decode_image`` of a file."""
    return decode_image(tf.io.read_file(path))


def read_image_numpy(path):
    """uint8 [H, W, 3] RGB of an image file, in NumPy (for predict commands); ``ValueError`` naming
    the file when it is missing or not an image."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"image not found: {path}")
    problem = image_file_problem(path)
    if problem:
        raise ValueError(f"{path}: {problem}")
    try:
        return read_image(path).numpy()
    except tf.errors.InvalidArgumentError:
        raise ValueError(f"{path}: cannot be decoded") from None


def _contains(data, pattern):
    """Whether the uint8 vector ``data`` contains the byte string ``pattern``."""
    n = len(pattern)
    size = tf.shape(data)[0]
    if_long = tf.reduce_any(
        tf.reduce_all(
            [data[i : size - n + 1 + i] == byte for i, byte in enumerate(pattern)], axis=0
        )
    )
    return tf.logical_and(size >= n, if_long)


def encoded_image_ok(encoded):
    """In-graph check that ``encoded`` is a complete JPEG or PNG (or a GIF/BMP header).

    Complete means: the format's magic bytes at the start and its end marker near the end (JPEG
    ``FFD9``, PNG ``IEND``). Catches empty, truncated and non-image records before the decoder,
    which would otherwise stop the pipeline.
    """
    length = tf.strings.length(encoded)
    head = tf.strings.substr(encoded, 0, 8)
    tail = tf.io.decode_raw(
        tf.strings.substr(encoded, tf.maximum(length - _TAIL, 0), _TAIL), tf.uint8
    )
    jpeg_head = tf.strings.substr(head, 0, 3) == _JPEG_MAGIC
    jpeg = tf.logical_and(jpeg_head, _contains(tail, b"\xff\xd9"))
    png = tf.logical_and(head == _PNG_MAGIC, _contains(tail, b"IEND"))
    gif = tf.reduce_any([tf.strings.substr(head, 0, 6) == m for m in _GIF_MAGICS])
    bmp = tf.strings.substr(head, 0, 2) == _BMP_MAGIC
    return tf.logical_and(length > 16, tf.reduce_any([jpeg, png, gif, bmp]))


# The problem line of a training or evaluation image that is not a complete file.
BAD_IMAGE = "not a complete image file (truncated, empty or not a JPEG/PNG)"


def read_checked_bytes(path):
    """The bytes of ``path``; a file that is not a complete image fails the pipeline with
    ``"<path>: not a complete image file ..."`` (a ``fail_unless`` problem: one line, exit 2)."""
    encoded = tf.io.read_file(path)
    check = fail_unless(encoded_image_ok(encoded), tf.strings.join([path, ": ", BAD_IMAGE]))
    with tf.control_dependencies([check]):
        return tf.identity(encoded)


def read_checked_image(path):
    """uint8 RGB of ``path``, checked as :func:`read_checked_bytes`."""
    return decode_image(read_checked_bytes(path))


def read_image_if_complete(path):
    """(uint8 RGB image, ok): a 1x1 black image and False for a file that is not a complete image
    (the decoder is never run on it)."""
    encoded = tf.io.read_file(path)
    ok = encoded_image_ok(encoded)
    image = tf.cond(ok, lambda: decode_image(encoded), lambda: tf.zeros([1, 1, 3], tf.uint8))
    image.set_shape([None, None, 3])
    return image, ok


def image_file_problem(path):
    """Why the file at ``path`` cannot be a usable image, or None if it looks complete.

    Reads only the first and last bytes: the extension must be an image type, the content must
    start with that type's magic bytes, and JPEG/PNG files must end with their end marker (a
    truncated download fails here). In JPEG data ``FF D9`` only occurs as the end marker, so finding
    it in the tail is a sound completeness test.

    >>> image_file_problem(__file__)
    'not an image file (.py)'
    """
    ext = os.path.splitext(path)[1].lower()
    if ext not in IMAGE_EXTENSIONS:
        return f"not an image file ({ext or 'no extension'})"
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(8)
            f.seek(max(0, size - _TAIL))
            tail = f.read(_TAIL)
    except OSError as e:
        return f"unreadable ({e.strerror or e})"
    if size <= 16:
        return "empty or too small"
    if head.startswith(_JPEG_MAGIC):
        return None if b"\xff\xd9" in tail else "truncated JPEG (no end marker)"
    if head.startswith(_PNG_MAGIC):
        return None if b"IEND" in tail else "truncated PNG (no IEND chunk)"
    if head.startswith(_GIF_MAGICS) or head.startswith(_BMP_MAGIC):
        return None
    return "not a JPEG/PNG/GIF/BMP (unknown content)"


def resize_shorter_side(image, size):
    """Resizes so the shorter side is ``size`` (torchvision ``Resize(int)``: the longer side is
    ``int(size * long / short)``), bilinear with antialiasing like PIL."""
    shape = tf.shape(image)
    h, w = tf.cast(shape[0], tf.float64), tf.cast(shape[1], tf.float64)
    short = tf.minimum(h, w)
    size = tf.constant(size, tf.float64)
    new_h = tf.where(h <= w, size, tf.floor(size * h / short))
    new_w = tf.where(w <= h, size, tf.floor(size * w / short))
    new_hw = tf.cast(tf.stack([new_h, new_w]), tf.int32)
    return tf.image.resize(image, new_hw, method="bilinear", antialias=True)


def center_crop(image, height, width):
    """torchvision ``CenterCrop``: offsets ``round((H - h) / 2)``, ``round((W - w) / 2)``."""
    shape = tf.shape(image)
    top = tf.cast(tf.round(tf.cast(shape[0] - height, tf.float32) / 2.0), tf.int32)
    left = tf.cast(tf.round(tf.cast(shape[1] - width, tf.float32) / 2.0), tf.int32)
    return image[top : top + height, left : left + width]


def write_jpeg(path, rgb, quality=95):
    """Writes a uint8 RGB array as a JPEG (OpenCV; creates the folder)."""
    import cv2

    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    bgr = np.ascontiguousarray(rgb[..., ::-1])
    ok = cv2.imwrite(path, bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise OSError(f"could not write {path}")


# -- label maps and image sizes (segmentation) ---------------------------------------------------
def decode_label(encoded):
    """Encoded label PNG bytes -> uint8 ``[H, W, C]`` exactly as stored: ``C`` is 1 for a label-id
    PNG (what every segmentation dataset here uses); a palette or RGB PNG gives 3 or 4 channels,
    which the caller reports."""
    label = tf.io.decode_png(encoded, channels=0, dtype=tf.uint8)
    label.set_shape([None, None, None])
    return label


def encoded_png_ok(encoded):
    """In-graph check that ``encoded`` is a complete PNG (magic bytes and IEND chunk): label maps
    come only as PNGs."""
    return tf.logical_and(tf.strings.substr(encoded, 0, 8) == _PNG_MAGIC, encoded_image_ok(encoded))


def encoded_image_size(encoded):
    """(height, width) int32 of encoded image bytes, read from the JPEG or PNG header without
    decoding the pixels (other formats are decoded).

    >>> import cv2
    >>> ok, png = cv2.imencode(".png", np.zeros((300, 700, 3), np.uint8))
    >>> encoded_image_size(tf.constant(png.tobytes())).numpy().tolist()
    [300, 700]
    """

    def png():
        # IHDR: width and height as big-endian uint32 at bytes 16..23.
        raw = tf.cast(tf.io.decode_raw(tf.strings.substr(encoded, 16, 8), tf.uint8), tf.int32)
        big_endian = raw * tf.constant([1 << 24, 1 << 16, 1 << 8, 1] * 2, tf.int32)
        return tf.stack([tf.reduce_sum(big_endian[4:]), tf.reduce_sum(big_endian[:4])])

    def other():
        return tf.shape(tf.io.decode_image(encoded, channels=3, expand_animations=False))[:2]

    is_png = tf.strings.substr(encoded, 0, 8) == _PNG_MAGIC
    return tf.case(
        [(tf.io.is_jpeg(encoded), lambda: tf.image.extract_jpeg_shape(encoded)[:2]),
         (is_png, png)],
        default=other,
    )


def write_png(path, image):
    """Writes a uint8 RGB ``[H, W, 3]`` or single-channel ``[H, W]`` array as a PNG (OpenCV;
    creates the folder)."""
    import cv2

    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    image = np.asarray(image)
    data = np.ascontiguousarray(image[..., ::-1] if image.ndim == 3 else image)
    if not cv2.imwrite(path, data):
        raise OSError(f"could not write {path}")


__all__ = [
    "BAD_IMAGE",
    "read_checked_bytes",
    "read_checked_image",
    "read_image_if_complete",
    "IMAGE_EXTENSIONS",
    "Normalization",
    "center_crop",
    "decode_image",
    "decode_image_crop",
    "decode_image_window",
    "denormalize",
    "encoded_image_ok",
    "image_file_problem",
    "normalize",
    "read_image",
    "read_image_numpy",
    "resize_shorter_side",
    "write_jpeg",
]


def resize_to_cover(image, height, width):
    """The smallest resize (aspect kept) after which the image covers ``height`` x ``width``:
    the limiting side becomes exactly its target, the other ``floor(target * other / limiting)``,
    as torchvision ``Resize(int)`` does for a square target. Bilinear, antialiased like PIL; any
    leading shape ``[..., H, W, C]``.

    >>> resize_to_cover(tf.zeros([300, 500, 3]), 256, 256).shape
    TensorShape([256, 426, 3])
    """
    shape = tf.shape(image)
    h, w = tf.cast(shape[-3], tf.float64), tf.cast(shape[-2], tf.float64)
    target_h, target_w = tf.constant(height, tf.float64), tf.constant(width, tf.float64)
    by_height = target_h / h >= target_w / w
    new_h = tf.where(by_height, target_h, tf.maximum(tf.floor(target_w * h / w), target_h))
    new_w = tf.where(by_height, tf.maximum(tf.floor(target_h * w / h), target_w), target_w)
    new_hw = tf.cast(tf.stack([new_h, new_w]), tf.int32)
    return tf.image.resize(image, new_hw, method="bilinear", antialias=True)


__all__ += ["resize_to_cover"]
