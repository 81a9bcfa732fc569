import * as tf from '@tensorflow/tfjs-core';
import type { ParamStore } from '@tarm/core';
import { createLinear, linear, type LinearParams } from './linear.js';
import { dropout, dropoutKeep } from './dropout.js';
import type { DropoutSource } from './types.js';
import { causalMask } from './mask.js';
import { attentionCoreDepthwise } from './attention-core.js';

export { causalMask };

export interface AttentionParams {
  /** The per-head q, k and v projections (no bias) stored side by side: columns [q_h0..q_hH | k.. | v..]. */
  readonly qkv: LinearParams; // weight [C, 3C]
  /** Output projection with bias. */
  readonly proj: LinearParams; // weight [C, C], bias [C]
  readonly nHeads: number;
}

export function createAttention(store: ParamStore, name: string, dModel: number, nHeads: number): AttentionParams {
  return {
    qkv: createLinear(store, `${name}.qkv`, dModel, 3 * dModel, false),
    proj: createLinear(store, `${name}.proj`, dModel, dModel, true),
    nHeads,
  };
}

/**
 * Causal multi-head self-attention. x: [B, T, C] -> [B, T, C].
 * Position t attends to positions <= t only: the property that keeps every refinement autoregressive.
 */
export function causalSelfAttention(p: AttentionParams, x: tf.Tensor3D, drop?: DropoutSource): tf.Tensor3D {
  const [B, T, C] = x.shape;
  const H = p.nHeads;
  const hs = C / H;
  const qkv = linear(p.qkv, tf.reshape(x, [B * T, C])); // [B*T, 3C]
  const [qc, kc, vc] = tf.split(qkv, 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D]; // each [B*T, C]
  const rate = drop?.rate ?? 0;
  const seed = drop?.rng.seed();
  if (tf.getBackend() === 'wasm') {
    // wasm: batched matmuls as depthwise convolutions (attention-core.ts); the same dropout mask, moved to [i, n, j]
    const keep = rate > 0 && seed !== undefined ? tf.tidy(() => tf.transpose(dropoutKeep([B * H, T, T], rate, seed), [1, 0, 2]) as tf.Tensor3D) : undefined;
    return tf.reshape(linear(p.proj, attentionCoreDepthwise(qc, kc, vc, B, T, H, keep)), [B, T, C]) as tf.Tensor3D; // [B, T, C]
  }
  // Split columns, then one 4-D transpose per tensor: wasm's 5-D transpose and unstack are ~20x slower.
  const toHeads = (t: tf.Tensor) => tf.reshape(tf.transpose(tf.reshape(t, [B, T, H, hs]), [0, 2, 1, 3]), [B * H, T, hs]) as tf.Tensor3D;
  const [q, k, v] = [qc, kc, vc].map(toHeads) as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D]; // each [B*H, T, hs]
  const kT = tf.transpose(k, [0, 2, 1]); // [B*H, hs, T]
  const scores = tf.add(tf.mul(tf.matMul(q, kT), 1 / Math.sqrt(hs)), causalMask(T)); // [B*H, T, T]
  const att = dropout(tf.softmax(scores, -1), rate, seed); // [B*H, T, T]
  const y = tf.matMul(att, v); // [B*H, T, hs]
  const merged = tf.reshape(tf.transpose(tf.reshape(y, [B, H, T, hs]), [0, 2, 1, 3]), [B, T, C]); // [B, T, C]
  return linear(p.proj, merged) as tf.Tensor3D; // [B, T, C]
}
