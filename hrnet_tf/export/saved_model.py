"""SavedModel export with serving signatures that take uint8 images and preprocess inside.

Signatures (``loaded.signatures[NAME]``; the task's signature is also ``serving_default``):

* pose, ``keypoints``: ``image`` uint8 [H, W, 3] (any size), ``boxes`` float32 [N, 4] (x, y, w, h)
  -> ``keypoints`` [N, J, 2] in image pixels, ``scores`` [N, J] (official top-down inference, see
  :func:`hrnet_tf.pose.codec.serve_keypoints`);
* segmentation, ``segment``: ``images`` uint8 [B, H, W, 3] -> ``labels`` int32 [B, H, W] at the
  input size (logits resized bilinearly to the image, then argmax, as the official test);
* classification, ``classify``: ``images`` uint8 [B, H, W, 3] -> ``probabilities`` [B, C] and
  ``classes`` int32 [B] (official validation crop: resize to input / 0.875, centre crop);
* every task, ``raw``: ``image`` float32 [B, h, w, 3], ImageNet-normalized RGB -> ``output``, the
  network's own output (a dict of levels for HRNetV2p).
"""

import keras
import tensorflow as tf

from hrnet_tf.export.tasks import model_input_size, normalize_uint8

# The official classification validation resize: shorter side 256 for a 224 crop.
CENTER_CROP_FRACTION = 0.875

def _run(model, x):
    return model(x, training=False)


def resize_and_center_crop(images, size, fraction=CENTER_CROP_FRACTION):
    """Resizes so the image covers size / fraction, then crops the centre ``size`` = (h, w).

    Example:
        >>> resize_and_center_crop(tf.zeros([1, 300, 500, 3]), (224, 224)).shape
        TensorShape([1, 224, 224, 3])
    """
    height, width = size
    shape = tf.cast(tf.shape(images)[1:3], tf.float32)
    zoom = tf.maximum(height / fraction / shape[0], width / fraction / shape[1])
    resized_hw = tf.cast(tf.round(shape * zoom), tf.int32)
    resized_hw = tf.maximum(resized_hw, tf.constant([height, width]))
    resized = tf.image.resize(tf.cast(images, tf.float32), resized_hw, antialias=True)
    top = (resized_hw[0] - height) // 2
    left = (resized_hw[1] - width) // 2
    return resized[:, top : top + height, left : left + width, :]


def classify_images(model, images):
    """uint8 [B, H, W, 3] -> softmax probabilities [B, C], in TF ops."""
    in_h, in_w = model_input_size(model)
    # A model without a fixed input size (global pooling) classifies the whole image.
    crops = images if in_h is None or in_w is None else resize_and_center_crop(images, (in_h, in_w))
    logits = _run(model, normalize_uint8(crops))
    return tf.nn.softmax(tf.cast(logits, tf.float32), axis=-1)


def build_archive(model, task, raw_input_size=None):
    """A ``keras.export.ExportArchive`` with the raw signature and the task's signature."""
    from hrnet_tf.export.signatures import signature_of

    archive = keras.export.ExportArchive()
    archive.track(model)
    in_h, in_w = model_input_size(model)
    if raw_input_size is not None:
        in_h, in_w = raw_input_size
    signature = signature_of(task)
    if signature is not None:
        if signature.needs_fixed_input and None in model_input_size(model):
            raise ValueError(f"the {signature.name} signature needs a model with a fixed input size")

        def serve(*inputs):
            names = [spec.name for spec in signature.input_signature]
            return signature.function(model, **dict(zip(names, inputs, strict=True)))

        archive.add_endpoint(signature.name, serve, input_signature=list(signature.input_signature))

    def raw(image):
        output = _run(model, image)
        return output if isinstance(output, dict) else {"output": output}

    archive.add_endpoint(
        "raw", raw, input_signature=[tf.TensorSpec([None, in_h, in_w, 3], tf.float32, name="image")]
    )
    return archive


def export_saved_model(model, path, task, raw_input_size=None):
    """Writes a SavedModel with serving signatures to the directory ``path``.

    Example:
        >>> import hrnet_tf
        >>> m = hrnet_tf.HRNetClassifier("tiny", num_classes=5, input_shape=(64, 64, 3))
        >>> export_saved_model(m, "/tmp/tiny_cls", "classification")  # doctest: +SKIP
        >>> tf.saved_model.load("/tmp/tiny_cls").signatures["classify"]  # doctest: +SKIP
    """
    archive = build_archive(model, task, raw_input_size)
    archive.write_out(str(path), verbose=False)
    return str(path)
