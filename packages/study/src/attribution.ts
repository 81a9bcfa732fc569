import { existsSync, mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { StudyError } from './errors.js';
import { writeJsonAtomic } from './files.js';
import { estimateSecondsLeft, type GridProgress, type RunState } from './grid.js';
import { deepFreeze } from '@tarm/core';
import {
  ATTRIBUTION_PRESET,
  BACKEND_NAMES,
  MODEL_NAMES,
  StudyPresetSchema,
  TASK_NAMES,
  attributionPreset,
  definePreset,
  getPreset,
  gridAxes,
  type BackendName,
  type PresetName,
  type StudyPreset,
  type StudyPresetInput,
} from './presets.js';
import { createGridProgress, type GridRenderer } from './progress.js';
import { readObject } from './run-folder.js';
import { createWorkerSlots, runStudy, type StudyOutcome } from './runner.js';
import { configDiff, lockStudy, readStudyFile, SessionSchema, STUDY_FILE, type Session } from './study-file.js';

/**
 * The role of an arm in the report: `paper` is the reference, each `fix` switches one TRM fix on, `all` switches
 * every fix on, `decoding` repeats an arm with another evaluation decoding.
 */
export const ATTRIBUTION_ARM_KINDS = Object.freeze(['paper', 'fix', 'all', 'decoding'] as const);
export type AttributionArmKind = (typeof ATTRIBUTION_ARM_KINDS)[number];

/** Flags the study runner sets itself: an arm may not pass them. */
const RESERVED_FLAGS = Object.freeze(['--model', '--task', '--seed', '--out', '--resume', '--json', '--backend', '--steps', '--budget']);

export const AttributionArmSchema = z.strictObject({
  /** Folder name under `arms/` and the arm's name in the report. */
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and hyphens'),
  /** Row label of the report and the chart. */
  label: z.string().min(1),
  /** `tarm train --model`. */
  model: z.enum(MODEL_NAMES),
  /** Extra `tarm train` flags, appended after the preset's (commander keeps the last value of a repeated option). */
  flags: z.array(z.string()),
  /** What the arm changes, in words. */
  change: z.string(),
  kind: z.enum(ATTRIBUTION_ARM_KINDS),
  /** The arm this one is compared with (its difference and interval in the report); none for the reference. */
  baseline: z.string().optional(),
});
export type AttributionArm = Readonly<Omit<z.output<typeof AttributionArmSchema>, 'flags'> & { flags: readonly string[] }>;

/** Validates a list of arms: unique ids, baselines that name another arm, no flag the runner sets. */
export function defineArms(arms: readonly z.input<typeof AttributionArmSchema>[]): readonly AttributionArm[] {
  const parsed = z.array(AttributionArmSchema).min(1).safeParse(arms);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new StudyError(`invalid attribution arms: ${issue.path.join('.')}: ${issue.message}`);
  }
  const ids = parsed.data.map((a) => a.id);
  for (const [i, a] of parsed.data.entries()) {
    if (ids.indexOf(a.id) !== i) throw new StudyError(`invalid attribution arms: arm id ${JSON.stringify(a.id)} appears twice`);
    if (a.baseline !== undefined && (a.baseline === a.id || !ids.includes(a.baseline))) {
      throw new StudyError(`invalid attribution arms: arm ${a.id}: baseline ${JSON.stringify(a.baseline)} is not another arm`);
    }
    const reserved = a.flags.find((f) => RESERVED_FLAGS.includes(f));
    if (reserved) throw new StudyError(`invalid attribution arms: arm ${a.id}: ${reserved} is set by the study runner`);
  }
  return deepFreeze(structuredClone(parsed.data));
}

/**
 * The arms of the attribution study, in report order. From the paper's ar-trm, each TRM fix alone (the flags of
 * `tarm train`), then all of them (the trm-faithful rung, whose defaults are exactly these four switches), then
 * the decoding check: the paper arm and the all arm again, sampled at T = 1 instead of greedy (the same training
 * runs: training does not depend on the decoding).
 */
export const ATTRIBUTION_ARMS: readonly AttributionArm[] = defineArms([
  {
    id: 'paper',
    label: 'paper (ar-trm)',
    model: 'ar-trm',
    flags: [],
    change: 'ar-trm as published: one supervised segment per batch, no halting loss, gradient through the last cycle only, no EMA',
    kind: 'paper',
  },
  {
    id: 'deep-supervision',
    label: '+ deep supervision',
    model: 'ar-trm',
    flags: ['--deep-supervision', '0'],
    change: 'one supervised segment per step (2 at budget 12): a loss and an AdamW update after each, (y, z) carried detached',
    kind: 'fix',
    baseline: 'paper',
  },
  {
    id: 'halt-loss',
    label: '+ halting loss',
    model: 'ar-trm',
    flags: ['--halt-loss', 'on'],
    change: "the halting head, read at every position, trained with BCE against \"this position's prediction is correct\"",
    kind: 'fix',
    baseline: 'paper',
  },
  {
    id: 'grad-all',
    label: '+ gradient through all cycles',
    model: 'ar-trm',
    flags: ['--grad-cycles', 'all'],
    change: 'gradient through all H = 2 cycles of a supervised step instead of the last one only',
    kind: 'fix',
    baseline: 'paper',
  },
  {
    id: 'ema',
    label: '+ EMA weights',
    model: 'ar-trm',
    flags: ['--ema', '0.999'],
    change: 'evaluation with an exponential moving average of the weights (decay 0.999)',
    kind: 'fix',
    baseline: 'paper',
  },
  {
    id: 'all',
    label: 'all fixes (trm-faithful)',
    model: 'trm-faithful',
    flags: [],
    change: 'the trm-faithful rung: all four fixes (deep supervision 0, halting loss on, gradient through all cycles, EMA 0.999)',
    kind: 'all',
    baseline: 'paper',
  },
  {
    id: 'paper-sampled',
    label: 'paper, sampled at T = 1',
    model: 'ar-trm',
    flags: ['--decode', 'sample'],
    change: "the paper arm evaluated by sampling at temperature 1 (the paper's decoding) instead of greedy",
    kind: 'decoding',
    baseline: 'paper',
  },
  {
    id: 'all-sampled',
    label: 'all fixes, sampled at T = 1',
    model: 'trm-faithful',
    flags: ['--decode', 'sample'],
    change: 'the all arm evaluated by sampling at temperature 1 instead of greedy',
    kind: 'decoding',
    baseline: 'all',
  },
]);

/** Marker of an attribution folder, written when it is first run. */
export const ATTRIBUTION_FILE = 'attribution.json';
/** Sub-folder of each arm (a normal study folder): `arms/<arm id>/`. */
export const ARMS_DIR = 'arms';
export const armDir = (outDir: string, id: string): string => join(outDir, ARMS_DIR, id);

/** `attribution.json`: the preset and arms the folder was made with, and every session. */
export const AttributionFileSchema = z.object({
  schema: z.literal('tarm-attribution'),
  version: z.literal(1),
  preset: StudyPresetSchema,
  arms: z.array(AttributionArmSchema).min(1),
  createdAt: z.string(),
  sessions: z.array(SessionSchema),
});
export type AttributionFile = z.output<typeof AttributionFileSchema>;

/** Whether `dir` is an attribution study folder (holds attribution.json). */
export function isAttributionFolder(dir: string): boolean {
  return existsSync(join(dir, ATTRIBUTION_FILE));
}

/** Reads and validates `outDir/attribution.json`; `undefined` when there is none. */
export function readAttributionFile(outDir: string): AttributionFile | undefined {
  const path = join(outDir, ATTRIBUTION_FILE);
  if (!existsSync(path)) return undefined;
  const raw = readObject(path);
  if (!raw) throw new StudyError(`${path} is not valid JSON; move it away to start a new attribution study there`);
  const parsed = AttributionFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new StudyError(`${path} is not a tarm attribution file: ${issue.path.join('.')}: ${issue.message}`);
  }
  return parsed.data;
}

/** What makes two arms the same experiment (labels and descriptions may be reworded). */
const armKey = (a: Pick<AttributionArm, 'id' | 'model' | 'flags' | 'kind' | 'baseline'>) => JSON.stringify([a.id, a.model, a.flags, a.kind, a.baseline ?? null]);

/**
 * The existing `attribution.json` after checking that it has the same preset (name and configuration) and the
 * same arms as this command (a StudyError saying what differs otherwise); `undefined` for a new folder.
 */
function checkAttributionFile(outDir: string, preset: StudyPreset, arms: readonly AttributionArm[]): AttributionFile | undefined {
  const old = readAttributionFile(outDir);
  if (!old) return undefined;
  const oldTasks = old.preset.tasks.join(', ');
  const newTasks = preset.tasks.join(', ');
  if (oldTasks !== newTasks) {
    throw new StudyError(
      `${join(outDir, ATTRIBUTION_FILE)} was made on task ${oldTasks}; this command asks for task ${newTasks}. ` +
        `Rerun with --task ${oldTasks} to resume it, or choose another --out.`,
    );
  }
  const diff = configDiff(old.preset.config, preset.config);
  if (old.preset.name !== preset.name || diff.length > 0) {
    throw new StudyError(
      `${join(outDir, ATTRIBUTION_FILE)} was made with preset ${old.preset.name}` +
        (diff.length ? ` and a different configuration (${diff.join('; ')})` : '') +
        `; this command asks for preset ${preset.name}. Rerun with the original preset to resume it, or choose another --out.`,
    );
  }
  if (old.arms.map(armKey).join('\n') !== arms.map(armKey).join('\n')) {
    throw new StudyError(
      `${join(outDir, ATTRIBUTION_FILE)} was made with other arms (${old.arms.map((a) => a.id).join(', ')}) than this command's (${arms.map((a) => a.id).join(', ')}); choose another --out`,
    );
  }
  return old;
}

/** Writes `attribution.json` with this session appended (the arms' wording refreshed). */
function writeAttributionFile(outDir: string, old: AttributionFile | undefined, preset: StudyPreset, arms: readonly AttributionArm[], session: Session): void {
  const file: AttributionFile = old
    ? { ...old, arms: structuredClone(arms) as AttributionFile['arms'], sessions: [...old.sessions, session] }
    : {
        schema: 'tarm-attribution',
        version: 1,
        preset: structuredClone(preset) as AttributionFile['preset'],
        arms: structuredClone(arms) as AttributionFile['arms'],
        createdAt: session.startedAt,
        sessions: [session],
      };
  writeJsonAtomic(join(outDir, ATTRIBUTION_FILE), file);
}

/** Options of {@link runAttribution}. */
export interface RunAttributionOptions {
  /** The attribution folder: attribution.json, arms/<arm id>/ (each a study folder), later report.md and plots/. */
  outDir: string;
  /** Path of the tarm CLI entry script; every run is `node <cliEntry> train ...`. */
  cliEntry: string;
  /** The shared configuration (default: the `attribution` preset). */
  preset?: PresetName | StudyPreset;
  /** The arms (default: ATTRIBUTION_ARMS). */
  arms?: readonly AttributionArm[];
  /**
   * Train the arms on this task instead of the preset's (one of TASK_NAMES; the preset is
   * `attributionPreset(task)`-like: its `tasks` replaced, so the task is saved in attribution.json and a
   * folder made on another task is refused). Default: the preset's task (`addition` for the attribution preset).
   */
  task?: string;
  /** Replace the preset's seeds. */
  seeds?: readonly number[];
  /** Parallel training processes over all arms together (default `os.availableParallelism()`). */
  workers?: number;
  /** `tarm train --backend` (default `wasm`). */
  backend?: BackendName;
  /** Called with a snapshot of every arm's runs together (run ids `<arm id>/<run id>`). */
  onProgress?(grid: GridProgress): void;
  /** The progress display on stderr: `true` (default) for the built-in one, `false` for none, or your own. */
  progress?: boolean | GridRenderer;
  nodeArgs?: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** Aborting stops every arm; interrupted runs are left resumable. */
  signal?: AbortSignal;
}

/** What {@link runAttribution} resolves with. */
export interface AttributionOutcome {
  readonly outDir: string;
  readonly preset: StudyPreset;
  readonly arms: readonly { readonly arm: AttributionArm; readonly outcome: StudyOutcome }[];
  /** Final state of every run of every arm, ids `<arm id>/<run id>`. */
  readonly runs: readonly RunState[];
  readonly failed: readonly RunState[];
  readonly aborted: boolean;
  readonly wallSeconds: number;
  /** Every run of every arm is finished. */
  readonly ok: boolean;
}

const prefixed = (armId: string, r: RunState): RunState => ({ ...r, id: `${armId}/${r.id}` });

/** One snapshot of every arm's grid: totals summed, run ids prefixed with the arm, the running arms named. */
function mergeProgress(
  arms: readonly AttributionArm[],
  latest: ReadonlyMap<string, GridProgress>,
  workers: number,
  startedAt: number,
  event?: { armId: string; event: NonNullable<GridProgress['event']> },
): GridProgress {
  const runs = arms.flatMap((a) => (latest.get(a.id)?.runs ?? []).map((r) => prefixed(a.id, r)));
  const count = (s: RunState['status']) => runs.filter((r) => r.status === s).length;
  const runningArms = arms.filter((a) => (latest.get(a.id)?.running.length ?? 0) > 0).map((a) => a.id);
  return {
    label: `attribution${runningArms.length ? ` [${runningArms.join(', ')}]` : ''}`,
    total: runs.length,
    finished: count('done') + count('skipped'),
    skipped: count('skipped'),
    failed: count('failed'),
    pending: count('pending'),
    running: runs.filter((r) => r.status === 'running'),
    runs,
    workers,
    elapsedSeconds: (Date.now() - startedAt) / 1000,
    etaSeconds: estimateSecondsLeft(runs, workers),
    event: event && { kind: event.event.kind, run: prefixed(event.armId, event.event.run) },
  };
}

/**
 * Runs the attribution study: every arm is a normal study in `outDir/arms/<arm id>/` (the preset's model
 * replaced by the arm's, the arm's flags appended to every `tarm train`), all arms at once over one shared pool
 * of `workers` processes. Resumable like any study: rerunning skips finished runs and resumes interrupted ones.
 * attribution.json records the preset and arms; a rerun with others is refused. Nothing is thrown for failed
 * runs: check `ok` / `failed`. Then call `writeAttributionReport(outDir)`.
 */
export async function runAttribution(opts: RunAttributionOptions): Promise<AttributionOutcome> {
  const base = opts.preset === undefined ? ATTRIBUTION_PRESET : typeof opts.preset === 'string' ? getPreset(opts.preset) : definePreset(opts.preset);
  if (opts.task !== undefined && !(TASK_NAMES as readonly string[]).includes(opts.task)) {
    throw new StudyError(`--task: unknown task ${JSON.stringify(opts.task)}; known: ${TASK_NAMES.join(', ')}`);
  }
  const preset =
    opts.task === undefined || (base.tasks.length === 1 && base.tasks[0] === opts.task)
      ? base
      : base === ATTRIBUTION_PRESET
        ? attributionPreset(opts.task)
        : definePreset({ ...structuredClone(base), tasks: [opts.task] } as StudyPresetInput);
  const arms = opts.arms === undefined ? ATTRIBUTION_ARMS : defineArms(opts.arms as z.input<typeof AttributionArmSchema>[]);
  if (preset.tasks.length !== 1) throw new StudyError(`an attribution study trains one task; preset ${preset.name} has ${preset.tasks.join(', ')}`);
  const tasks = [...preset.tasks];
  const axes = arms.map((a) => gridAxes(preset, { models: [a.model], tasks, seeds: opts.seeds }));
  const seeds = axes[0]!.seeds;
  const backend = opts.backend ?? 'wasm';
  if (!BACKEND_NAMES.includes(backend)) throw new StudyError(`unknown backend ${JSON.stringify(backend)}; known: ${BACKEND_NAMES.join(', ')}`);
  const workers = opts.workers ?? availableParallelism();
  if (!Number.isInteger(workers) || workers < 1) throw new StudyError(`--workers: a positive integer, got ${workers}`);
  if (!existsSync(opts.cliEntry)) throw new StudyError(`the tarm CLI entry ${opts.cliEntry} does not exist`);
  const outDir = resolve(opts.outDir);
  if (existsSync(join(outDir, STUDY_FILE))) {
    throw new StudyError(`${outDir} holds a study (${STUDY_FILE}), not an attribution study; choose another --out`);
  }

  mkdirSync(outDir, { recursive: true });
  const unlock = lockStudy(outDir);
  const startedAt = Date.now();
  const inner = new AbortController();
  const onAbort = () => inner.abort();
  let renderer: GridRenderer | undefined;
  try {
    const session: Session = { startedAt: new Date(startedAt).toISOString(), wallSeconds: 0, backend, workers };
    const old = checkAttributionFile(outDir, preset, arms);
    // Refuse an arm folder made with another configuration before anything is written or started.
    for (const arm of arms) {
      const dir = armDir(outDir, arm.id);
      const old = readStudyFile(dir);
      const otherTask = old?.grid.tasks.find((t) => !preset.tasks.includes(t));
      if (otherTask !== undefined) {
        throw new StudyError(`arm ${arm.id}: ${join(dir, STUDY_FILE)} holds runs on task ${otherTask}; this command asks for task ${preset.tasks.join(', ')}`);
      }
      const diff = old ? configDiff(old.preset.config, preset.config) : [];
      if (old && (old.preset.name !== preset.name || diff.length)) {
        throw new StudyError(`arm ${arm.id}: ${join(dir, STUDY_FILE)} was made with preset ${old.preset.name}${diff.length ? ` (${diff.join('; ')})` : ''}; this command asks for preset ${preset.name}`);
      }
    }

    writeAttributionFile(outDir, old, preset, arms, session);

    renderer = opts.progress === false ? undefined : opts.progress === true || opts.progress === undefined ? createGridProgress() : opts.progress;
    const latest = new Map<string, GridProgress>();
    const onArmProgress = (armId: string, g: GridProgress) => {
      latest.set(armId, g);
      if (latest.size < arms.length) return; // every arm reports once before its first run starts
      const merged = mergeProgress(arms, latest, workers, startedAt, g.event && { armId, event: g.event });
      renderer?.update(merged);
      opts.onProgress?.(merged);
    };

    if (opts.signal?.aborted) inner.abort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const slots = createWorkerSlots(workers);
    const settled = await Promise.allSettled(
      arms.map((arm) =>
        runStudy({
          preset,
          outDir: armDir(outDir, arm.id),
          cliEntry: opts.cliEntry,
          models: [arm.model],
          tasks,
          seeds,
          workers,
          backend,
          progress: false,
          onProgress: (g) => onArmProgress(arm.id, g),
          spawnArgs: arm.flags,
          nodeArgs: opts.nodeArgs,
          env: opts.env,
          signal: inner.signal,
          slots,
        }).catch((e: unknown) => {
          inner.abort(); // one arm cannot start: stop the others, then report it
          throw e;
        }),
      ),
    );
    const error = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (error) throw error.reason;
    const outcomes = settled.map((s, i) => ({ arm: arms[i]!, outcome: (s as PromiseFulfilledResult<StudyOutcome>).value }));

    const file = readAttributionFile(outDir)!;
    file.sessions[file.sessions.length - 1]!.wallSeconds = (Date.now() - startedAt) / 1000;
    writeJsonAtomic(join(outDir, ATTRIBUTION_FILE), file);

    const runs = outcomes.flatMap(({ arm, outcome }) => outcome.runs.map((r) => prefixed(arm.id, r)));
    const aborted = opts.signal?.aborted === true || outcomes.some((o) => o.outcome.aborted);
    return {
      outDir,
      preset,
      arms: outcomes,
      runs,
      failed: runs.filter((r) => r.status === 'failed'),
      aborted,
      wallSeconds: (Date.now() - startedAt) / 1000,
      ok: !aborted && outcomes.every((o) => o.outcome.ok),
    };
  } finally {
    renderer?.stop();
    opts.signal?.removeEventListener('abort', onAbort);
    unlock();
  }
}

