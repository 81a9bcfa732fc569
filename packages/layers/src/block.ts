import * as tf from '@tensorflow/tfjs-core';
import type { ParamStore } from '@tarm/core';
import { createAttention, causalSelfAttentionRows, type AttentionParams, type KvSlot } from './attention.js';
import { createLayerNorm, layerNorm, type LayerNormParams } from './norm.js';
import { createMlp, mlp, type MlpParams } from './mlp.js';
import { dropout } from './dropout.js';
import type { DropoutSource } from './types.js';

/** The paper's block f: a GPT-2 style pre-LayerNorm decoder block. */
export interface BlockParams {
  readonly ln1: LayerNormParams;
  readonly attn: AttentionParams;
  readonly ln2: LayerNormParams;
  readonly mlp: MlpParams;
}

export function createBlock(store: ParamStore, name: string, dModel: number, nHeads: number): BlockParams {
  if (dModel % nHeads !== 0) throw new RangeError(`dModel ${dModel} is not divisible by nHeads ${nHeads}`);
  return {
    ln1: createLayerNorm(store, `${name}.ln1`, dModel),
    attn: createAttention(store, `${name}.attn`, dModel, nHeads),
    ln2: createLayerNorm(store, `${name}.ln2`, dModel),
    mlp: createMlp(store, `${name}.mlp`, dModel),
  };
}

/**
 * h += Dropout(Proj(CausalSelfAttention(LN1(h)))); h += Dropout(MLP(LN2(h))).  h: [B, T, C] -> [B, T, C].
 * Dropout (attention weights, projection, MLP) is active only when `drop` is given.
 * With `cache` (evaluation only), h holds the n positions that follow the ones in the slot: [B, n, C] -> [B, n, C];
 * attention reads the slot's keys/values and appends the new ones (everything else is per position).
 * Inside, activations are rows [B*T, C]: one reshape in and one out instead of two per linear layer and LayerNorm.
 */
export function block(p: BlockParams, h: tf.Tensor3D, drop?: DropoutSource, cache?: KvSlot): tf.Tensor3D {
  const [B, T, C] = h.shape;
  const rate = drop?.rate ?? 0;
  const x = tf.reshape(h, [B * T, C]) as tf.Tensor2D; // [B*T, C]
  const a = causalSelfAttentionRows(p.attn, layerNorm(p.ln1, x) as tf.Tensor2D, B, drop, cache); // [B*T, C]
  const x1 = tf.add(x, dropout(a, rate, drop?.rng.seed())); // [B*T, C]
  const m = mlp(p.mlp, layerNorm(p.ln2, x1)); // [B*T, C]
  return tf.reshape(tf.add(x1, dropout(m, rate, drop?.rng.seed())), [B, T, C]) as tf.Tensor3D; // [B, T, C]
}

/** Scalar parameters in one block: 12 C^2 + 10 C (no q/k/v bias). */
export function blockParamCount(dModel: number): number {
  return 12 * dModel * dModel + 10 * dModel;
}
