import type { ConformanceCase } from '../harness.js';
import { LAYER_CASES } from './layers.js';
import { LADDER_CASES } from './ladder.js';
import { OPTIMIZER_CASES } from './optimizer.js';

/**
 * Every case the suite runs, in order: the layers, AdamW steps on the layer stack (optimizer.ts), then the ladder's
 * KV-cached decoding (ladder.ts). To add a family, write its cases with parityCase/trainCase (or by hand) and spread
 * them here, e.g.:
 *
 *   import { RUNG_NAMES, createModel } from '@tarm/recursion';
 *   const TRAIN_CASES = RUNG_NAMES.map((rung) => trainCase({
 *     name: `ladder ${rung}: 3 SGD steps`,
 *     model: (seed) => createModel({ model: rung, ...TINY }, seed),  // a LadderModel is a TrainableLM
 *     batch: (rng) => shiftBatch(rng, 4, 8, TINY.vocabSize), steps: 3, lr: 0.5,
 *   }));
 */
export const CASES: readonly ConformanceCase[] = [...LAYER_CASES, ...OPTIMIZER_CASES, ...LADDER_CASES];
