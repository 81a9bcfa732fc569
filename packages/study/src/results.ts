import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { StudyError } from './errors.js';
import { writeJsonAtomic } from './files.js';
import { writeResultsCsv } from './results-csv.js';
import { MODEL_NAMES, StudyConfigSchema, TASK_NAMES, runId, type ModelName, type TaskName } from './presets.js';
import { LOG_FILES, RUN_FILES, logsDir, numberField, readJsonLines, readObject, runDir, runsDir } from './run-folder.js';
import { readStudyFile, studyWallSeconds, STUDY_FILE } from './study-file.js';

/** A fraction in [0, 1], or null where nothing was measured (NaN in the run, e.g. an empty quartile). */
const Fraction = z.number().nullable();

/** Answer metrics of one evaluation at one length (fractions). */
export const MetricsSchema = z.object({
  charAcc: Fraction,
  exactMatch: Fraction,
  firstCharAcc: Fraction,
  lastCharAcc: Fraction,
  quartiles: z.tuple([Fraction, Fraction, Fraction, Fraction]),
});
export type Metrics = z.output<typeof MetricsSchema>;

/** Metrics per evaluation length, keyed by the length as a string ("10"). */
export const EvalsSchema = z.record(z.string().regex(/^\d+$/), MetricsSchema);
export type Evals = z.output<typeof EvalsSchema>;

export const CurvePointSchema = z.object({ step: z.int().min(0), loss: z.number().nullable(), wallSeconds: z.number().nullable(), evals: EvalsSchema });
export type CurvePoint = z.output<typeof CurvePointSchema>;

/**
 * `finished`: summary.json exists. `failed`: the last attempt exited non-zero. `incomplete`: started and
 * interrupted (or still running). `pending`: never started.
 */
export const RUN_RESULT_STATUSES = ['finished', 'failed', 'incomplete', 'pending'] as const;

export const RunResultSchema = z.object({
  id: z.string(),
  model: z.enum(MODEL_NAMES),
  task: z.enum(TASK_NAMES),
  seed: z.int().min(0),
  status: z.enum(RUN_RESULT_STATUSES),
  /** The run's config.json as `tarm train` wrote it (its format belongs to the CLI); null if none. */
  config: z.record(z.string(), z.unknown()).nullable(),
  params: z.number().nullable(),
  blockPasses: z.number().nullable(),
  tokensPerSecond: z.number().nullable(),
  wallSeconds: z.number().nullable(),
  /** Last step with an evaluation. */
  lastStep: z.int().nullable(),
  /** Metrics of the final evaluation (for unfinished runs: the last one so far). */
  final: EvalsSchema,
  /** Every evaluation, in step order. */
  curve: z.array(CurvePointSchema),
  /** Stderr tail of a failed run. */
  error: z.string().optional(),
});
export type RunResult = z.output<typeof RunResultSchema>;

/** results.json: everything the report needs, so `tarm report` works from it alone. */
export const StudyResultsSchema = z.object({
  schema: z.literal('tarm-study-results'),
  version: z.literal(1),
  generatedAt: z.string(),
  study: z.object({
    preset: z.string(),
    description: z.string(),
    config: StudyConfigSchema,
    notes: z.array(z.string()),
    grid: z.object({ models: z.array(z.enum(MODEL_NAMES)), tasks: z.array(z.enum(TASK_NAMES)), seeds: z.array(z.int().min(0)) }),
    createdAt: z.string(),
    /** Wall time over every session of the study. */
    wallSeconds: z.number(),
    sessions: z.int().min(0),
  }),
  runs: z.array(RunResultSchema),
});
export type StudyResults = z.output<typeof StudyResultsSchema>;

export const RESULTS_FILE = 'results.json';

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
export function readRun(outDir: string, id: string, model: ModelName, task: TaskName, seed: number): RunResult {
  const dir = runDir(outDir, id);
  const summary = readObject(join(dir, RUN_FILES.summary));
  const config = readObject(join(dir, RUN_FILES.config));
  const result = readObject(join(logsDir(outDir), LOG_FILES.result(id)));
  const failed = readObject(join(logsDir(outDir), LOG_FILES.failed(id)));
  const curve = readCurve(join(dir, RUN_FILES.metrics));
  const last = curve[curve.length - 1];
  const field = (keys: string[]) => numberField(summary, keys, ['result', 'final']) ?? numberField(result, keys) ?? numberField(config, keys) ?? null;
  const finished = existsSync(join(dir, RUN_FILES.summary));
  const status: RunResult['status'] = finished ? 'finished' : failed ? 'failed' : config || curve.length ? 'incomplete' : 'pending';
  const final =
    (summary && (toEvals(summary.evals) ?? toEvals((summary.result as Record<string, unknown> | undefined)?.evals) ?? toEvals(summary.final))) ??
    (status === 'finished' ? toEvals(result?.evals) : undefined) ??
    last?.evals ??
    {};
  const run: RunResult = {
    id,
    model,
    task,
    seed,
    status,
    config: config ?? null,
    params: field(['params', 'paramCount']),
    blockPasses: field(['blockPasses']),
    tokensPerSecond: numberField(summary, ['tokensPerSecond'], ['result']) ?? numberField(result, ['tokensPerSecond']) ?? null,
    wallSeconds: numberField(summary, ['wallSeconds'], ['result']) ?? numberField(result, ['wallSeconds']) ?? last?.wallSeconds ?? null,
    lastStep: last?.step ?? null,
    final,
    curve,
  };
  if (status === 'failed' && typeof failed?.stderrTail === 'string') run.error = failed.stderrTail;
  return run;
}

/** `<model>-<task>-s<seed>` back into its parts, for run folders outside the recorded grid. */
export function parseRunId(id: string): { model: ModelName; task: TaskName; seed: number } | undefined {
  const m = new RegExp(`^(${MODEL_NAMES.join('|')})-(${TASK_NAMES.join('|')})-s(\\d+)$`).exec(id);
  return m ? { model: m[1] as ModelName, task: m[2] as TaskName, seed: Number(m[3]) } : undefined;
}

/**
 * Reads a study folder (study.json, runs/*, logs/*) into the versioned results, validates them and (unless
 * `write: false`) writes them atomically to `outDir/results.json`, and every evaluation as `outDir/results.csv`.
 * Runs are listed in ladder, task, seed order.
 */
export function collectResults(outDir: string, opts: { write?: boolean } = {}): StudyResults {
  const study = readStudyFile(outDir);
  if (!study) throw new StudyError(`${outDir} is not a study folder (no ${STUDY_FILE}); run \`tarm study\` first`);
  const ids = new Map<string, { model: ModelName; task: TaskName; seed: number }>();
  for (const seed of study.grid.seeds) for (const task of study.grid.tasks) for (const model of study.grid.models) ids.set(runId(model, task, seed), { model, task, seed });
  const folder = runsDir(outDir);
  if (existsSync(folder)) {
    for (const name of readdirSync(folder)) {
      const parts = parseRunId(name);
      if (parts && !ids.has(name) && statSync(join(folder, name)).isDirectory()) ids.set(name, parts);
    }
  }
  const seedOrder = (s: number) => {
    const i = study.grid.seeds.indexOf(s);
    return i < 0 ? study.grid.seeds.length + s : i;
  };
  const runs = [...ids.entries()]
    .map(([id, p]) => readRun(outDir, id, p.model, p.task, p.seed))
    .sort((a, b) => TASK_NAMES.indexOf(a.task) - TASK_NAMES.indexOf(b.task) || MODEL_NAMES.indexOf(a.model) - MODEL_NAMES.indexOf(b.model) || seedOrder(a.seed) - seedOrder(b.seed));
  const results: StudyResults = {
    schema: 'tarm-study-results',
    version: 1,
    generatedAt: new Date().toISOString(),
    study: {
      preset: study.preset.name,
      description: study.preset.description,
      config: study.preset.config,
      notes: study.preset.notes,
      grid: study.grid,
      createdAt: study.createdAt,
      wallSeconds: studyWallSeconds(study),
      sessions: study.sessions.length,
    },
    runs,
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
    throw new StudyError(`${path} is not tarm study results v1: ${issue.path.join('.')}: ${issue.message}`);
  }
  return parsed.data;
}
