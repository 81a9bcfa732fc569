import { type BackendName } from '@tarm/core';
import { deepFreeze } from '@tarm/core/internal';
import { defineModelConfig, type ModelConfig } from '@tarm/recursion';
import { CONTEXT_LENGTH } from '@tarm/tasks';
import type { RunRequest as TrainRunRequest, TrainSettings } from '@tarm/train/node';
import { EVAL_DEFAULTS } from '@tarm/eval';
import { TRAIN_DEFAULTS } from '@tarm/train';
import { armModelConfig, taskSettings, type Study } from './schema.js';

/** One training run of a study: one arm on one task with one seed. */
export interface GridRun {
  /** `<arm>-<task>-s<seed>`: the run's folder name under `runs/`. */
  readonly id: string;
  readonly arm: string;
  readonly rung: string;
  readonly task: string;
  readonly seed: number;
}

export const runId = (arm: string, task: string, seed: number): string => `${arm}-${task}-s${seed}`;

/**
 * The runs of a study in execution order: seed-major, then task, then arm, so that a partly run study already
 * holds every arm of a task for its first seeds.
 */
export function studyGrid(study: Pick<Study, 'arms' | 'tasks' | 'seeds'>): GridRun[] {
  return study.seeds.flatMap((seed) =>
    study.tasks.flatMap((t) =>
      study.arms.map((a) => ({ id: runId(a.name, t.name, seed), arm: a.name, rung: a.rung, task: t.name, seed })),
    ),
  );
}

/** The training steps of a run: its task's `steps`, else the study's `config.steps`. */
export const runSteps = (study: Study, run: Pick<GridRun, 'task'>): number =>
  taskSettings(
    study,
    study.tasks.find((t) => t.name === run.task)!,
  ).steps;

/**
 * The resolved, validated configuration of one run, to `run.steps` when given, else its task's steps: what the
 * run's config.json will hold (model, train, seed, eval) and the backend to train on. The runner hands it to the
 * trainer as a file (`tarm train --config`), so that a run trains exactly what the study file says.
 */
export function runConfig(run: GridRun & { readonly steps?: number }, study: Study, backend: BackendName): RunRequest {
  const c = study.config;
  const arm = study.arms.find((a) => a.name === run.arm)!;
  const t = taskSettings(
    study,
    study.tasks.find((x) => x.name === run.task)!,
  );
  return deepFreeze({
    model: defineModelConfig({ ...armModelConfig(arm, c), contextLength: CONTEXT_LENGTH }),
    train: {
      task: run.task,
      length: t.length,
      batchSize: c.batchSize,
      steps: run.steps ?? t.steps,
      evalEvery: c.evalEvery,
      optimizer: { lr: c.lr, weightDecay: TRAIN_DEFAULTS.weightDecay, ...(arm.ema !== undefined && { ema: arm.ema }) },
    },
    seed: run.seed,
    eval: {
      lengths: [...t.evalLengths],
      n: c.evalN,
      decode: arm.decode ?? c.decode,
      temperature: EVAL_DEFAULTS.temperature,
    },
    backend,
    ...(c.log && { log: c.log }),
  });
}

/** A run's configuration as the runner hands it over (see {@link runConfig}): @tarm/train's RunRequest, resolved. */
export type RunRequest = TrainRunRequest<ModelConfig, RunEval> & {
  readonly train: Required<Pick<TrainSettings, 'optimizer'>>;
  readonly eval: RunEval;
  readonly backend: BackendName;
};
/** How a run is evaluated, in config.json's words (EVAL_DEFAULTS' keys). */
type RunEval = {
  readonly [K in keyof typeof EVAL_DEFAULTS]: K extends 'lengths' ? readonly number[] : (typeof EVAL_DEFAULTS)[K];
};

/** The result a `tarm train` child sends when it finishes (its `--json` record). */
export type TrainResult = Record<string, unknown>;

/**
 * Where a run stands in a study session: `skipped` runs were finished before this session (summary.json),
 * `done` ones finished in it, `failed` ones exited non-zero.
 */
export type RunStatus = 'pending' | 'running' | 'done' | 'skipped' | 'failed';

/** Live state of one grid run. */
export interface RunState extends GridRun {
  status: RunStatus;
  /** Total training steps of the run. */
  steps: number;
  /** Started with `--resume` (an interrupted run's folder held a config.json). */
  resumed: boolean;
  /** Last step the child reported (a progress message). */
  step?: number;
  loss?: number;
  /** Character accuracy (percent) at the child's last evaluation at the training length. */
  acc?: number;
  tokensPerSecond?: number;
  /** Date.now() when the child was spawned. */
  startedAt?: number;
  /** Wall time: measured for runs of this session, read from summary.json for skipped ones. */
  wallSeconds?: number;
  exitCode?: number | null;
  signal?: string | null;
  /** Last lines of the child's stderr (failed runs). */
  stderrTail?: string;
  /** The child's result message. */
  result?: TrainResult;
  /** First step seen in this session (a resumed run starts past 0), for its rate. */
  firstStep?: number;
}

/** A snapshot of the grid, given to `onProgress` at every change. */
export interface GridProgress {
  /** What the grid line calls the grid: the study's name. */
  readonly label: string;
  readonly total: number;
  /** Finished runs, this session's and earlier ones (skipped). */
  readonly finished: number;
  readonly skipped: number;
  readonly failed: number;
  readonly pending: number;
  readonly running: readonly RunState[];
  readonly runs: readonly RunState[];
  readonly workers: number;
  readonly elapsedSeconds: number;
  /** Estimated wall seconds left; undefined until some run has reported a step. */
  readonly etaSeconds?: number;
  /** What changed, when the snapshot follows a run's start, end or failure. */
  readonly event?: { readonly kind: 'started' | 'finished' | 'failed'; readonly run: RunState };
}

const mean = (xs: number[]): number | undefined => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : undefined);

/** Seconds per step of a run measured in this session: finished (not resumed) or running past its first step. */
function ownRate(r: RunState, now: number): number | undefined {
  if (r.status === 'done' && !r.resumed && r.wallSeconds !== undefined && r.wallSeconds > 0)
    return r.wallSeconds / r.steps;
  const done = (r.step ?? 0) - (r.firstStep ?? 0);
  return r.status === 'running' && r.startedAt !== undefined && done > 0
    ? (now - r.startedAt) / 1000 / done
    : undefined;
}

/**
 * Seconds per training step, estimated for a run: from this session's finished runs of the same (model, task);
 * else from earlier sessions' runs of that cell (summary.json) times this session's pace relative to them (an
 * earlier session may have run on a slower or busier machine, or with other workers); else from any finished
 * run the same way; else from the runs in progress. `undefined` when nothing has been measured yet.
 */
function secondsPerStep(run: RunState, runs: readonly RunState[], now: number): number | undefined {
  const earlier = runs.filter((r) => r.status === 'skipped' && r.wallSeconds !== undefined && r.wallSeconds > 0);
  const rate = (rs: RunState[]) => mean(rs.map((r) => r.wallSeconds! / r.steps));
  const earlierRate = (arm: string, task: string) => rate(earlier.filter((r) => r.arm === arm && r.task === task));
  const measured = runs
    .map((r) => ({ r, own: ownRate(r, now) }))
    .filter((m): m is { r: RunState; own: number } => m.own !== undefined);
  // this session's seconds per step over the earlier sessions', on the cells both measured (1 when none)
  const pace =
    mean(
      measured.flatMap(({ r, own }) => {
        const e = earlierRate(r.arm, r.task);
        return e ? [own / e] : [];
      }),
    ) ?? 1;
  const scaled = (x: number | undefined) => (x === undefined ? undefined : x * pace);
  const doneHere = measured.filter(({ r }) => r.status === 'done');
  const same = mean(doneHere.filter(({ r }) => r.arm === run.arm && r.task === run.task).map((m) => m.own));
  return (
    same ??
    scaled(earlierRate(run.arm, run.task)) ??
    mean(doneHere.map((m) => m.own)) ??
    scaled(rate(earlier)) ??
    mean(measured.map((m) => m.own))
  );
}

/**
 * Wall seconds left for the grid: the work left (pending runs' steps, running runs' remaining steps, each at
 * its estimated seconds per step) spread over the workers, and never less than the longest running run's rest.
 */
export function estimateSecondsLeft(runs: readonly RunState[], workers: number, now = Date.now()): number | undefined {
  let work = 0;
  let longest = 0;
  for (const r of runs) {
    if (r.status === 'pending') {
      const sps = secondsPerStep(r, runs, now);
      if (sps === undefined) return undefined;
      work += sps * r.steps;
    } else if (r.status === 'running') {
      const sps = ownRate(r, now) ?? secondsPerStep(r, runs, now);
      if (sps === undefined) return undefined;
      const rest = sps * Math.max(0, r.steps - (r.step ?? 0));
      work += rest;
      longest = Math.max(longest, rest);
    }
  }
  return Math.max(longest, work / Math.max(1, workers));
}

/** Builds the snapshot given to progress renderers. */
export function snapshot(
  label: string,
  runs: readonly RunState[],
  workers: number,
  startedAt: number,
  event?: GridProgress['event'],
  now = Date.now(),
): GridProgress {
  const count = (s: RunStatus) => runs.filter((r) => r.status === s).length;
  return {
    label,
    total: runs.length,
    finished: count('done') + count('skipped'),
    skipped: count('skipped'),
    failed: count('failed'),
    pending: count('pending'),
    running: runs.filter((r) => r.status === 'running').map((r) => ({ ...r })),
    runs: runs.map((r) => ({ ...r })),
    workers,
    elapsedSeconds: (now - startedAt) / 1000,
    etaSeconds: estimateSecondsLeft(runs, workers, now),
    event: event && { kind: event.kind, run: { ...event.run } },
  };
}

/**
 * What a `tarm train` child forked by the runner sends over its IPC channel: a progress message after training
 * steps (`acc`: character accuracy in percent at the training length, from the last evaluation) and its result
 * record when it finishes. The progress bar on its stderr is for people and is never parsed.
 */
export type TrainMessage =
  | {
      readonly type: 'tarm:progress';
      readonly step: number;
      readonly steps: number;
      readonly loss: number;
      readonly acc?: number;
      readonly tokensPerSecond: number;
    }
  | { readonly type: 'tarm:result'; readonly result: TrainResult };
