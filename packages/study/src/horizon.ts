import { taskSettings } from './schema.js';
import type { RunResult, StudyResults } from './results.js';

/**
 * The study as the paper's fixed-steps protocol sees it (matched compute): every run cut at its task's `steps`.
 * A run extended past them (train until plateau) keeps only the evaluations up to there, and its final metrics
 * are its evaluation at `steps`; a run that has not reached `steps` is not finished in this view. Claims read
 * this view only; the "to convergence" view is the results as collected.
 */
/** Each task's `steps`: the step every arm of the study is read at. */
const horizonSteps = (results: StudyResults) =>
  new Map(results.study.tasks.map((t) => [t.name, taskSettings(results.study, t).steps]));

export function atHorizon(results: StudyResults): StudyResults {
  const horizon = horizonSteps(results);
  const runs = results.runs.map((r): RunResult => {
    const steps = horizon.get(r.task);
    if (steps === undefined || r.lastStep === null || r.lastStep <= steps) return r;
    const curve = r.curve.filter((p) => p.step <= steps);
    const last = curve[curve.length - 1];
    const reached = last?.step === steps;
    return {
      ...r,
      curve,
      lastStep: last?.step ?? null,
      final: last?.evals ?? {},
      status: reached ? r.status : 'incomplete',
    };
  });
  return { ...results, runs };
}

/** Whether any run trained past its task's steps (so the "to convergence" view differs from the matched one). */
export function hasExtendedRuns(results: StudyResults): boolean {
  const horizon = horizonSteps(results);
  return results.runs.some((r) => r.lastStep !== null && r.lastStep > (horizon.get(r.task) ?? Infinity));
}
