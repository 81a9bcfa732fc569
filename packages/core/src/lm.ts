import type * as tf from '@tensorflow/tfjs-core';
import type { ParamStore } from './params.js';

/**
 * The one thing decoders and evaluation need from a model: next-token logits for every position of a batch
 * of token ids. Implementations must be causal (logits at t depend only on ids <= t).
 */
export interface CausalLM {
  /** ids: [B, T] int32 -> logits [B, T, V]. Runs in evaluation mode (no dropout, no exploration). */
  logits(ids: tf.Tensor2D): tf.Tensor3D;
  /**
   * Optional incremental decoding (a KV cache): a session for `batchSize` rows that is fed the sequence in pieces.
   * Decoders use it when present and fall back to `logits` on the whole prefix otherwise.
   */
  startDecoding?(batchSize: number): DecodingSession;
}

/**
 * One incremental decoding of a batch: `append` the prompts (prefill), then the chosen tokens one step at a time.
 * The logits of the appended positions must equal those `CausalLM.logits` gives on the whole sequence so far at
 * these positions (up to float rounding). The caller owns the returned logits; `dispose` frees the cache.
 */
export interface DecodingSession {
  /** ids of the next n positions of every row: [B, n] int32 -> their logits [B, n, V]. */
  append(ids: tf.Tensor2D): tf.Tensor3D;
  /** Positions appended so far. */
  readonly length: number;
  dispose(): void;
}

/** A next-token training batch as tensors. */
export interface TensorBatch {
  readonly inputs: tf.Tensor2D; // [B, T] int32
  readonly targets: tf.Tensor2D; // [B, T] int32
  readonly mask: tf.Tensor2D; // [B, T] float32, 1 on answer targets
}

/** Which deep-supervision segment a loss call is, and the state carried from the previous one. */
export interface SegmentInput {
  readonly index: number;
  readonly carry?: readonly tf.Tensor[];
}

/** Scalars a training step reports besides the loss (ponder cost, mean block passes, ...). */
export type StepStats = Record<string, number>;

/**
 * What the trainer needs from a model. `loss` is called inside tf.variableGrads: it returns the scalar to
 * minimise and may run parts of its computation off the tape. `seed` drives every random choice of the step
 * (dropout masks, halting exploration), so a step is a pure function of (weights, batch, seed).
 */
export interface TrainableLM extends CausalLM {
  readonly params: ParamStore;
  /**
   * The loss of one (segment of a) forward pass. Models with deep supervision (`segments` > 1) are called once
   * per segment with the `carry` the previous segment returned; the trainer takes an optimizer step after each
   * and disposes each carry once it has been passed on. Carry tensors must survive the gradient tape (tf.keep).
   */
  loss(
    batch: TensorBatch,
    seed: number,
    segment?: SegmentInput,
  ): { loss: tf.Scalar; stats?: Record<string, tf.Scalar>; carry?: readonly tf.Tensor[] };
  /** Deep-supervision segments per batch (default 1: one loss, one optimizer step). */
  readonly segments?: number;
  /** Block passes one forward pass applies at most (the compute budget). */
  readonly blockPasses: number;
  /**
   * Optimizer settings this model's recipe sets (trm-faithful: an EMA of the weights, 0.999). The trainer applies
   * them where the caller's optimizer config leaves a field unset.
   */
  readonly optimizerDefaults?: Readonly<{ ema?: number }>;
}
