import * as tf from '@tensorflow/tfjs-core';
import { backendCapabilities, FUSED_KERNELS, hasKernel, type ParamStore } from '@tarm/core';

/** Linear layer parameters. The weight is stored [in, out] so the forward pass is a plain `x @ W`. */
export interface LinearParams {
  readonly weight: tf.Variable; // [in, out]
  readonly bias?: tf.Variable; // [out]
}

export function createLinear(
  store: ParamStore,
  name: string,
  inDim: number,
  outDim: number,
  bias: boolean,
): LinearParams {
  return {
    weight: store.normal(`${name}.weight`, [inDim, outDim]),
    bias: bias ? store.zeros(`${name}.bias`, [outDim]) : undefined,
  };
}

/** dx = dy W^T and dW = x^T dy for y = x W; transpose flags where the backend runs them fast, else explicit transposes. */
function matMulGrads(dy: tf.Tensor2D, x: tf.Tensor2D, w: tf.Tensor2D): [tf.Tensor2D, tf.Tensor2D] {
  if (backendCapabilities().matMulTransposeFlags) return [tf.matMul(dy, w, false, true), tf.matMul(x, dy, true, false)];
  return [tf.matMul(dy, tf.transpose(w)), tf.matMul(tf.transpose(x), dy)]; // [M, N] @ [N, K]; [K, M] @ [M, N]
}

/**
 * `x @ W` whose gradient transposes explicitly on a backend without fast `matMulTransposeFlags` (wasm). tfjs's own
 * matMul gradient uses the transposeA/B flags, which on wasm leave XNNPACK's fast path (~10x slower, platform.md);
 * the other backends (libtensorflow, webgpu, cpu) run the flags natively, so there the gradient uses them and
 * saves two transposes.
 * Forward and gradients are the same numbers; only the kernels differ.
 */
export const matMulExplicitT = tf.customGrad(((x: tf.Tensor, w: tf.Tensor, save: tf.GradSaveFunc) => {
  // x: [M, K], w: [K, N] -> [M, N]
  save([x, w]);
  return {
    value: tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
      matMulGrads(dy as tf.Tensor2D, saved[0] as tf.Tensor2D, saved[1] as tf.Tensor2D),
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor2D, w: tf.Tensor2D) => tf.Tensor2D;

/**
 * Column sums of a 2-D tensor, [M, N] -> [N] (bias and LayerNorm parameter gradients). On wasm the reduction over
 * rows runs 7-13x slower than the same sum as `ones[1, M] @ t` through XNNPACK ([2112, 128] and [2112, 512]);
 * a backend with the fused {@link FUSED_KERNELS.sumRows} kernel (node: TensorFlow's BiasAddGrad) uses it;
 * elsewhere it is `tf.sum(t, 0)`, or the matMul where the backend lacks a fast `sumOverRows`.
 */
export function sumRows(t: tf.Tensor2D): tf.Tensor1D {
  const [M, N] = t.shape;
  if (hasKernel(FUSED_KERNELS.sumRows)) return tf.engine().runKernel(FUSED_KERNELS.sumRows, { x: t }) as tf.Tensor1D;
  if (backendCapabilities().sumOverRows) return tf.sum(t, 0);
  return tf.reshape(tf.matMul(tf.ones([1, M]), t), [N]); // [1, M] @ [M, N] -> [N]
}

/**
 * `x @ W + b` with matMulExplicitT's gradients and db = column sums of dy. (tfjs's fused matMul + bias kernel
 * was slower here than matMul then add: x0.78 on wasm, x0.77 on node for [2112, 128] @ [128, 512].)
 */
const matMulBias = tf.customGrad(((x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  // x: [M, K], w: [K, N], b: [N] -> [M, N]
  save([x, w]);
  return {
    value: tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
      ...matMulGrads(dy as tf.Tensor2D, saved[0] as tf.Tensor2D, saved[1] as tf.Tensor2D),
      sumRows(dy as tf.Tensor2D),
    ],
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (
  x: tf.Tensor2D,
  w: tf.Tensor2D,
  b: tf.Tensor1D,
) => tf.Tensor2D;

/** y = x W + b over the last axis; x: [..., in] -> [..., out]. A 2-D x needs no reshape (a kernel each on node). */
export function linear(p: LinearParams, x: tf.Tensor): tf.Tensor {
  const inDim = p.weight.shape[0]!;
  const outDim = p.weight.shape[1]!;
  const x2 = (x.rank === 2 ? x : tf.reshape(x, [-1, inDim])) as tf.Tensor2D; // [M, in]
  const w = p.weight as tf.Tensor2D;
  const y = p.bias ? matMulBias(x2, w, p.bias as tf.Tensor1D) : matMulExplicitT(x2, w); // [M, out]
  return x.rank === 2 ? y : tf.reshape(y, [...x.shape.slice(0, -1), outDim]); // [..., out]
}
