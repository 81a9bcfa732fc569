import * as tf from '@tensorflow/tfjs-core';
import { offTape } from './tape.js';

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

/**
 * TRM's halting loss, per position: binary cross-entropy of the halting logit q against "the model's argmax
 * prediction at this position is correct", averaged over the masked (answer) targets. The correctness labels
 * are constants (built off the tape). q [B, T], logits [B, T, V], targets [B, T], mask [B, T].
 */
export function haltingLoss(
  q: tf.Tensor2D,
  logits: tf.Tensor3D,
  targets: tf.Tensor2D,
  mask: tf.Tensor2D,
): { bce: tf.Scalar; accuracy: tf.Scalar } {
  const correct = offTape(() => tf.cast(tf.equal(tf.argMax(logits, -1), targets), 'float32')) as tf.Tensor2D; // [B, T]
  const bce = tf.sub(tf.softplus(q), tf.mul(q, correct)); // [B, T]  = -[y log s(q) + (1-y) log(1-s(q))]
  const n = tf.maximum(tf.sum(mask), 1);
  const agree = offTape(() => tf.cast(tf.equal(tf.cast(tf.greater(q, 0), 'float32'), correct), 'float32'));
  return {
    bce: tf.div(tf.sum(tf.mul(bce, mask)), n) as tf.Scalar,
    accuracy: tf.div(tf.sum(tf.mul(agree, mask)), n) as tf.Scalar,
  };
}
