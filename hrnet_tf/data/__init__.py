"""Data helpers and tf.data pipelines shared by the task pipelines.

* ``hrnet_tf.data.images``: decoding, ImageNet normalization, image file checks.
* ``hrnet_tf.data.affine``: TF-op affine crops (pose).

Modules are imported on use (``from hrnet_tf.data.images import read_image``). A task's own data
(ImageNet folders and TFRecords: ``hrnet_tf.classification.sources``) lives in its package.
"""
