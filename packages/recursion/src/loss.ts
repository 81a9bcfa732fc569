import * as tf from '@tensorflow/tfjs-core';

/**
 * Next-token cross-entropy averaged over the masked (answer) targets.
 * logits [B, T, V], targets [B, T] int32, mask [B, T] float32 -> scalar.
 */
export function maskedCrossEntropy(logits: tf.Tensor3D, targets: tf.Tensor2D, mask: tf.Tensor2D): tf.Scalar {
  const V = logits.shape[2];
  const logp = tf.logSoftmax(logits, -1); // [B, T, V]
  const onehot = tf.oneHot(targets, V); // [B, T, V] (built from ids: a constant)
  const nll = tf.neg(tf.sum(tf.mul(logp, onehot), -1)); // [B, T]
  return tf.div(tf.sum(tf.mul(nll, mask)), tf.maximum(tf.sum(mask), 1)) as tf.Scalar;
}
