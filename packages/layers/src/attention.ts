import * as tf from '@tensorflow/tfjs-core';
import { backendCapabilities, type ParamStore } from '@tarm/core';
import { createLinear, linear, type LinearParams } from './linear.js';
import { dropout, dropoutKeep } from './dropout.js';
import type { DropoutSource } from './types.js';
import { causalMask, causalMaskAt } from './mask.js';
import { attentionCoreDepthwise } from './attention-core.js';

export { causalMask, causalMaskAt };

/**
 * The keys and values one attention call (one block pass) computed at every position decoded so far, for
 * incremental decoding. Mutable: a cached call reads them, appends the new positions' and stores the result
 * (kept: it outlives tf.tidy; the replaced tensors are disposed). Empty until the first call.
 */
export interface KvSlot {
  /** Keys per head, [B*H, t, hs]. */
  k?: tf.Tensor3D;
  /** Values per head, [B*H, t, hs]. */
  v?: tf.Tensor3D;
}

/** Positions held by a slot (0 when empty). */
export function kvLength(slot: KvSlot): number {
  return slot.k?.shape[1] ?? 0;
}

/** Disposes a slot's tensors and empties it. */
export function disposeKvSlot(slot: KvSlot): void {
  slot.k?.dispose();
  slot.v?.dispose();
  slot.k = undefined;
  slot.v = undefined;
}

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
export function causalSelfAttention(
  p: AttentionParams,
  x: tf.Tensor3D,
  drop?: DropoutSource,
  cache?: KvSlot,
): tf.Tensor3D {
  const [B, T, C] = x.shape;
  return tf.reshape(causalSelfAttentionRows(p, tf.reshape(x, [B * T, C]) as tf.Tensor2D, B, drop, cache), [
    B,
    T,
    C,
  ]) as tf.Tensor3D;
}

/**
 * {@link causalSelfAttention} on the rows of x: [B*T, C] (row b*T + t is position t of sequence b) -> [B*T, C].
 * The block keeps its activations in this layout, so the linear layers and LayerNorms need no reshapes.
 */
export function causalSelfAttentionRows(
  p: AttentionParams,
  x: tf.Tensor2D,
  B: number,
  drop?: DropoutSource,
  cache?: KvSlot,
): tf.Tensor2D {
  if (cache) {
    if ((drop?.rate ?? 0) > 0)
      throw new Error('causalSelfAttention: a KV cache is for evaluation; dropout must be off');
    // an empty slot (the prefill) takes the full path below, which also fills the slot
    if (kvLength(cache) > 0) return cachedSelfAttention(p, x, B, cache);
  }
  const C = x.shape[1];
  const T = x.shape[0] / B;
  const H = p.nHeads;
  const hs = C / H;
  const qkv = linear(p.qkv, x); // [B*T, 3C]
  const rate = drop?.rate ?? 0;
  const seed = drop?.rng.seed();
  if (!backendCapabilities().batchedMatMul) {
    // Split columns, then one 4-D transpose per tensor: wasm's 5-D transpose and unstack are ~20x slower.
    const [qc, kc, vc] = tf.split(qkv, 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D]; // each [B*T, C]
    // Batched matmuls as depthwise convolutions (attention-core.ts); the same dropout mask, written in the
    // core's [i, n, j] layout
    const keep =
      rate > 0 && seed !== undefined ? (dropoutKeep([B * H, T, T], rate, seed, [1, 0, 2]) as tf.Tensor3D) : undefined;
    if (cache) storeKv(cache, rowsToHeads(kc, B, H), rowsToHeads(vc, B, H)); // [B*H, T, hs] each
    return linear(p.proj, attentionCoreDepthwise(qc, kc, vc, B, T, H, keep)) as tf.Tensor2D; // [B*T, C]
  }
  // Elsewhere: q, k and v to heads with one 5-D transpose (4 kernels each way instead of 10).
  const heads = tf.reshape(tf.transpose(tf.reshape(qkv, [B, T, 3, H, hs]), [2, 0, 3, 1, 4]), [3 * B * H, T, hs]); // [3*B*H, T, hs]
  const [q, k, v] = tf.split(heads, 3, 0) as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D]; // each [B*H, T, hs]
  if (cache) storeKv(cache, k, v);
  const scores = tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(hs)), causalMask(T)); // [B*H, T, T]
  const att = dropout(tf.softmax(scores, -1), rate, seed); // [B*H, T, T]
  const y = tf.matMul(att, v) as tf.Tensor3D; // [B*H, T, hs]
  return linear(p.proj, headsToRows(y, B, H)) as tf.Tensor2D; // [B*T, C]
}

/**
 * Rows [B*T, C] (position t of sequence b in row b*T + t) -> per-head [B*H, T, hs]. With T = 1 the transpose
 * [B, 1, H, hs] -> [B, H, 1, hs] moves no data, so a reshape does it (fewer kernels per decoded token).
 */
function rowsToHeads(t: tf.Tensor2D, B: number, H: number): tf.Tensor3D {
  const [BT, C] = t.shape;
  const T = BT / B;
  const hs = C / H;
  if (T === 1) return tf.reshape(t, [B * H, 1, hs]) as tf.Tensor3D;
  return tf.reshape(tf.transpose(tf.reshape(t, [B, T, H, hs]), [0, 2, 1, 3]), [B * H, T, hs]) as tf.Tensor3D;
}

/** The inverse of {@link rowsToHeads}: per-head [B*H, T, hs] -> rows [B*T, H*hs]. */
function headsToRows(y: tf.Tensor3D, B: number, H: number): tf.Tensor2D {
  const [, T, hs] = y.shape;
  if (T === 1) return tf.reshape(y, [B, H * hs]) as tf.Tensor2D;
  return tf.reshape(tf.transpose(tf.reshape(y, [B, H, T, hs]), [0, 2, 1, 3]), [B * T, H * hs]) as tf.Tensor2D;
}

/** Replaces a slot's keys and values (kept: they outlive tf.tidy); [B*H, t, hs] each. */
function storeKv(slot: KvSlot, k: tf.Tensor3D, v: tf.Tensor3D): void {
  disposeKvSlot(slot);
  slot.k = tf.keep(k);
  slot.v = tf.keep(v);
}

/**
 * Causal self-attention of n new positions that follow the t > 0 positions held in `slot`: x [B*n, C] (rows as in
 * {@link causalSelfAttentionRows}) -> [B*n, C]. The new positions attend to the cached keys/values and to each other (causally); their keys/values
 * are then appended to the slot. Evaluation only (no dropout, no gradient wanted), so plain batched matmuls on
 * every backend: with n = 1 they are tiny. Same numbers as the full pass at those positions (up to float rounding).
 * (An empty slot, the prefill, takes the full path of causalSelfAttention: the same kernels as without a cache.)
 */
function cachedSelfAttention(p: AttentionParams, x: tf.Tensor2D, B: number, slot: KvSlot): tf.Tensor2D {
  const C = x.shape[1];
  const n = x.shape[0] / B;
  const H = p.nHeads;
  const hs = C / H;
  const t = kvLength(slot);
  if (slot.k!.shape[0] !== B * H)
    throw new RangeError(`KV slot holds ${slot.k!.shape[0]! / H} rows, the input has ${B}`);
  const qkv = linear(p.qkv, x); // [B*n, 3C]
  const [q, kNew, vNew] = (tf.split(qkv, 3, 1) as tf.Tensor2D[]).map((u) => rowsToHeads(u, B, H)) as [
    tf.Tensor3D,
    tf.Tensor3D,
    tf.Tensor3D,
  ]; // each [B*H, n, hs]
  const k = tf.concat([slot.k!, kNew], 1); // [B*H, t+n, hs]
  const v = tf.concat([slot.v!, vNew], 1); // [B*H, t+n, hs]
  const raw = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(hs)); // [B*H, n, t+n]
  const scores = n === 1 ? raw : tf.add(raw, causalMaskAt(n, t)); // [B*H, n, t+n] (one new query sees every key)
  const y = tf.matMul(tf.softmax(scores, -1), v) as tf.Tensor3D; // [B*H, n, hs]
  storeKv(slot, k, v);
  return linear(p.proj, headsToRows(y, B, H)) as tf.Tensor2D; // [B*n, C]
}
