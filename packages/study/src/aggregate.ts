import { meanCI, type MeanCI } from './stats.js';
import { MODEL_NAMES, TASK_NAMES, type ModelName, type TaskName } from './presets.js';
import type { Metrics, RunResult, StudyResults } from './results.js';

/** Picks one number out of an evaluation's metrics (a fraction, or null). */
export type MetricPick = (m: Metrics) => number | null;

export const charAcc: MetricPick = (m) => m.charAcc;
export const lastCharAcc: MetricPick = (m) => m.lastCharAcc;
export const quartile =
  (q: 0 | 1 | 2 | 3): MetricPick =>
  (m) =>
    m.quartiles[q];

/** Rungs and tasks present in the results, in the paper's order. */
export function presentAxes(results: StudyResults): { models: ModelName[]; tasks: TaskName[]; seeds: number[] } {
  const models = MODEL_NAMES.filter((m) => results.runs.some((r) => r.model === m));
  const tasks = TASK_NAMES.filter((t) => results.runs.some((r) => r.task === t));
  const seeds = [...new Set(results.runs.map((r) => r.seed))];
  return { models, tasks, seeds };
}

export const finishedRuns = (results: StudyResults): RunResult[] => results.runs.filter((r) => r.status === 'finished');

/** A final metric at `length` of every finished run of (model, task), one value per seed (null: not measured). */
export function finalValues(results: StudyResults, model: string, task: string, length: number, pick: MetricPick): (number | null)[] {
  return finishedRuns(results)
    .filter((r) => r.model === model && r.task === task)
    .map((r) => {
      const m = r.final[String(length)];
      return m ? pick(m) : null;
    });
}

/** Mean and 95% CI over seeds of a final metric at `length`, over the finished runs of (model, task). */
export function finalCell(results: StudyResults, model: string, task: string, length: number, pick: MetricPick): MeanCI {
  return meanCI(finalValues(results, model, task, length, pick));
}

/** One point of a seed-averaged curve (fractions). */
export interface SeriesPoint {
  readonly model: ModelName;
  readonly task: TaskName;
  readonly x: number;
  readonly n: number;
  readonly mean: number;
  readonly lo?: number;
  readonly hi?: number;
}

function point(model: ModelName, task: TaskName, x: number, ci: MeanCI): SeriesPoint {
  return { model, task, x, n: ci.n, mean: ci.mean, lo: ci.lo, hi: ci.hi };
}

/**
 * A metric at evaluation length `length` vs training step, averaged over the seeds of each (model, task) that
 * reached the step (finished and unfinished runs alike).
 */
export function stepSeries(results: StudyResults, task: TaskName, length: number, pick: MetricPick): SeriesPoint[] {
  const out: SeriesPoint[] = [];
  for (const model of MODEL_NAMES) {
    const runs = results.runs.filter((r) => r.model === model && r.task === task);
    const steps = [...new Set(runs.flatMap((r) => r.curve.map((p) => p.step)))].sort((a, b) => a - b);
    for (const step of steps) {
      const values = runs.map((r) => {
        const m = r.curve.find((p) => p.step === step)?.evals[String(length)];
        return m ? pick(m) : null;
      });
      const ci = meanCI(values);
      if (ci.n > 0) out.push(point(model, task, step, ci));
    }
  }
  return out;
}

/** Final character accuracy vs evaluation length, averaged over seeds (finished runs). */
export function lengthSeries(results: StudyResults, task: TaskName, lengths: readonly number[]): SeriesPoint[] {
  const out: SeriesPoint[] = [];
  for (const model of MODEL_NAMES) {
    for (const L of lengths) {
      const ci = finalCell(results, model, task, L, charAcc);
      if (ci.n > 0) out.push(point(model, task, L, ci));
    }
  }
  return out;
}
