/**
 * @tarm/train: AdamW with decoupled weight decay, one training step, and the seeded, resumable training loop.
 * Browser-safe; run folders on disk live in `@tarm/train/node`. What the playground shares with this package
 * besides its public API is in `@tarm/train/internal` (not part of the public API).
 */
export {
  AdamW,
  ADAMW_ARITHMETICS,
  ADAMW_DEFAULTS,
  resolveArithmetic,
  type AdamWArithmetic,
  type AdamWConfig,
  type ResolvedAdamWConfig,
} from './adamw.js';
export { TRAIN_SETTINGS, TRAIN_DEFAULTS } from './settings.js';
export { trainStep, type StepResult } from './step.js';
export { trainingTensorBatch, disposeBatch } from './batch.js';
export {
  train,
  type TrainOptions,
  type TrainResult,
  type StepInfo,
  type EvalRecord,
  type EvalMetrics,
} from './loop.js';
