import * as tf from '@tensorflow/tfjs-core';
import type { ParamStore } from '@tarm/core';

/** Linear layer parameters. The weight is stored [in, out] so the forward pass is a plain `x @ W`. */
export interface LinearParams {
  readonly weight: tf.Variable; // [in, out]
  readonly bias?: tf.Variable; // [out]
}

export function createLinear(store: ParamStore, name: string, inDim: number, outDim: number, bias: boolean): LinearParams {
  return {
    weight: store.normal(`${name}.weight`, [inDim, outDim]),
    bias: bias ? store.zeros(`${name}.bias`, [outDim]) : undefined,
  };
}

/**
 * `x @ W` whose gradient transposes explicitly on the wasm backend. tfjs's own matMul gradient uses the
 * transposeA/B flags, which on wasm leave XNNPACK's fast path (~10x slower, platform.md); the other backends
 * (libtensorflow, webgpu, cpu) run the flags natively, so there the gradient uses them and saves two transposes.
 * Forward and gradients are the same numbers; only the kernels differ.
 */
export const matMulExplicitT = tf.customGrad(((x: tf.Tensor, w: tf.Tensor, save: tf.GradSaveFunc) => {
  // x: [M, K], w: [K, N] -> [M, N]
  save([x, w]);
  return {
    value: tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sx, sw] = saved as [tf.Tensor2D, tf.Tensor2D];
      if (tf.getBackend() !== 'wasm') {
        return [tf.matMul(dy as tf.Tensor2D, sw, false, true), tf.matMul(sx, dy as tf.Tensor2D, true, false)];
      }
      const dx = tf.matMul(dy as tf.Tensor2D, tf.transpose(sw)); // [M, N] @ [N, K] -> [M, K]
      const dw = tf.matMul(tf.transpose(sx), dy as tf.Tensor2D); // [K, M] @ [M, N] -> [K, N]
      return [dx, dw];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor2D, w: tf.Tensor2D) => tf.Tensor2D;

/** y = x W + b over the last axis; x: [..., in] -> [..., out]. */
export function linear(p: LinearParams, x: tf.Tensor): tf.Tensor {
  const inDim = p.weight.shape[0]!;
  const outDim = p.weight.shape[1]!;
  const lead = x.shape.slice(0, -1);
  const x2 = tf.reshape(x, [-1, inDim]); // [M, in]
  let y = matMulExplicitT(x2 as tf.Tensor2D, p.weight as tf.Tensor2D); // [M, out]
  if (p.bias) y = tf.add(y, p.bias);
  return tf.reshape(y, [...lead, outDim]); // [..., out]
}
