import type * as tf from '@tensorflow/tfjs-core';
import type { DecodingSession, TrainableLM } from '@tarm/core';
import type { BlockParams, EmbeddingParams, HeadParams } from '@tarm/layers';
import type { ModelConfig } from './config.js';
import type { Rung } from './rungs.js';
import type { Schedule } from './budget.js';
import type { KvCache } from './kv-cache.js';

/*
 * The types the ladder's files share: a model (LadderModel, ModelParams) and its forward pass's options and result.
 * In a file of their own, so that forward.ts, halting.ts, kv-cache.ts and model.ts import them from below rather
 * than from one another (no import circle).
 */

/** Every parameter of one ladder model; which fields exist depends on the rung. */
export interface ModelParams {
  readonly embed: EmbeddingParams;
  /** Untied rungs: one block per block pass (PassInfo.index; dense: N); tied rungs: one block, applied repeatedly. */
  readonly blocks: readonly BlockParams[];
  readonly head: HeadParams;
  /** s_k, one row per step. [steps, C] */
  readonly stepEmbedding?: tf.Variable;
  /** ACT halting unit p = sigmoid(h w + b) (halting 'act'). w [C, 1], b [1]. */
  readonly act?: { readonly weight: tf.Variable; readonly bias: tf.Variable };
  /** Learned initial answer / latent states y0, z0 (dual and nested streams). [C] each. */
  readonly init?: { readonly y: tf.Variable; readonly z: tf.Variable };
  /** Binary halting head q = y[:, 0] w + b (halting 'binary', ar-trm; w = 0, b = -5 at init). */
  readonly halt?: { readonly weight: tf.Variable; readonly bias: tf.Variable };
}

/** A model of the ladder: the rung's switches, its schedule, its parameters, and the TrainableLM contract. */
export interface LadderModel extends TrainableLM {
  readonly config: ModelConfig;
  readonly rung: Rung;
  readonly schedule: Schedule;
  readonly p: ModelParams;
  /** Full forward pass with options (training, seed, pass hooks, test-time steps). */
  forward(ids: tf.Tensor2D, opts?: ForwardOptions): ForwardResult;
  /** An empty KV cache for `batchSize` rows, for `forward(ids, { cache })`; `steps` as forward's option. */
  createCache(batchSize: number, opts?: { steps?: number }): KvCache;
  /** Incremental decoding through a KV cache (the CausalLM contract); `steps` as forward's option. */
  startDecoding(batchSize: number, opts?: { steps?: number }): DecodingSession;
  dispose(): void;
}

/** Which application of f a pass is, for hooks (gradient probes, refinement traces). */
export interface PassInfo {
  /** 0-based position of this pass in the forward pass (stable: step x passesPerStep + offset). */
  readonly index: number;
  /** Outer step k (block index for dense, application for single-stream tied rungs, ACT / halting step otherwise). */
  readonly step: number;
  /** Cycle within the step (nested rungs), else 0. */
  readonly cycle: number;
  /** Which state the pass updates: the single stream h, the latent z or the answer y. */
  readonly stream: 'h' | 'z' | 'y';
  /** False for passes run off the gradient tape (no-gradient cycles and non-terminal ar-trm steps). */
  readonly grad: boolean;
}

export interface ForwardOptions {
  /** Training mode: dropout on, ar-trm exploration on. Requires `seed`. Default false. */
  readonly training?: boolean;
  /** Drives dropout masks and halting exploration; a step is a pure function of (weights, ids, seed). */
  readonly seed?: number;
  /** Outer steps to run instead of the schedule's (test-time compute); tied rungs only. */
  readonly steps?: number;
  /** Called on every pass's output; may return a replacement (used by gradient-path probes). */
  readonly onPass?: (info: PassInfo, h: tf.Tensor3D) => tf.Tensor3D | void;
  /** Stop once every position (ACT) or sequence (binary head) halted; later steps cannot change the output. */
  readonly earlyExit?: boolean;
  /** Nested rungs: run only steps [from, to) (one deep-supervision segment). Default: every step. */
  readonly stepRange?: readonly [number, number];
  /** Nested rungs: (y, z) to start from, carried (detached) from the previous segment. Default: y0, z0. */
  readonly carry?: Carry;
  /**
   * Incremental decoding (evaluation only; see kv-cache.ts): `ids` [B, n] are the NEW tokens, at positions
   * cache.length..cache.length+n-1. Each pass attends to the keys/values it cached at the earlier positions and
   * appends its new ones; the logits [B, n, V] equal the full forward pass's at those positions. Every pass of the
   * schedule runs (no early exit), except that ar-trm's per-sequence halting, decided at prefill from position 0,
   * is reused: later tokens run the steps up to the batch's last halting step.
   */
  readonly cache?: KvCache;
}

/** The two-stream state carried between deep-supervision segments (always detached). [B, T, C] each. */
export interface Carry {
  readonly y: tf.Tensor3D;
  readonly z: tf.Tensor3D;
}

export interface ForwardResult {
  readonly logits: tf.Tensor3D; // [B, T, V]
  /** ACT rungs: Graves' ponder cost (mean N + R over positions). */
  readonly ponderCost?: tf.Scalar;
  /** Block passes actually applied (early exit can make it smaller than the budget). */
  readonly passesRun: number;
  readonly stepsRun: number;
  /** Nested rungs: the final (y, z), detached, to carry into the next segment. */
  readonly carry?: Carry;
  /** Binary halting with haltLoss: q at each position's terminal y, on the tape. [B, T] */
  readonly haltLogits?: tf.Tensor2D;
  /** Halting rungs: outer steps each position ran before it halted (constant). [B, T] */
  readonly stepsPerPosition?: tf.Tensor2D;
}
