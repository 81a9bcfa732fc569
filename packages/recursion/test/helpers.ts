import * as tf from '@tensorflow/tfjs-core';
import { createModel, type LadderModel, type ModelConfigInput } from '../src/index.js';

/** A tiny config for structural tests: budget 24 like the paper, width 8. */
export const tiny = (model: ModelConfigInput['model'], extra: Partial<ModelConfigInput> = {}): ModelConfigInput => ({
  model,
  vocabSize: 14,
  contextLength: 16,
  dModel: 8,
  nHeads: 2,
  budget: 24,
  dropout: 0.1,
  ...extra,
});

/** Random ids [B, T] from a plain LCG (test data only). */
export function randomIds(B: number, T: number, seed: number): number[][] {
  let s = seed >>> 0;
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) % 14;
  return Array.from({ length: B }, () => Array.from({ length: T }, next));
}

/** Sets a parameter to a constant (e.g. to force halting behaviour in a test). */
export function setParam(model: LadderModel, name: string, value: number): void {
  const v = model.params.get(name);
  v.assign(tf.fill(v.shape, value));
}

export function build(cfg: ModelConfigInput, seed = 7): LadderModel {
  return createModel(cfg, seed);
}
