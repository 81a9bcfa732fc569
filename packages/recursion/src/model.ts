import * as tf from '@tensorflow/tfjs-core';
import { ParamStore, Rng, mixSeeds, type SegmentInput, type TensorBatch } from '@tarm/core';
import { createBlock, createEmbedding, createHead } from '@tarm/layers';
import { defineModelConfig, type ModelConfig, type ModelConfigInput } from './config.js';
import { rungOf } from './rungs.js';
import { solveBudget } from './budget.js';
import { forward } from './forward.js';
import { haltingLoss, maskedCrossEntropy } from './loss.js';
import { createKvCache } from './kv-cache.js';
import type { LadderModel, ModelParams } from './types.js';

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
  const blocks = Array.from({ length: nBlocks }, (_, i) =>
    createBlock(store, rung.tied ? 'block' : `blocks.${i}`, C, nHeads),
  );
  const head = createHead(store, 'head', C, V);
  const p: ModelParams = {
    embed,
    blocks,
    head,
    stepEmbedding: rung.stepEmbedding ? store.normal('step.embedding', [schedule.steps, C]) : undefined,
    act:
      rung.halting === 'act'
        ? { weight: store.normal('act.weight', [C, 1]), bias: store.zeros('act.bias', [1]) }
        : undefined,
    init: rung.dualStream ? { y: store.normal('init.y', [C]), z: store.normal('init.z', [C]) } : undefined,
    halt:
      rung.halting === 'binary'
        ? { weight: store.zeros('halt.weight', [C, 1]), bias: store.constant('halt.bias', [1], -5) }
        : undefined,
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
      const carry = segment?.carry
        ? { y: segment.carry[0] as tf.Tensor3D, z: segment.carry[1] as tf.Tensor3D }
        : undefined;
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
