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

/**
 * Additive causal mask for n new queries at positions t..t+n-1 over the keys 0..t+n-1: [n, t + n], 0 where the
 * key position is <= the query position, -1e9 elsewhere. `causalMaskAt(n, 0)` equals `causalMask(n)`; n = 1 needs
 * no mask (every key is visible). Not cached: incremental decoding calls it with a new offset every time.
 */
export function causalMaskAt(n: number, t: number): tf.Tensor2D {
  if (t === 0) return causalMask(n);
  const data = new Float32Array(n * (t + n));
  for (let i = 0; i < n; i++) for (let j = t + i + 1; j < t + n; j++) data[i * (t + n) + j] = -1e9;
  return tf.tensor2d(data, [n, t + n]);
}
