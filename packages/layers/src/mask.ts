import * as tf from '@tensorflow/tfjs-core';

const maskCache = new Map<number, tf.Tensor2D>();

/** Additive causal mask [T, T]: 0 on and below the diagonal, -1e9 above. Kept (not tracked by tidy). */
export function causalMask(T: number): tf.Tensor2D {
  let m = maskCache.get(T);
  if (!m || m.isDisposed) {
    const data = new Float32Array(T * T);
    for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) data[i * T + j] = -1e9;
    m = tf.keep(tf.tensor2d(data, [T, T]));
    maskCache.set(T, m);
  }
  return m;
}
