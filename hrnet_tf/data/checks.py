"""Bad samples found inside a tf.data pipeline, reported as one line naming the file.

A pipeline checks each sample in graph (sizes, label ids, keypoint counts) and either drops it
(evaluation: the ``ok``/``problem`` fields that :mod:`hrnet_tf.evaluation` counts) or, where a
run must stop, fails with :func:`fail_unless`. The op error that reaches the training loop then
carries the problem behind a marker, and :func:`sample_problem` takes it out again, so the command
prints ``error: <file>: <problem>`` instead of a TensorFlow traceback.

    >>> import tensorflow as tf
    >>> try:
    ...     fail_unless(tf.constant(False), tf.constant("a.png: label is 3 channels"))
    ... except tf.errors.InvalidArgumentError as e:
    ...     print(sample_problem(e))
    a.png: label is 3 channels
"""

import re

import tensorflow as tf

MARKER = "hrnet_tf bad sample:"


def fail_unless(ok, problem):
    """An op that raises ``InvalidArgumentError`` carrying ``problem`` (a string tensor) unless
    ``ok``; use it as a control dependency of the sample's outputs."""
    return tf.debugging.Assert(ok, [tf.strings.join([MARKER, " ", problem])], summarize=1)


def sample_problem(error):
    """The problem line a :func:`fail_unless` put into ``error`` (an op error or its text), or
    None for any other error."""
    text = getattr(error, "message", None) or str(error)
    if MARKER not in text:
        return None
    line = text[text.index(MARKER) + len(MARKER):]
    line = re.split(r"\]|\n|'\s*$", line.strip(), maxsplit=1)[0]
    return line.strip().strip("'\"")


__all__ = ["MARKER", "fail_unless", "sample_problem"]
