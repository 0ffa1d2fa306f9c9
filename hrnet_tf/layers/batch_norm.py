"""BatchNormalization that runs TensorFlow's fused kernel where it can, with Keras' numerics.

Keras 3 computes BatchNorm from separate ops (moments, then a multiply-add), forward and backward.
TensorFlow's ``FusedBatchNormV3`` does the same arithmetic in one kernel per direction: about 0.6x
the time of one BN forward + backward on CPU (``benchmarks/README.md``, training section), and HRNet
has a BN after every convolution. Everything else - the variables, their names, the moving-average
update, ``get_config`` - is Keras' ``BatchNormalization``, so weights, conversion and saved files
do not change, and the JAX and PyTorch backends take Keras' own path.

The fused path is taken on the TensorFlow backend for the plain case every HRNet BN is: a 4-D
channels-last input, no mask, no renorm, no cross-replica statistics (synchronized BN keeps Keras'
path, which all-reduces the moments). ``tests/layers/test_batch_norm.py`` checks that both paths
give the same outputs, gradients and moving statistics.
"""

import keras


@keras.saving.register_keras_serializable(package="hrnet_tf")
class BatchNorm(keras.layers.BatchNormalization):
    """``keras.layers.BatchNormalization`` with a fused TensorFlow kernel (same results)."""

    # False runs Keras' own path everywhere (benchmarks/train_step.py compares the two).
    fused = True

    def _fused(self, inputs, mask):
        return (
            self.fused
            and keras.backend.backend() == "tensorflow"
            and mask is None
            and not self.renorm
            and not self.synchronized
            and len(inputs.shape) == 4
            and self.axis in (-1, 3)
            and keras.backend.standardize_dtype(inputs.dtype) in ("float32", "float16")
        )

    def call(self, inputs, training=None, mask=None):
        if not self._fused(inputs, mask):
            return super().call(inputs, training=training, mask=mask)
        import tensorflow as tf

        channels = inputs.shape[-1]
        gamma = self.gamma if self.scale else tf.ones([channels])
        beta = self.beta if self.center else tf.zeros([channels])
        # The kernel takes float16/bfloat16 images with float32 statistics and computes in float32,
        # as Keras' path does after its upcast.
        scale, offset = tf.cast(gamma, tf.float32), tf.cast(beta, tf.float32)
        if training and self.trainable:
            outputs, mean, variance = tf.compat.v1.nn.fused_batch_norm(
                inputs, scale, offset, epsilon=self.epsilon, is_training=True
            )[:3]
            # The kernel returns the Bessel-corrected variance (n / (n - 1)); Keras' moving variance
            # averages the biased one. Undo the correction so the statistics stay Keras'.
            count = tf.cast(tf.reduce_prod(tf.shape(inputs)[:-1]), tf.float32)
            variance = variance * (count - 1.0) / tf.maximum(count, 1.0)
            momentum = self.momentum
            self.moving_mean.assign(self.moving_mean * momentum + mean * (1.0 - momentum))
            self.moving_variance.assign(
                self.moving_variance * momentum + variance * (1.0 - momentum)
            )
        else:
            outputs = tf.compat.v1.nn.fused_batch_norm(
                inputs,
                scale,
                offset,
                mean=tf.cast(self.moving_mean, tf.float32),
                variance=tf.cast(self.moving_variance, tf.float32),
                epsilon=self.epsilon,
                is_training=False,
            )[0]
        return tf.cast(outputs, self.compute_dtype)
