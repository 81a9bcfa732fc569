/**
 * Node-only half of @tarm/train: run folders on disk (config, metrics, checkpoints, summary) with resume.
 * Import from `@tarm/train/node`; the main entry stays browser-safe.
 */
export {
  runTraining,
  RUN_FILES,
  type RunOptions,
  type RunResult,
  type RunSummary,
  type CheckpointMeta,
  type MetricsLine,
  type LossLine,
  type EvalLine,
} from './run.js';
export { RunFolderError, firstDifference, type RunConfig, type TrainSettings } from './run-config.js';
export { appendJsonLine, readJsonLines, writeJsonLinesAtomic } from './jsonl.js';
