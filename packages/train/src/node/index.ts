/**
 * Node-only half of @tarm/train: run folders on disk (config, metrics, checkpoints, summary) with resume, weights
 * exported as safetensors, and TensorBoard event records. Import from `@tarm/train/node`; the main entry stays
 * browser-safe. What the CLI shares with this entry besides its public API is in `@tarm/train/node/internal` (not
 * part of the public API).
 */
export {
  runTraining,
  type RunOptions,
  type RunResult,
  type RunSummary,
  type CheckpointMeta,
  type MetricsLine,
  type LossLine,
  type EvalLine,
  type ResumeInfo,
} from './run.js';
export { RunFolderError, type RunConfig, type RunRequest, type TrainSettings } from './run-config.js';
export { exportRunWeights, type ExportWeights } from './export.js';
export { encodeEvents, decodeEvents, type TbEvent } from './tensorboard.js';
