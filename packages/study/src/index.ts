/**
 * @tarm/study: a study is a file (arms x tasks x seeds, one shared configuration; `StudySchema`,
 * `study.schema.json`). Run it (`runStudy`, `resumeStudy`), collect its results and write its report.
 */
export { StudyError } from './errors.js';
export {
  StudySchema,
  PAPER_DEFAULTS,
  defineStudy,
  studyJsonSchema,
  type Study,
  type StudyInput,
  type Arm,
  type StudyTask,
  type StudyConfig,
} from './schema.js';
export { PRESET_NAMES, loadStudy, presetPath, type PresetName, type StudyOverrides } from './presets.js';
export { runStudy, resumeStudy, planWorkers, type RunStudyOptions, type StudyOutcome } from './runner.js';
export type { GridProgress, RunState, TrainMessage, TrainResult } from './grid.js';
export { collectResults, readResults, type StudyResults, type RunResult } from './results.js';
export { archiveRuns, unpackRuns, RUNS_ARCHIVE, type ArchiveOutcome, type UnpackOutcome } from './archive.js';
export { resultsCsv, writeResultsCsv, RESULTS_CSV_FILE, RESULTS_CSV_COLUMNS } from './results-csv.js';
export { writeReport, claimsTable, comparisons, type Comparison, type ReportFiles } from './report.js';
export { checkClaims, type Claim, type ClaimPart, type ClaimVerdict } from './claims.js';
export { LATE_MIN_EVALS, PLATEAU_POINTS, isStillRising, lastChange, lateWindow, type LateWindow } from './plateau.js';
export { fisherExact, slopeCI, welchDiffCI, type DiffCI, type SlopeCI } from './stats.js';
