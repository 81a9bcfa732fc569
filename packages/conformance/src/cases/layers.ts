import * as tf from '@tensorflow/tfjs-core';
import { ParamStore, Rng, mixSeeds, type TrainableLM } from '@tarm/core';
import { block, createBlock, createEmbedding, createHead, embed, readout } from '@tarm/layers';
import {
  causalMask,
  causalSelfAttention,
  createAttention,
  createLayerNorm,
  createLinear,
  gelu,
  layerNorm,
  linear,
  matMulExplicitT,
} from '@tarm/layers/internal';
import { parityCase, trainCase, type BatchData, type ConformanceCase } from '../harness.js';

/** Small shapes: enough to exercise every kernel and its gradient, quick even on the cpu backend. */
const B = 2;
const T = 8;
const C = 16;
const H = 4;
const V = 11;

const x3 = { name: 'x', shape: [B, T, C], dtype: 'float32' } as const;

/** Attention keeps one causal mask per sequence length on purpose: create it before the leak check counts. */
const maskCache = (t: number) => () => void causalMask(t);

/** Masked next-token cross-entropy (as the trainer computes it). */
export function maskedCrossEntropy(logits: tf.Tensor3D, targets: tf.Tensor2D, mask: tf.Tensor2D): tf.Scalar {
  const logp = tf.logSoftmax(logits, -1); // [B, T, V]
  const onehot = tf.oneHot(targets, logits.shape[2]); // [B, T, V]
  const nll = tf.neg(tf.sum(tf.mul(logp, onehot), -1)); // [B, T]
  return tf.div(tf.sum(tf.mul(nll, mask)), tf.maximum(tf.sum(mask), 1)) as tf.Scalar;
}

export interface StackConfig {
  readonly vocab: number;
  readonly context: number;
  readonly dModel: number;
  readonly nHeads: number;
  readonly nBlocks: number;
  readonly dropout: number;
}

/** embed -> nBlocks x block -> readout, as a TrainableLM (dropout masks drawn from the step seed). */
export function layerStack(cfg: StackConfig, seed: number): TrainableLM & { dispose(): void } {
  const store = new ParamStore(new Rng(mixSeeds(seed, 5)));
  const emb = createEmbedding(store, 'embed', cfg.vocab, cfg.context, cfg.dModel);
  const blocks = Array.from({ length: cfg.nBlocks }, (_, i) =>
    createBlock(store, `blocks.${i}`, cfg.dModel, cfg.nHeads),
  );
  const head = createHead(store, 'head', cfg.dModel, cfg.vocab);
  const run = (ids: tf.Tensor2D, stepSeed?: number): tf.Tensor3D => {
    const drop =
      stepSeed === undefined || cfg.dropout === 0 ? undefined : { rate: cfg.dropout, rng: new Rng(stepSeed) };
    let h = embed(emb, ids);
    for (const b of blocks) h = block(b, h, drop);
    return readout(head, h);
  };
  return {
    params: store,
    blockPasses: cfg.nBlocks,
    logits: (ids) => run(ids),
    loss: (batch, stepSeed) => ({ loss: maskedCrossEntropy(run(batch.inputs, stepSeed), batch.targets, batch.mask) }),
    dispose: () => store.dispose(),
  };
}

/** Random ids; the target is the next id + 1 (mod vocab), scored from position 2 on. */
export function shiftBatch(rng: Rng, b: number, t: number, vocab: number): BatchData {
  const ids = new Int32Array(b * t + b);
  for (let i = 0; i < ids.length; i++) ids[i] = rng.int(vocab);
  const inputs = new Int32Array(b * t);
  const targets = new Int32Array(b * t);
  const mask = new Float32Array(b * t);
  for (let r = 0; r < b; r++) {
    for (let c = 0; c < t; c++) {
      inputs[r * t + c] = ids[r * (t + 1) + c]!;
      targets[r * t + c] = (ids[r * (t + 1) + c + 1]! + 1) % vocab;
      mask[r * t + c] = c >= 2 ? 1 : 0;
    }
  }
  return { B: b, T: t, inputs, targets, mask };
}

export const TINY_STACK: StackConfig = { vocab: V, context: T, dModel: C, nHeads: H, nBlocks: 2, dropout: 0.1 };

/** The layers of packages/layers: forward + gradient parity of each, then a short training run of a small stack. */
export const LAYER_CASES: ConformanceCase[] = [
  parityCase({
    name: 'matMulExplicitT',
    inputs: [
      { name: 'x', shape: [12, C], dtype: 'float32' },
      { name: 'w', shape: [C, 24], dtype: 'float32' },
    ],
    build: () => undefined,
    forward: (_p, [x, w]) => matMulExplicitT(x as tf.Tensor2D, w as tf.Tensor2D),
  }),
  parityCase({
    name: 'linear (with bias)',
    inputs: [x3],
    build: (s) => createLinear(s, 'linear', C, 24, true),
    forward: (p, [x]) => linear(p, x!),
  }),
  parityCase({
    name: 'layerNorm',
    inputs: [{ ...x3, std: 2 }],
    build: (s) => createLayerNorm(s, 'ln', C),
    forward: (p, [x]) => layerNorm(p, x!),
  }),
  parityCase({
    name: 'gelu',
    inputs: [{ ...x3, std: 2 }],
    build: () => undefined,
    forward: (_p, [x]) => gelu(x!),
  }),
  parityCase({
    name: 'causalSelfAttention',
    inputs: [x3],
    build: (s) => createAttention(s, 'attn', C, H),
    forward: (p, [x]) => causalSelfAttention(p, x as tf.Tensor3D),
    prepare: maskCache(T),
    perturb: 0.3,
  }),
  parityCase({
    name: 'block',
    inputs: [x3],
    build: (s) => createBlock(s, 'block', C, H),
    forward: (p, [x]) => block(p, x as tf.Tensor3D),
    prepare: maskCache(T),
    perturb: 0.3,
  }),
  parityCase({
    name: 'block with dropout 0.1',
    inputs: [x3],
    build: (s) => createBlock(s, 'block', C, H),
    // A fresh generator per call: the forward pass and the taped pass draw the same masks.
    forward: (p, [x]) => block(p, x as tf.Tensor3D, { rate: 0.1, rng: new Rng(7) }),
    prepare: maskCache(T),
    perturb: 0.3,
  }),
  parityCase({
    name: 'embed (oneHot @ W + position)',
    inputs: [{ name: 'ids', shape: [B, T], dtype: 'int32', max: V }],
    build: (s) => createEmbedding(s, 'embed', V, T, C),
    forward: (p, [ids]) => embed(p, ids as tf.Tensor2D),
  }),
  parityCase({
    name: 'readout (LayerNorm + Linear)',
    inputs: [x3],
    build: (s) => createHead(s, 'head', C, V),
    forward: (p, [h]) => readout(p, h as tf.Tensor3D),
  }),
  trainCase({
    name: 'train: embed + 2 blocks + readout, 4 SGD steps',
    model: (seed) => layerStack(TINY_STACK, seed),
    // The same batch every step, so the loss visibly goes down (the report prints it).
    batch: () => shiftBatch(new Rng(11), 4, T, V),
    steps: 4,
    lr: 0.5,
    prepare: maskCache(T),
  }),
];
