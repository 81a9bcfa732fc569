import * as tf from '@tensorflow/tfjs-core';
import { FUSED_KERNELS, hasKernel } from '@tarm/core';

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/**
 * Exact GELU, as torch.nn.GELU(): x Phi(x) with Phi(x) = 0.5 (1 + erf(x / sqrt 2)); gradient dy (Phi(x) + x phi(x)),
 * phi(x) = exp(-x^2 / 2) / sqrt(2 pi). Uses the backend's fused kernels ({@link FUSED_KERNELS}: the wasm adapter
 * registers them) when it has them, else tfjs ops with a hand-written gradient (7 backward kernels instead of ~10).
 */
export function gelu(x: tf.Tensor): tf.Tensor {
  return hasKernel(FUSED_KERNELS.gelu) && hasKernel(FUSED_KERNELS.geluGrad) ? geluFused(x) : geluOps(x);
}

const geluOps = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  const cdf = tf.mul(tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1), 0.5); // Phi(x)
  save([x, cdf]);
  return {
    value: tf.mul(x, cdf),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sx, scdf] = saved as [tf.Tensor, tf.Tensor];
      const xPdf = tf.mul(sx, tf.mul(tf.exp(tf.mul(tf.square(sx), -0.5)), INV_SQRT_2PI)); // x phi(x)
      return [tf.mul(dy, tf.add(scdf, xPdf))];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;

const geluFused = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x]);
  return {
    value: tf.engine().runKernel(FUSED_KERNELS.gelu, { x }) as tf.Tensor,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
      tf.engine().runKernel(FUSED_KERNELS.geluGrad, { dy, x: saved[0]! }) as tf.Tensor,
    ],
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;
