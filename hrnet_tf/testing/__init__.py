"""Independent references that tests, benchmarks and scripts check hrnet_tf against.

* ``pose_reference``: the official top-down pose formulas re-derived in NumPy/cv2 (crops, targets,
  decoding, flip test), as the official per-sample loop runs them;
* ``parity``: seeded random weights shared with the PyTorch side of the parity fixtures.

Nothing in the library imports these modules; they only state what the official code computes.
"""
