import type { GridRun } from './presets.js';
import type { TrainResult } from './train-command.js';

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
  /** Last step the child reported (stderr progress line). */
  step?: number;
  loss?: number;
  /** Character accuracy (percent) at the child's last evaluation, as its progress line shows it. */
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
  /** The child's `--json` result line. */
  result?: TrainResult;
  /** First step seen in this session (a resumed run starts past 0), for its rate. */
  firstStep?: number;
}

/** A snapshot of the grid, given to `onProgress` at every change. */
export interface GridProgress {
  /** What the grid line calls the grid ("study" when absent; an attribution study names its running arms). */
  readonly label?: string;
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

/**
 * Seconds per training step, estimated for a run: from finished runs of the same (model, task), else of any
 * finished run, else from the rates of the runs in progress. `undefined` when nothing has been measured yet.
 */
function secondsPerStep(run: RunState, runs: readonly RunState[], now: number): number | undefined {
  const finished = runs.filter((r) => (r.status === 'done' || r.status === 'skipped') && r.wallSeconds !== undefined && r.wallSeconds > 0 && !r.resumed);
  const rate = (rs: RunState[]) => mean(rs.map((r) => r.wallSeconds! / r.steps));
  const same = finished.filter((r) => r.model === run.model && r.task === run.task);
  const live = runs
    .filter((r) => r.status === 'running' && r.startedAt !== undefined && r.step !== undefined && r.step > (r.firstStep ?? 0))
    .map((r) => (now - r.startedAt!) / 1000 / (r.step! - (r.firstStep ?? 0)));
  return rate(same) ?? rate(finished) ?? mean(live);
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
      const done = (r.step ?? 0) - (r.firstStep ?? 0);
      const own = done > 0 && r.startedAt !== undefined ? (now - r.startedAt) / 1000 / done : undefined;
      const sps = own ?? secondsPerStep(r, runs, now);
      if (sps === undefined) return undefined;
      const rest = sps * Math.max(0, r.steps - (r.step ?? 0));
      work += rest;
      longest = Math.max(longest, rest);
    }
  }
  return Math.max(longest, work / Math.max(1, workers));
}

/** Builds the snapshot given to progress renderers. */
export function snapshot(runs: readonly RunState[], workers: number, startedAt: number, event?: GridProgress['event'], now = Date.now()): GridProgress {
  const count = (s: RunStatus) => runs.filter((r) => r.status === s).length;
  return {
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
