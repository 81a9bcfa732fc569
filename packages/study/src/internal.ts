/**
 * @tarm/study/internal: the pieces a runner of a study is made of, for runners other than the local one
 * (@tarm/queue): the grid, a run trained as a `tarm train` child, the study folder's files and the progress
 * display; and what the CLI and the tools share besides (the CSV writer, the Claims table, the statistics). Not
 * part of the public API; may change in any release.
 */
export { trainRun } from './train-run.js';
export { studyGrid, runSteps, snapshot, estimateSecondsLeft } from './grid.js';
export { createGridProgress } from './progress.js';
export { openStudyFile, readStudyFile, writeStudyFile, STUDY_FILE } from './study-file.js';
export {
  RUN_FILES,
  LOG_FILES,
  runDir,
  runsDir,
  logsDir,
  isFinished,
  isStarted,
  readObject,
  readJsonLines,
} from './run-folder.js';
export { stepsToReach } from './extension.js';
export { resultsCsv, writeResultsCsv } from './results-csv.js';
export { RUNS_ARCHIVE } from './archive.js';
export { claimsTable } from './report.js';
export { fisherExact, welchDiffCI } from './stats.js';
