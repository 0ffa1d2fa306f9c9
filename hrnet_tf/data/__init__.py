"""Data helpers and tf.data pipelines shared by the task pipelines.

* ``hrnet_tf.data.images``: decoding, ImageNet normalization, image file checks.
* ``hrnet_tf.data.affine``: TF-op affine crops (pose).
* ``hrnet_tf.data.imagenet``: ImageNet classification data, folder layout or TFRecord shards.
* ``hrnet_tf.data.synthetic_classification``: a generated classification dataset for tests/demos.

Modules are imported on use (``from hrnet_tf.data.imagenet import list_image_folder``) so that
importing one task's data does not load the others.
"""
