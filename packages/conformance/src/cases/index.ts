import type { ConformanceCase } from '../harness.js';
import { LAYER_CASES } from './layers.js';

/**
 * Every case the suite runs, in order. To add a family (the model ladder of packages/recursion, for instance),
 * write its cases with parityCase/trainCase and spread them here, e.g.:
 *
 *   import { RUNG_NAMES, createModel } from '@tarm/recursion';
 *   const LADDER_CASES = RUNG_NAMES.map((rung) => trainCase({
 *     name: `ladder ${rung}: 3 SGD steps`,
 *     model: (seed) => createModel({ model: rung, ...TINY }, seed),  // a LadderModel is a TrainableLM
 *     batch: (rng) => shiftBatch(rng, 4, 8, TINY.vocabSize), steps: 3, lr: 0.5,
 *   }));
 */
export const CASES: readonly ConformanceCase[] = [...LAYER_CASES];
