import { join } from 'node:path';
import { charAcc } from './aggregate.js';
import type { GridRun } from './grid.js';
import { isStillRising, lateWindow } from './plateau.js';
import { readRun, type RunResult } from './results.js';
import { RUN_FILES, hasCheckpoint, isFinished, numberField, readObject, runDir } from './run-folder.js';
import { taskSettings, type Study } from './schema.js';

/**
 * Whether a finished run is still moving at its training length: it fails the plateau rule (its last two
 * evaluations differ by >= PLATEAU_POINTS, either way), or it is below the study's `success` level and its late
 * evaluations climb (lateWindow). The same two tests the report marks as "still rising" and "late climb".
 */
export function isMoving(run: RunResult, length: number, success: number): boolean {
  if (isStillRising(run, length)) return true;
  const final = run.final[String(length)];
  const value = final ? charAcc(final) : null;
  return value !== null && value < success && lateWindow(run, length)?.climbing === true;
}

/**
 * The steps a run of a study must reach, its folder read as it is now ("train until plateau"):
 * - its task's `steps` until it has them;
 * - then, while it is still moving ({@link isMoving}) and short of the task's `maxSteps`, one evaluation interval
 *   more than it has (the runner continues it from its checkpoint, bit for bit the longer run);
 * - an interrupted continuation (no summary yet, its config.json asking for more than `steps`) to the steps it
 *   was continued to;
 * - otherwise the steps it has: it is finished.
 * A task without `maxSteps` never extends. Every run of a task follows the same rule, decided from its own
 * curve only, so a cell's seeds may end at different steps; the report says which did.
 */
export function stepsToReach(study: Study, run: GridRun, outDir: string): number {
  const t = taskSettings(
    study,
    study.tasks.find((x) => x.name === run.task)!,
  );
  if (t.maxSteps <= t.steps) return t.steps;
  const dir = runDir(outDir, run.id);
  if (!isFinished(dir, t.steps)) {
    const asked = numberField(readObject(join(dir, RUN_FILES.config)), ['steps'], ['train']);
    return asked !== undefined && asked > t.steps ? Math.min(asked, t.maxSteps) : t.steps;
  }
  const result = readRun(outDir, run, t.steps);
  const done = Math.max(t.steps, result.lastStep ?? t.steps); // a run is evaluated at its final step
  if (done >= t.maxSteps || !isMoving(result, t.length, study.success)) return done;
  return Math.min(done + study.config.evalEvery, t.maxSteps);
}

/**
 * The order in which a session trains its pending runs: those it can continue from a checkpoint first (an
 * interrupted run, a finished one extended past its steps), then the others in grid order. A session cut short
 * then leaves the fewest runs unfinished for the hour it had.
 */
export function trainingOrder<R extends GridRun>(pending: readonly R[], outDir: string): R[] {
  const resumable = pending.filter((r) => hasCheckpoint(runDir(outDir, r.id)));
  return [...resumable, ...pending.filter((r) => !resumable.includes(r))];
}
