import * as tf from '@tensorflow/tfjs-core';
import { causalMask } from './mask.js';

/** Depthwise 'valid' convolution, stride 1: x [1, H, W, N] with filter [1, W, N, M] -> [1, H, 1, N M]. */
const dw = (x: tf.Tensor4D, f: tf.Tensor4D): tf.Tensor4D => tf.depthwiseConv2d(x, f, 1, 'valid');

/**
 * The attention core for the wasm backend, where batched matmuls take a slow path (~2 GFLOP/s): every batched
 * product a[n] @ b[n]^T over n = (batch, head) is written as one depthwise convolution (XNNPACK, ~2.6x faster),
 * with a hand-written gradient that uses the same trick (wasm has no depthwise backprop kernels).
 * Scores are laid out [i, n, j] so softmax still reduces the last axis.
 *
 * q, k, v: [B*T, C] (heads side by side) -> the merged heads' outputs [B*T, C]. `keep`: the dropout multiplier
 * on the attention weights in [i, n, j] layout, or undefined. Same numbers as the matmul path (float rounding).
 */
export function attentionCoreDepthwise(
  q: tf.Tensor2D,
  k: tf.Tensor2D,
  v: tf.Tensor2D,
  B: number,
  T: number,
  H: number,
  keep?: tf.Tensor3D,
): tf.Tensor2D {
  const C = q.shape[1];
  const hs = C / H;
  const N = B * H;
  const scale = 1 / Math.sqrt(hs);
  const mask = tf.reshape(causalMask(T), [T, 1, T]); // [i, 1, j]
  const to4 = (t: tf.Tensor) => tf.reshape(t, [B, T, H, hs]); // [b, t, h, d]
  const back = (t: tf.Tensor) =>
    tf.reshape(tf.transpose(tf.reshape(t, [T, B, H, hs]), [1, 0, 2, 3]), [B * T, C]) as tf.Tensor2D; // [t, n, d] -> [B*T, C]
  const core = tf.customGrad(((qq: tf.Tensor, kk: tf.Tensor, vv: tf.Tensor, save: tf.GradSaveFunc) => {
    const [q4, k4, v4] = [to4(qq), to4(kk), to4(vv)];
    const qX = tf.reshape(tf.transpose(q4, [1, 3, 0, 2]), [1, T, hs, N]) as tf.Tensor4D; // [i, d, n]
    const kF = tf.reshape(tf.transpose(k4, [3, 0, 2, 1]), [1, hs, N, T]) as tf.Tensor4D; // [d, n, j]
    const p = tf.softmax(tf.add(tf.mul(tf.reshape(dw(qX, kF), [T, N, T]), scale), mask)); // [i, n, j]
    const pd = keep ? tf.mul(p, keep) : p;
    const pX = tf.reshape(tf.transpose(pd, [0, 2, 1]), [1, T, T, N]) as tf.Tensor4D; // [i, j, n]
    const vF = tf.reshape(tf.transpose(v4, [1, 0, 2, 3]), [1, T, N, hs]) as tf.Tensor4D; // [j, n, d]
    save(keep ? [qq, kk, vv, p, keep] : [qq, kk, vv, p]);
    return {
      value: back(dw(pX, vF)), // [B*T, C]
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sq, sk, sv, sp, skeep] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor | undefined];
        const [gq4, gk4, gv4, dy4] = [to4(sq), to4(sk), to4(sv), to4(dy)];
        const spd = skeep ? tf.mul(sp, skeep) : sp;
        const dyX = tf.reshape(tf.transpose(dy4, [1, 3, 0, 2]), [1, T, hs, N]) as tf.Tensor4D; // [i, d, n]
        const vF2 = tf.reshape(tf.transpose(gv4, [3, 0, 2, 1]), [1, hs, N, T]) as tf.Tensor4D; // [d, n, j]
        const dpd = tf.reshape(dw(dyX, vF2), [T, N, T]); // dy @ v^T, [i, n, j]
        const pdX = tf.reshape(tf.transpose(spd, [2, 0, 1]), [1, T, T, N]) as tf.Tensor4D; // [j, i, n]
        const dyF = tf.reshape(tf.transpose(dy4, [1, 0, 2, 3]), [1, T, N, hs]) as tf.Tensor4D; // [i, n, d]
        const dv = back(dw(pdX, dyF)); // pd^T @ dy
        const dp = skeep ? tf.mul(dpd, skeep) : dpd;
        const ds = tf.mul(tf.mul(sp, tf.sub(dp, tf.sum(tf.mul(dp, sp), -1, true))), scale); // softmax backward [i, n, j]
        const dsX = tf.reshape(tf.transpose(ds, [0, 2, 1]), [1, T, T, N]) as tf.Tensor4D; // [i, j, n]
        const kF2 = tf.reshape(tf.transpose(gk4, [1, 0, 2, 3]), [1, T, N, hs]) as tf.Tensor4D; // [j, n, d]
        const dq = back(dw(dsX, kF2)); // ds @ k
        const dsX2 = tf.reshape(tf.transpose(ds, [2, 0, 1]), [1, T, T, N]) as tf.Tensor4D; // [j, i, n]
        const qF = tf.reshape(tf.transpose(gq4, [1, 0, 2, 3]), [1, T, N, hs]) as tf.Tensor4D; // [i, n, d]
        const dk = back(dw(dsX2, qF)); // ds^T @ q
        return [dq, dk, dv];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return core(q, k, v) as tf.Tensor2D;
}
