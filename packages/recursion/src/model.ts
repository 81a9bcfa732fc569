import * as tf from '@tensorflow/tfjs-core';
import { ParamStore, Rng, mixSeeds, type DecodingSession, type SegmentInput, type TensorBatch, type TrainableLM } from '@tarm/core';
import { createBlock, createEmbedding, createHead, type BlockParams, type EmbeddingParams, type HeadParams } from '@tarm/layers';
import { defineModelConfig, type ModelConfig, type ModelConfigInput } from './config.js';
import { rungOf, type Rung } from './rungs.js';
import { solveBudget, type Schedule } from './budget.js';
import { forward, type ForwardOptions, type ForwardResult } from './forward.js';
import { haltingLoss, maskedCrossEntropy } from './loss.js';
import { createKvCache, type KvCache } from './kv-cache.js';

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

/**
 * Builds a model of any rung. Parameters are drawn N(0, 0.02) from `seed` (biases 0, LayerNorm 1/0), in a
 * fixed order, so the same config and seed give the same weights on the same backend.
 */
export function createModel(input: ModelConfigInput | ModelConfig, seed: number): LadderModel {
  const config = defineModelConfig(input);
  const rung = rungOf(config);
  const schedule = solveBudget(config);
  const { dModel: C, nHeads, vocabSize: V, contextLength } = config;
  const store = new ParamStore(new Rng(mixSeeds(seed, 5)));
  const embed = createEmbedding(store, 'embed', V, contextLength, C);
  const nBlocks = rung.tied ? 1 : schedule.blockPasses; // dense: N = steps
  const blocks = Array.from({ length: nBlocks }, (_, i) => createBlock(store, rung.tied ? 'block' : `blocks.${i}`, C, nHeads));
  const head = createHead(store, 'head', C, V);
  const p: ModelParams = {
    embed,
    blocks,
    head,
    stepEmbedding: rung.stepEmbedding ? store.normal('step.embedding', [schedule.steps, C]) : undefined,
    act: rung.halting === 'act' ? { weight: store.normal('act.weight', [C, 1]), bias: store.zeros('act.bias', [1]) } : undefined,
    init: rung.dualStream ? { y: store.normal('init.y', [C]), z: store.normal('init.z', [C]) } : undefined,
    halt: rung.halting === 'binary' ? { weight: store.zeros('halt.weight', [C, 1]), bias: store.constant('halt.bias', [1], -5) } : undefined,
  };

  const model: LadderModel = {
    config,
    rung,
    schedule,
    p,
    params: store,
    blockPasses: schedule.blockPasses,
    optimizerDefaults: rung.defaults?.ema !== undefined ? Object.freeze({ ema: rung.defaults.ema }) : undefined,
    forward: (ids, opts = {}) => forward(model, ids, opts),
    logits: (ids) => tf.tidy(() => forward(model, ids, { training: false }).logits),
    createCache: (batchSize, opts) => createKvCache(model, batchSize, opts),
    startDecoding(batchSize, opts) {
      const cache = createKvCache(model, batchSize, opts);
      return {
        append: (ids) => tf.tidy(() => forward(model, ids, { cache }).logits),
        get length() {
          return cache.length;
        },
        dispose: () => cache.dispose(),
      };
    },
    segments: schedule.segments,
    loss(batch: TensorBatch, stepSeed: number, segment?: SegmentInput) {
      const S = schedule.segments;
      const index = segment?.index ?? 0;
      if (index < 0 || index >= S) throw new RangeError(`segment ${index} is outside [0, ${S})`);
      const per = schedule.steps / S;
      const carry = segment?.carry ? { y: segment.carry[0] as tf.Tensor3D, z: segment.carry[1] as tf.Tensor3D } : undefined;
      const out = forward(model, batch.inputs, {
        training: true,
        seed: stepSeed,
        stepRange: S > 1 ? [index * per, (index + 1) * per] : undefined,
        carry,
      });
      const ce = maskedCrossEntropy(out.logits, batch.targets, batch.mask);
      const stats: Record<string, tf.Scalar> = { ce, passes: tf.scalar(out.passesRun) };
      let loss = ce;
      if (out.ponderCost) {
        stats.ponder = out.ponderCost;
        if (config.ponderWeight > 0) loss = tf.add(ce, tf.mul(out.ponderCost, config.ponderWeight)) as tf.Scalar;
      }
      if (out.haltLogits) {
        const { bce, accuracy } = haltingLoss(out.haltLogits, out.logits, batch.targets, batch.mask);
        stats.haltBce = bce;
        stats.haltAcc = accuracy;
        loss = tf.add(loss, tf.mul(bce, config.haltLossWeight)) as tf.Scalar;
      }
      const next = S > 1 && out.carry ? [tf.keep(out.carry.y), tf.keep(out.carry.z)] : undefined;
      return { loss, stats, carry: next };
    },
    dispose: () => store.dispose(),
  };
  return model;
}
