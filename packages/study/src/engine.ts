/**
 * @tarm/study/engine: the pieces a runner of a study is made of, for runners other than the local one
 * (@tarm/queue): the grid, a run trained as a `tarm train` child, the study folder's files and the progress display.
 */
export { trainRun, type TrainRunOptions } from './train-run.js';
export {
  studyGrid,
  runSteps,
  snapshot,
  estimateSecondsLeft,
  type GridRun,
  type RunState,
  type RunStatus,
} from './grid.js';
export { createGridProgress, type GridRenderer } from './progress.js';
export {
  openStudyFile,
  readStudyFile,
  writeStudyFile,
  lockStudy,
  STUDY_FILE,
  type StudyFile,
  type Session,
} from './study-file.js';
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
export { writeJsonAtomic } from './files.js';
export { taskSettings } from './schema.js';
export { stepsToReach } from './extension.js';
