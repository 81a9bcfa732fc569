import * as tf from '@tensorflow/tfjs-core';
import type { ParamStore } from '@tarm/core';
import { matMulExplicitT } from './linear.js';

export interface EmbeddingParams {
  readonly token: tf.Variable; // [V, C]
  readonly position: tf.Variable; // [contextLength, C]
}

export function createEmbedding(
  store: ParamStore,
  name: string,
  vocabSize: number,
  contextLength: number,
  dModel: number,
): EmbeddingParams {
  return {
    token: store.normal(`${name}.token`, [vocabSize, dModel]),
    position: store.normal(`${name}.position`, [contextLength, dModel]),
  };
}

/**
 * Learned token + absolute position embedding. ids: [B, T] int32 -> [B, T, C]; the tokens sit at positions
 * offset..offset+T-1 (offset > 0: incremental decoding appends after the positions already decoded).
 * The token lookup is `oneHot(ids) @ W`: the wasm backend has no kernel for gather's gradient (platform.md).
 */
export function embed(p: EmbeddingParams, ids: tf.Tensor2D, offset = 0): tf.Tensor3D {
  const [B, T] = ids.shape;
  const [V, C] = p.token.shape as [number, number];
  const ctx = p.position.shape[0]!;
  if (offset + T > ctx) {
    throw new RangeError(
      offset === 0
        ? `sequence length ${T} exceeds the context length ${ctx}`
        : `positions ${offset}..${offset + T - 1} exceed the context length ${ctx}`,
    );
  }
  const onehot = tf.oneHot(tf.reshape(ids, [B * T]) as tf.Tensor1D, V); // [B*T, V]
  const tok = tf.reshape(matMulExplicitT(tf.cast(onehot, 'float32') as tf.Tensor2D, p.token as tf.Tensor2D), [B, T, C]); // [B, T, C]
  const pos = tf.slice(p.position, [offset, 0], [T, C]); // [T, C]
  return tf.add(tok, pos) as tf.Tensor3D; // [B, T, C]
}
