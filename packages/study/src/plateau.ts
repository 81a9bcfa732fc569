import type { MetricPick } from './aggregate.js';
import { charAcc, finishedRuns } from './aggregate.js';
import type { RunResult, StudyResults } from './results.js';

/** A run whose last two evaluations differ by at least this many points is still moving ("still rising"). */
export const PLATEAU_POINTS = 2;

/**
 * The change (fraction) of a metric at `length` between a run's last two evaluations; undefined with fewer than
 * two evaluations that measured it.
 */
export function lastChange(run: RunResult, length: number, pick: MetricPick = charAcc): number | undefined {
  const xs = run.curve.map((p) => p.evals[String(length)]).map((m) => (m ? pick(m) : null)).filter((v): v is number => v !== null);
  return xs.length < 2 ? undefined : xs[xs.length - 1]! - xs[xs.length - 2]!;
}

/** Whether a run fails the plateau rule: its last two evaluations differ by >= PLATEAU_POINTS (up or down). */
export function isStillRising(run: RunResult, length: number, pick: MetricPick = charAcc): boolean {
  const d = lastChange(run, length, pick);
  return d !== undefined && Math.abs(d) * 100 >= PLATEAU_POINTS - 1e-9;
}

/** The finished seeds of an (arm, task) cell that fail the plateau rule at `length`, with their last change. */
export function risingSeeds(results: StudyResults, arm: string, task: string, length: number): { readonly seed: number; readonly change: number }[] {
  return finishedRuns(results)
    .filter((r) => r.arm === arm && r.task === task && isStillRising(r, length))
    .map((r) => ({ seed: r.seed, change: lastChange(r, length)! }));
}
