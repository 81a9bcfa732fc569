import type { MetricPick } from './aggregate.js';
import { charAcc, finishedRuns } from './aggregate.js';
import type { RunResult, StudyResults } from './results.js';
import { slopeCI } from './stats.js';

/** A run whose last two evaluations differ by at least this many points is still moving ("still rising"). */
export const PLATEAU_POINTS = 2;

/**
 * The change (fraction) of a metric at `length` between a run's last two evaluations; undefined with fewer than
 * two evaluations that measured it.
 */
export function lastChange(run: RunResult, length: number, pick: MetricPick = charAcc): number | undefined {
  const xs = run.curve
    .map((p) => p.evals[String(length)])
    .map((m) => (m ? pick(m) : null))
    .filter((v): v is number => v !== null);
  return xs.length < 2 ? undefined : xs[xs.length - 1]! - xs[xs.length - 2]!;
}

/** Whether a run fails the plateau rule: its last two evaluations differ by >= PLATEAU_POINTS (up or down). */
export function isStillRising(run: RunResult, length: number, pick: MetricPick = charAcc): boolean {
  const d = lastChange(run, length, pick);
  return d !== undefined && Math.abs(d) * 100 >= PLATEAU_POINTS - 1e-9;
}

/** The finished seeds of an (arm, task) cell that fail the plateau rule at `length`, with their last change. */
export function risingSeeds(
  results: StudyResults,
  arm: string,
  task: string,
  length: number,
): { readonly seed: number; readonly change: number }[] {
  return finishedRuns(results)
    .filter((r) => r.arm === arm && r.task === task && isStillRising(r, length))
    .map((r) => ({ seed: r.seed, change: lastChange(r, length)! }));
}

/** The late-training window reads at least this many evaluations (the last half of training, or more). */
export const LATE_MIN_EVALS = 4;

/** Where a run sits late in training, for claims that a value is low ("near chance"). */
export interface LateWindow {
  /** Steps of the evaluations in the window: those after half of training, at least the last LATE_MIN_EVALS. */
  readonly steps: readonly number[];
  readonly values: readonly number[];
  /** The highest of them: an upper bound of where the run sits, whichever way it drifts between evaluations. */
  readonly max: number;
  /** The least-squares line's change over the window (fraction). */
  readonly rise: number;
  /** The slope's 95% interval lies above 0 and the line rises by >= PLATEAU_POINTS: the run is climbing. */
  readonly climbing: boolean;
}

/**
 * The evaluations of the last half of a run's training (at least the last LATE_MIN_EVALS), their maximum and
 * whether they climb. A run at chance drifts between evaluations (fixed problems, greedy decoding: each move is
 * the model changing), so its last two evaluations often differ by more than PLATEAU_POINTS without any trend;
 * a run climbing out of chance shows a slope. Undefined without evaluations at `length`.
 */
export function lateWindow(run: RunResult, length: number, pick: MetricPick = charAcc): LateWindow | undefined {
  const points = run.curve
    .map((p) => ({ step: p.step, m: p.evals[String(length)] }))
    .map(({ step, m }) => ({ step, v: m ? pick(m) : null }))
    .filter((p): p is { step: number; v: number } => p.v !== null);
  if (!points.length) return undefined;
  const half = (run.lastStep ?? points[points.length - 1]!.step) / 2;
  const late = points.filter((p) => p.step > half);
  const window = late.length >= LATE_MIN_EVALS ? late : points.slice(-LATE_MIN_EVALS);
  const steps = window.map((p) => p.step);
  const values = window.map((p) => p.v);
  const fit = slopeCI(steps, values);
  const rise = Number.isFinite(fit.slope) ? fit.slope * (steps[steps.length - 1]! - steps[0]!) : 0;
  const climbing = fit.lo !== undefined && fit.lo > 0 && rise * 100 >= PLATEAU_POINTS - 1e-9;
  return { steps, values, max: Math.max(...values), rise, climbing };
}

/** The late windows of the finished seeds of an (arm, task) cell at `length` (undefined where nothing was measured), with each seed's final value. */
export function cellLateWindows(
  results: StudyResults,
  arm: string,
  task: string,
  length: number,
  pick: MetricPick = charAcc,
): { readonly seed: number; readonly final: number | null; readonly w?: LateWindow }[] {
  return finishedRuns(results)
    .filter((r) => r.arm === arm && r.task === task)
    .map((r) => {
      const m = r.final[String(length)];
      return { seed: r.seed, final: m ? pick(m) : null, w: lateWindow(r, length, pick) };
    });
}
