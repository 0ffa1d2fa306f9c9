"""A bad sample found inside tf.data reaches the caller as one line naming the file."""

import pytest
import tensorflow as tf

from hrnet_tf.data.checks import fail_unless, sample_problem


def test_problem_raised_inside_a_pipeline_comes_out_by_name():
    files = tf.constant(["a.png", "b.png", "c.png"])
    sizes = tf.constant([3, 0, 2])

    def check(name, size):
        with tf.control_dependencies([fail_unless(size > 0, tf.strings.join([name, ": empty mask"]))]):
            return tf.identity(size)

    dataset = tf.data.Dataset.from_tensor_slices((files, sizes)).map(check)
    with pytest.raises(tf.errors.InvalidArgumentError) as error:
        list(dataset.as_numpy_iterator())
    assert sample_problem(error.value) == "b.png: empty mask"
    assert sample_problem(tf.errors.InvalidArgumentError(None, None, "jpeg::Uncompress failed")) is None
