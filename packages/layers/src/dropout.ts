import * as tf from '@tensorflow/tfjs-core';

/**
 * Inverted dropout with an explicit seed (so runs are reproducible). `rate` 0 or `seed` undefined (evaluation)
 * returns x unchanged. The mask is built from a seeded uniform draw, never from x, so the tape only sees a
 * multiplication by a constant.
 */
export function dropout(x: tf.Tensor, rate: number, seed: number | undefined): tf.Tensor {
  if (rate <= 0 || seed === undefined) return x;
  const keep = tf.tidy(() => {
    const u = tf.randomUniform(x.shape, 0, 1, 'float32', seed); // same shape as x
    return tf.div(tf.cast(tf.greaterEqual(u, rate), 'float32'), 1 - rate);
  });
  return tf.mul(x, keep);
}
