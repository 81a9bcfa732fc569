import { meanCI, type MeanCI } from './stats.js';
import { taskSettings, type Arm, type TaskSettings } from './schema.js';
import type { Metrics, RunResult, StudyResults } from './results.js';

/** Picks one number out of an evaluation's metrics (a fraction, or null). */
export type MetricPick = (m: Metrics) => number | null;

export const charAcc: MetricPick = (m) => m.charAcc;
export const exactMatch: MetricPick = (m) => m.exactMatch;
export const firstCharAcc: MetricPick = (m) => m.firstCharAcc;
export const lastCharAcc: MetricPick = (m) => m.lastCharAcc;
export const quartile =
  (q: 0 | 1 | 2 | 3): MetricPick =>
  (m) =>
    m.quartiles[q];

/** Arms and tasks that have runs, in the study file's order, with each task's settings. */
export function presentAxes(results: StudyResults): { arms: Arm[]; tasks: TaskSettings[]; seeds: number[] } {
  const { study } = results;
  const arms = study.arms.filter((a) => results.runs.some((r) => r.arm === a.name));
  const tasks = study.tasks
    .filter((t) => results.runs.some((r) => r.task === t.name))
    .map((t) => taskSettings(study, t));
  return { arms, tasks, seeds: [...study.seeds] };
}

export const finishedRuns = (results: StudyResults): RunResult[] => results.runs.filter((r) => r.status === 'finished');

/** One seed's final value of a metric at `length` (finished runs of an (arm, task)). */
export interface SeedValue {
  readonly seed: number;
  readonly value: number | null;
  /** The run's last step where it trained past its task's steps (it was still moving there; see extension.ts). */
  readonly extendedTo?: number;
}

export function seedValues(
  results: StudyResults,
  arm: string,
  task: string,
  length: number,
  pick: MetricPick = charAcc,
): SeedValue[] {
  const spec = results.study.tasks.find((t) => t.name === task);
  const steps = spec ? taskSettings(results.study, spec).steps : Infinity;
  return finishedRuns(results)
    .filter((r) => r.arm === arm && r.task === task)
    .map((r) => {
      const m = r.final[String(length)];
      return {
        seed: r.seed,
        value: m ? pick(m) : null,
        ...(r.lastStep !== null && r.lastStep > steps && { extendedTo: r.lastStep }),
      };
    });
}

/** "s3", or "s3, 5750 steps" for a seed that trained past its task's steps. */
export const seedLabel = (s: Pick<SeedValue, 'seed' | 'extendedTo'>): string =>
  `s${s.seed}${s.extendedTo === undefined ? '' : `, ${s.extendedTo} steps`}`;

/** Mean and 95% CI over seeds of a final metric at `length`, over the finished runs of (arm, task). */
export function finalCell(
  results: StudyResults,
  arm: string,
  task: string,
  length: number,
  pick: MetricPick = charAcc,
): MeanCI {
  return meanCI(seedValues(results, arm, task, length, pick).map((s) => s.value));
}

/** "4/5 seeds >= 90%": finished seeds whose character accuracy at the training length reaches the study's `success`. */
export function successCount(
  results: StudyResults,
  arm: string,
  task: TaskSettings,
): { readonly hits: number; readonly n: number } {
  const xs = seedValues(results, arm, task.name, task.length).filter((s) => s.value !== null);
  return { hits: xs.filter((s) => s.value! >= results.study.success).length, n: xs.length };
}

/** One point of a seed-averaged curve (fractions). */
export interface SeriesPoint {
  readonly arm: string;
  readonly task: string;
  readonly x: number;
  readonly n: number;
  readonly mean: number;
  readonly lo?: number;
  readonly hi?: number;
}

const point = (arm: string, task: string, x: number, ci: MeanCI): SeriesPoint => ({
  arm,
  task,
  x,
  n: ci.n,
  mean: ci.mean,
  lo: ci.lo,
  hi: ci.hi,
});

/**
 * A metric at evaluation length `length` vs training step, averaged over the seeds of each (arm, task) that
 * reached the step (finished and unfinished runs alike).
 */
export function stepSeries(results: StudyResults, task: string, length: number, pick: MetricPick): SeriesPoint[] {
  return presentAxes(results).arms.flatMap((arm) => {
    const runs = results.runs.filter((r) => r.arm === arm.name && r.task === task);
    const steps = [...new Set(runs.flatMap((r) => r.curve.map((p) => p.step)))].sort((a, b) => a - b);
    return steps
      .map((step) =>
        point(
          arm.name,
          task,
          step,
          meanCI(
            runs.map((r) => {
              const m = r.curve.find((p) => p.step === step)?.evals[String(length)];
              return m ? pick(m) : null;
            }),
          ),
        ),
      )
      .filter((p) => p.n > 0);
  });
}

/** Final character accuracy vs evaluation length, averaged over seeds (finished runs). */
export function lengthSeries(results: StudyResults, task: TaskSettings): SeriesPoint[] {
  return presentAxes(results).arms.flatMap((arm) =>
    task.evalLengths
      .map((L) => point(arm.name, task.name, L, finalCell(results, arm.name, task.name, L)))
      .filter((p) => p.n > 0),
  );
}
