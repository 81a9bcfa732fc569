import { join } from 'node:path';
import { BACKEND_NAMES } from '@tarm/core';
import { unpackRuns } from './archive.js';
import { StudyError } from './errors.js';
import { writeJsonAtomic } from './files.js';
import { writeResultsCsv } from './results-csv.js';
import { runSteps, studyGrid, type GridRun } from './grid.js';
import {
  LOG_FILES,
  RUN_FILES,
  isFinished,
  logsDir,
  numberField,
  readJsonLines,
  readObject,
  runDir,
} from './run-folder.js';
import { readStudyFile, studyWallSeconds, STUDY_FILE } from './study-file.js';

export {
  MetricsSchema,
  EvalsSchema,
  CurvePointSchema,
  RUN_RESULT_STATUSES,
  RunResultSchema,
  StudyResultsSchema,
  RESULTS_FILE,
  type Metrics,
  type Evals,
  type CurvePoint,
  type RunResult,
  type StudyResults,
} from './results-schema.js';
import {
  StudyResultsSchema,
  RESULTS_FILE,
  type Metrics,
  type Evals,
  type CurvePoint,
  type RunResult,
  type StudyResults,
} from './results-schema.js';

const finite = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** Metrics from an untrusted object; `undefined` when it carries no character accuracy. */
export function toMetrics(raw: unknown): Metrics | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const r = raw as Record<string, unknown>;
  if (!('charAcc' in r)) return undefined;
  const q = Array.isArray(r.quartiles) ? r.quartiles : [];
  return {
    charAcc: finite(r.charAcc),
    exactMatch: finite(r.exactMatch),
    firstCharAcc: finite(r.firstCharAcc),
    lastCharAcc: finite(r.lastCharAcc),
    quartiles: [finite(q[0]), finite(q[1]), finite(q[2]), finite(q[3])],
  };
}

/** An `evals` object ({"10": metrics, ...}) from an untrusted value; lengths without metrics are dropped. */
export function toEvals(raw: unknown): Evals | undefined {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  const out: Evals = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    const m = toMetrics(v);
    if (/^\d+$/.test(k) && m) out[k] = m;
  }
  return Object.keys(out).length ? out : undefined;
}

/** Evaluation lines of metrics.jsonl as curve points (lines without `evals` are ignored). */
export function readCurve(path: string): CurvePoint[] {
  const points: CurvePoint[] = [];
  for (const line of readJsonLines(path)) {
    const evals = toEvals(line.evals);
    const step = line.step;
    if (!evals || typeof step !== 'number' || !Number.isInteger(step) || step < 0) continue;
    points.push({ step, loss: finite(line.loss), wallSeconds: finite(line.wallSeconds), evals });
  }
  points.sort((a, b) => a.step - b.step);
  // A resumed run may repeat an evaluation step: keep the latest line for each step.
  return points.filter((p, i) => i === points.length - 1 || points[i + 1]!.step !== p.step);
}

/**
 * Reads one run folder (and the runner's logs) into a RunResult. summary.json is read defensively: each field
 * may be at its top level or under `result`; the final metrics fall back to the `--json` result line the runner
 * saved, then to the last evaluation of metrics.jsonl.
 */
export function readRun(outDir: string, { id, arm, rung, task, seed }: GridRun, steps?: number): RunResult {
  const dir = runDir(outDir, id);
  const summary = readObject(join(dir, RUN_FILES.summary));
  const config = readObject(join(dir, RUN_FILES.config));
  const result = readObject(join(logsDir(outDir), LOG_FILES.result(id)));
  const failed = readObject(join(logsDir(outDir), LOG_FILES.failed(id)));
  const curve = readCurve(join(dir, RUN_FILES.metrics));
  const last = curve[curve.length - 1];
  const field = (keys: string[]) =>
    numberField(summary, keys, ['result', 'final']) ?? numberField(result, keys) ?? numberField(config, keys) ?? null;
  const finished = isFinished(dir, steps); // a run short of the steps its study grew to is not finished
  const status: RunResult['status'] = finished
    ? 'finished'
    : failed
      ? 'failed'
      : config || curve.length
        ? 'incomplete'
        : 'pending';
  const final =
    (summary &&
      (toEvals(summary.evals) ??
        toEvals((summary.result as Record<string, unknown> | undefined)?.evals) ??
        toEvals(summary.final))) ??
    (status === 'finished' ? toEvals(result?.evals) : undefined) ??
    last?.evals ??
    {};
  const backend = BACKEND_NAMES.find((b) => b === config?.backend) ?? null;
  const run: RunResult = {
    id,
    arm,
    rung,
    task,
    seed,
    status,
    backend,
    config: config ?? null,
    params: field(['params', 'paramCount']),
    blockPasses: field(['blockPasses']),
    tokensPerSecond:
      numberField(summary, ['tokensPerSecond'], ['result']) ?? numberField(result, ['tokensPerSecond']) ?? null,
    wallSeconds:
      numberField(summary, ['wallSeconds'], ['result']) ??
      numberField(result, ['wallSeconds']) ??
      last?.wallSeconds ??
      null,
    lastStep: last?.step ?? null,
    final,
    curve,
  };
  if (status === 'failed' && typeof failed?.stderrTail === 'string') run.error = failed.stderrTail;
  if (typeof summary?.cpu === 'string') run.cpu = summary.cpu;
  const sampled = toEvals(readObject(join(dir, RUN_FILES.sampled))?.evals);
  if (sampled) run.sampled = sampled;
  return run;
}

/**
 * Reads a study folder (study.json, runs/*, logs/*; runs/ and logs/ unpacked first from runs.tar.gz when the folder
 * has one) into the versioned results, validates them and (unless `write: false`) writes them atomically to
 * `outDir/results.json`. Runs are listed by task, arm, then seed.
 */
export function collectResults(outDir: string, opts: { write?: boolean } = {}): StudyResults {
  const file = readStudyFile(outDir);
  if (!file) throw new StudyError(`${outDir} is not a study folder (no ${STUDY_FILE}); run \`tarm study\` first`);
  unpackRuns(outDir); // a folder whose run folders are committed as runs.tar.gz
  const { study } = file;
  const order = (r: GridRun) => [
    study.tasks.findIndex((t) => t.name === r.task),
    study.arms.findIndex((a) => a.name === r.arm),
    study.seeds.indexOf(r.seed),
  ];
  const grid = studyGrid(study).sort((a, b) => order(a).reduce((d, x, i) => d || x - order(b)[i]!, 0));
  const results: StudyResults = {
    schema: 'tarm-study-results',
    version: 2,
    generatedAt: new Date().toISOString(),
    study,
    createdAt: file.createdAt,
    wallSeconds: studyWallSeconds(file),
    sessions: file.sessions,
    runs: grid.map((r) => readRun(outDir, r, runSteps(study, r))),
  };
  const checked = StudyResultsSchema.parse(results);
  if (opts.write !== false) {
    writeJsonAtomic(join(outDir, RESULTS_FILE), checked);
    writeResultsCsv(outDir, checked);
  }
  return checked;
}

/** Reads and validates `outDir/results.json`. */
export function readResults(outDir: string): StudyResults {
  const path = join(outDir, RESULTS_FILE);
  const raw = readObject(path);
  if (!raw) throw new StudyError(`${path} is missing or not JSON; run \`tarm study\` (or collectResults) first`);
  const parsed = StudyResultsSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new StudyError(`${path} is not tarm study results v2: ${issue.path.join('.')}: ${issue.message}`);
  }
  return parsed.data;
}
