/**
 * @tarm/train: AdamW with decoupled weight decay, one training step, and the seeded, resumable training loop.
 * Browser-safe; run folders on disk live in `@tarm/train/node`.
 */
export {
  AdamW,
  ADAMW_ARITHMETICS,
  ADAMW_DEFAULTS,
  OPTIMIZER_PREFIX,
  resolveAdamWConfig,
  optimizerConfigFor,
  resolveArithmetic,
  type AdamWArithmetic,
  type AdamWConfig,
  type ResolvedAdamWConfig,
} from './adamw.js';
export { TRAIN_DEFAULTS } from './defaults.js';
export { trainStep, type StepResult } from './step.js';
export { batchToTensors, trainingTensorBatch, disposeBatch } from './batch.js';
export {
  train,
  checkSchedule,
  type TrainOptions,
  type TrainResult,
  type StepInfo,
  type EvalRecord,
  type EvalMetrics,
} from './loop.js';
