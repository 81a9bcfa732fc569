/**
 * @tarm/study: a study is a file (arms x tasks x seeds, one shared configuration; `StudySchema`,
 * `study.schema.json`). Run it (`runStudy`, `resumeStudy`), collect its results and write its report. The pieces
 * the CLI and @tarm/queue build other runners and commands from (the grid, a run as a `tarm train` child, the study
 * folder's files, the CSV writer) are in `@tarm/study/internal` (not part of the public API).
 */
export { StudyError } from './errors.js';
export {
  StudySchema,
  PAPER_DEFAULTS,
  STUDY_CONFIG_SETTINGS,
  defineStudy,
  studyJsonSchema,
  type Study,
  type StudyInput,
  type Arm,
  type StudyTask,
  type StudyConfig,
} from './schema.js';
export { PRESET_NAMES, loadStudy, type PresetName, type StudyOverrides } from './presets.js';
export { runStudy, resumeStudy, planWorkers, type RunStudyOptions, type StudyOutcome } from './runner.js';
export type { GridProgress, GridRun, RunState, RunStatus, TrainMessage, TrainResult } from './grid.js';
export type { GridRenderer } from './progress.js';
export { collectResults, readResults, type StudyResults, type RunResult } from './results.js';
export { archiveRuns, unpackRuns, type ArchiveOutcome, type UnpackOutcome } from './archive.js';
export { writeReport, comparisons, type Comparison, type ReportFiles } from './report.js';
export { checkClaims, type Claim, type ClaimPart, type ClaimVerdict } from './claims.js';
export { isStillRising } from './plateau.js';
export type { DiffCI } from './stats.js';
