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
  type ResumeInfo,
} from './run.js';
export { RunFolderError, differences, firstDifference, type RunConfig, type TrainSettings } from './run-config.js';
export { appendJsonLine, readJsonLines, writeJsonLinesAtomic } from './jsonl.js';
export { exportRunWeights, EXPORT_METADATA, WEIGHT_LAYOUT, type ExportWeights } from './export.js';
export {
  TensorBoardLog,
  encodeEvents,
  decodeEvents,
  lineScalars,
  EVENTS_FILE_MARK,
  FILE_VERSION,
  type TbEvent,
} from './tensorboard.js';
