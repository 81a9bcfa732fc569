export { StudyError } from './errors.js';
export {
  MODEL_NAMES,
  TASK_NAMES,
  PRESET_NAMES,
  BACKEND_NAMES,
  StudyConfigSchema,
  StudyPresetSchema,
  PRESETS,
  PAPER_PRESET,
  CPU_PRESET,
  ATTRIBUTION_PRESET,
  PAPER_MODEL_NAMES,
  SMOKE_PRESET,
  attributionPreset,
  definePreset,
  getPreset,
  gridAxes,
  resolveGrid,
  runId,
  type ModelName,
  type TaskName,
  type PresetName,
  type BackendName,
  type StudyConfig,
  type StudyPreset,
  type StudyPresetInput,
  type GridRun,
  type GridFilter,
} from './presets.js';
export { runStudy, createWorkerSlots, type RunStudyOptions, type StudyOutcome, type WorkerSlots } from './runner.js';
export { estimateSecondsLeft, type GridProgress, type RunState, type RunStatus } from './grid.js';
export { createGridProgress, formatGridLine, formatRunLine, formatEvent, type GridRenderer } from './progress.js';
export { trainArgs, parseProgressLine, parseResultLine, type TrainProgress, type TrainResult } from './train-command.js';
export { readStudyFile, StudyFileSchema, STUDY_FILE, type StudyFile, type Session } from './study-file.js';
export {
  collectResults,
  readResults,
  readRun,
  readCurve,
  StudyResultsSchema,
  RunResultSchema,
  MetricsSchema,
  RESULTS_FILE,
  type StudyResults,
  type RunResult,
  type Metrics,
  type Evals,
  type CurvePoint,
} from './results.js';
export { meanCI, tQuantile975, formatMeanCI, welchDiffCI, formatDiffCI, formatSigned, type MeanCI, type DiffCI } from './stats.js';
export { PAPER_HEADLINE, PAPER_ADDITION_QUARTILES, PAPER_LAST_DIGIT_TRANSITION, PAPER_CHANCE, AGREEMENT_POINTS, paperHeadline, type PaperQuartiles } from './paper.js';
export { trainingSequenceLength, flopsPerStep, studyModelConfig, type FlopsPerTokenFn, type StudyModelConfig } from './flops.js';
export { studyPlots, renderSvg, writePlots, MODEL_COLORS, modelColor, type Plot } from './plots.js';
export { resultsCsv, writeResultsCsv, RESULTS_CSV_FILE, RESULTS_CSV_COLUMNS } from './results-csv.js';
export { writeReport, regenerateReport, reportMarkdown, agreement, REPORT_FILE, PLOTS_DIR, type ReportFiles } from './report.js';
export {
  ATTRIBUTION_ARMS,
  ATTRIBUTION_ARM_KINDS,
  ATTRIBUTION_FILE,
  ARMS_DIR,
  AttributionArmSchema,
  AttributionFileSchema,
  armDir,
  defineArms,
  isAttributionFolder,
  readAttributionFile,
  runAttribution,
  type AttributionArm,
  type AttributionArmKind,
  type AttributionFile,
  type AttributionOutcome,
  type RunAttributionOptions,
} from './attribution.js';
export {
  collectAttribution,
  summarizeAttribution,
  compareArms,
  verdictOf,
  attributionConclusion,
  attributionMarkdown,
  attributionPlot,
  writeAttributionReport,
  regenerateAttributionReport,
  type AttributionData,
  type AttributionSummary,
  type ArmSummary,
  type ArmComparison,
  type Verdict,
} from './attribution-report.js';
