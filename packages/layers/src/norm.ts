import * as tf from '@tensorflow/tfjs-core';
import type { ParamStore } from '@tarm/core';

export interface LayerNormParams {
  readonly weight: tf.Variable; // [C]
  readonly bias: tf.Variable; // [C]
}

/** PyTorch's default LayerNorm epsilon. */
export const LAYER_NORM_EPS = 1e-5;

export function createLayerNorm(store: ParamStore, name: string, dim: number): LayerNormParams {
  return { weight: store.ones(`${name}.weight`, [dim]), bias: store.zeros(`${name}.bias`, [dim]) };
}

/** LayerNorm over the last axis with biased variance, as torch.nn.LayerNorm. x: [..., C] -> [..., C]. */
export function layerNorm(p: LayerNormParams, x: tf.Tensor): tf.Tensor {
  const mean = tf.mean(x, -1, true); // [..., 1]
  const xc = tf.sub(x, mean); // [..., C]
  const variance = tf.mean(tf.square(xc), -1, true); // [..., 1]
  const xhat = tf.mul(xc, tf.rsqrt(tf.add(variance, LAYER_NORM_EPS))); // [..., C]
  return tf.add(tf.mul(xhat, p.weight), p.bias);
}
