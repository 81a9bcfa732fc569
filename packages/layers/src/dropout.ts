import * as tf from '@tensorflow/tfjs-core';

/**
 * Inverted dropout with an explicit seed (so runs are reproducible). `rate` 0 or `seed` undefined (evaluation)
 * returns x unchanged. The mask is built from a seeded uniform draw, never from x, so the tape only sees a
 * multiplication by a constant.
 */
export function dropout(x: tf.Tensor, rate: number, seed: number | undefined): tf.Tensor {
  if (rate <= 0 || seed === undefined) return x;
  return tf.mul(x, dropoutKeep(x.shape, rate, seed));
}

/** The inverted-dropout multiplier (0 or 1 / (1 - rate)) for a shape, from a seeded uniform draw. */
export function dropoutKeep(shape: number[], rate: number, seed: number): tf.Tensor {
  return tf.tidy(() => {
    const u = tf.randomUniform(shape, 0, 1, 'float32', seed); // the given shape
    return tf.div(tf.cast(tf.greaterEqual(u, rate), 'float32'), 1 - rate);
  });
}
