"""Facial landmarks with HRNetV2-W18 (the official HRNet-Facial-Landmark-Detection pipeline).

One module one job: ``landmark_sets`` (the WFLW/300W/COFW/AFLW sets: flip pairs, NME normalizers),
``sources`` (the official CSVs and the raw WFLW/300W/COFW formats), ``synthetic`` (the demo faces),
``codec`` (the official transforms, targets, decoding, serving), ``pipeline`` (tf.data), ``loss``,
``metrics`` (NME, failure rates, AUC), ``evaluator``, ``task`` (configs + the Task), ``predict``
(library function and command).

    from hrnet_tf.landmarks import LandmarkCodec, WFLW
    codec = LandmarkCodec(image_size=256, sigma=1.5)
"""

from hrnet_tf.landmarks.codec import LandmarkCodec, face_box_to_center_scale
from hrnet_tf.landmarks.landmark_sets import AFLW, COFW, W300, WFLW, LandmarkSet

__all__ = ["AFLW", "COFW", "W300", "WFLW", "LandmarkCodec", "LandmarkSet",
           "face_box_to_center_scale"]
