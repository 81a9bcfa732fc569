// Plain JavaScript (not TypeScript) so the child-process fixture can import it under plain Node.
import * as tf from '@tensorflow/tfjs-core';
import { ParamStore, Rng, mixSeeds } from '@tarm/core';
import { block, createBlock, createEmbedding, createHead, embed, readout } from '@tarm/layers';
import { CONTEXT_LENGTH, SEED_PURPOSE, VOCAB_SIZE } from '@tarm/tasks';

/** Masked next-token cross-entropy: logits [B, T, V], targets [B, T], mask [B, T] -> scalar. */
export function maskedCrossEntropy(logits, targets, mask) {
  const V = logits.shape[2];
  const logp = tf.logSoftmax(logits, -1);
  const nll = tf.neg(tf.sum(tf.mul(logp, tf.oneHot(targets, V)), -1));
  return tf.div(tf.sum(tf.mul(nll, mask)), tf.maximum(tf.sum(mask), 1));
}

/**
 * A tiny TrainableLM: embed -> one pre-LN block -> readout, C=16, H=2 by default.
 * `unused: true` adds a parameter the loss never reaches (tests the no-gradient path).
 * @param {{ seed?: number; dModel?: number; nHeads?: number; dropout?: number; unused?: boolean }} [opts]
 * @returns {import('@tarm/core').TrainableLM}
 */
export function createTinyLM(opts = {}) {
  const { seed = 1337, dModel = 16, nHeads = 2, dropout = 0.1, unused = false } = opts;
  const params = new ParamStore(new Rng(mixSeeds(seed, SEED_PURPOSE.init)));
  const emb = createEmbedding(params, 'embed', VOCAB_SIZE, CONTEXT_LENGTH, dModel);
  const blk = createBlock(params, 'blocks.0', dModel, nHeads);
  const head = createHead(params, 'head', dModel, VOCAB_SIZE);
  if (unused) params.normal('unused.weight', [3, 4]);
  const forward = (ids, drop) => readout(head, block(blk, embed(emb, ids), drop));
  return {
    params,
    blockPasses: 1,
    logits: (ids) => tf.tidy(() => forward(ids, undefined)),
    loss(batch, stepSeed) {
      const drop = dropout > 0 ? { rate: dropout, rng: new Rng(stepSeed) } : undefined;
      const logits = forward(batch.inputs, drop);
      const loss = maskedCrossEntropy(logits, batch.targets, batch.mask);
      return { loss, stats: { maskedTokens: tf.sum(batch.mask) } };
    },
  };
}

/** All parameter values by name, as plain arrays (for bit-exact comparisons). */
export async function paramValues(lm) {
  const out = {};
  for (const [name, v] of lm.params.entries()) out[name] = Array.from(await v.data());
  return out;
}
