import type * as tf from '@tensorflow/tfjs-core';

/**
 * The one thing decoders and evaluation need from a model: next-token logits for every position of a batch
 * of token ids. Implementations must be causal (logits at t depend only on ids <= t).
 */
export interface CausalLM {
  /** ids: [B, T] int32 -> logits [B, T, V]. Runs in evaluation mode (no dropout, no exploration). */
  logits(ids: tf.Tensor2D): tf.Tensor3D;
}
