import * as tf from '@tensorflow/tfjs-core';
import { FUSED_KERNELS, hasKernel, type ParamStore } from '@tarm/core';
import { sumRows } from './linear.js';

export interface LayerNormParams {
  readonly weight: tf.Variable; // [C]
  readonly bias: tf.Variable; // [C]
}

/** PyTorch's default LayerNorm epsilon. */
export const LAYER_NORM_EPS = 1e-5;

export function createLayerNorm(store: ParamStore, name: string, dim: number): LayerNormParams {
  return { weight: store.ones(`${name}.weight`, [dim]), bias: store.zeros(`${name}.bias`, [dim]) };
}

/**
 * LayerNorm over the last axis with biased variance, as torch.nn.LayerNorm, with a hand-written gradient
 * (as torch's fused kernel): 11 backward kernels instead of the ~25 that autodiff of the forward's 8 would run.
 * x: [..., C] -> [..., C].
 *
 *     xhat = (x - mean) * rstd,  rstd = 1 / sqrt(var + eps),  y = xhat * w + b
 *     dx   = rstd * (g - mean(g) - xhat * mean(g * xhat)),  g = dy * w
 *     dw   = sum over rows of dy * xhat,  db = sum over rows of dy
 */
export function layerNorm(p: LayerNormParams, x: tf.Tensor): tf.Tensor {
  if (hasKernel(FUSED_KERNELS.layerNorm) && hasKernel(FUSED_KERNELS.layerNormGrad)) {
    if (x.rank === 2) return layerNormFused(x as tf.Tensor2D, p.weight, p.bias); // [M, C]
    const y = layerNormFused(tf.reshape(x, [-1, x.shape[x.rank - 1]!]) as tf.Tensor2D, p.weight, p.bias); // [M, C]
    return tf.reshape(y, x.shape);
  }
  return layerNormOp(x, p.weight, p.bias);
}

/**
 * The same LayerNorm with the backend's fused normalisation kernels ({@link FUSED_KERNELS}: the node adapter
 * registers them as TensorFlow's FusedBatchNormV3 / FusedBatchNormGradV3, the wasm adapter in JavaScript over its
 * heap). What the forward kernel saves besides xhat is the backend's business: it goes back to the gradient kernel
 * as saved0, saved1, ... x: [M, C] -> [M, C].
 */
const layerNormFused = tf.customGrad(((x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  const [xhat, ...saved] = tf
    .engine()
    .runKernel(FUSED_KERNELS.layerNorm, { x }, { eps: LAYER_NORM_EPS }) as tf.Tensor[]; // [M, C], ...
  save([x, xhat!, w, ...saved]);
  return {
    value: tf.add(tf.mul(xhat!, w), b),
    gradFunc: (dy: tf.Tensor, s: tf.Tensor[]) => {
      const [sx, sxhat, sw, ...rest] = s as [tf.Tensor, tf.Tensor, tf.Tensor, ...tf.Tensor[]];
      const inputs: tf.NamedTensorMap = { g: tf.mul(dy, sw), x: sx }; // g: [M, C]
      rest.forEach((t, i) => (inputs[`saved${i}`] = t));
      const dx = tf.engine().runKernel(FUSED_KERNELS.layerNormGrad, inputs, { eps: LAYER_NORM_EPS }) as tf.Tensor; // [M, C]
      return [dx, sumRows(tf.mul(dy, sxhat) as tf.Tensor2D), sumRows(dy as tf.Tensor2D)];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor2D, w: tf.Tensor, b: tf.Tensor) => tf.Tensor2D;

const layerNormOp = tf.customGrad(((x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  const C = x.shape[x.shape.length - 1]!;
  const mean = tf.mean(x, -1, true); // [..., 1]
  const xc = tf.sub(x, mean); // [..., C]
  const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(xc), -1, true), LAYER_NORM_EPS)); // [..., 1]
  const xhat = tf.mul(xc, rstd); // [..., C]
  save([xhat, rstd, w]);
  return {
    value: tf.add(tf.mul(xhat, w), b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sxhat, srstd, sw] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
      const g = tf.mul(dy, sw); // [..., C]
      const inner = tf.sub(tf.sub(g, tf.mean(g, -1, true)), tf.mul(sxhat, tf.mean(tf.mul(g, sxhat), -1, true))); // [..., C]
      const dx = tf.mul(inner, srstd); // [..., C]
      const dw = sumRows(tf.reshape(tf.mul(dy, sxhat), [-1, C]) as tf.Tensor2D); // [C]
      const db = sumRows(tf.reshape(dy, [-1, C]) as tf.Tensor2D); // [C]
      return [dx, dw, db];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor;
