"""Data helpers shared by the task pipelines (TF-op affine crops, ...)."""
