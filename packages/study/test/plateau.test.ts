import { describe, expect, it } from 'vitest';
import { isStillRising, lastChange, lateWindow } from '../src/plateau.js';
import type { Metrics, RunResult } from '../src/results.js';

const metrics = (acc: number): Metrics => ({
  charAcc: acc,
  exactMatch: null,
  firstCharAcc: acc,
  lastCharAcc: acc,
  quartiles: [acc, acc, acc, acc],
});

/** A run whose character accuracy (%) at length L is `pcts`, one evaluation every 250 steps. */
function real(task: 'addition' | 'copy', pcts: number[]): RunResult {
  const L = task === 'addition' ? '4' : '10';
  const curve = pcts.map((p, i) => ({
    step: 250 * (i + 1),
    loss: 1,
    wallSeconds: 1,
    evals: { [L]: metrics(p / 100) },
  }));
  return {
    id: `ar-trm-${task}-s1`,
    arm: 'ar-trm',
    rung: 'ar-trm',
    task,
    seed: 1,
    status: 'finished',
    backend: 'node',
    config: null,
    params: 1,
    blockPasses: 12,
    tokensPerSecond: 1,
    wallSeconds: 1,
    lastStep: curve.at(-1)!.step,
    final: curve.at(-1)!.evals,
    curve,
  };
}

describe('the plateau rule (the "to convergence" view)', () => {
  it('reads the last two evaluations', () => {
    expect(lastChange(real('addition', [50, 88, 90]), 4)).toBeCloseTo(0.02);
    expect(isStillRising(real('addition', [50, 88, 90]), 4)).toBe(true);
    expect(isStillRising(real('addition', [50, 88.1, 90]), 4)).toBe(false);
  });

  it('lateWindow on curves of the cpu study: drift at chance is not a climb, a run leaving chance is', () => {
    // character accuracy (%) every 250 steps of real runs (docs/results/cpu, addition: 5000 steps, copy: 1000)
    const arTrmS1 = real('addition', [21, 20, 21, 21, 19, 3, 15, 10, 15, 20, 19, 17, 18, 18, 20, 16, 17, 15, 16, 21]);
    expect(isStillRising(arTrmS1, 4)).toBe(true); // +5 at the last evaluation: the last-two rule flags it
    const w = lateWindow(arTrmS1, 4)!;
    expect(w.steps).toEqual([2750, 3000, 3250, 3500, 3750, 4000, 4250, 4500, 4750, 5000]);
    expect(w.max).toBeCloseTo(0.21);
    expect(w.climbing).toBe(false);
    const faithfulS1 = real(
      'addition',
      [22, 20, 23, 25, 24, 32, 36, 37, 32, 36, 36, 51, 58, 68, 79, 86, 91, 96, 94, 98],
    );
    expect(lateWindow(faithfulS1, 4)!.climbing).toBe(true);
    const nestedCopy = real('copy', [14, 15, 18, 22]); // dual-nested-ut copy s1337: four evaluations, all read
    expect(lateWindow(nestedCopy, 10)!.steps).toEqual([250, 500, 750, 1000]);
    expect(lateWindow(nestedCopy, 10)!.climbing).toBe(true);
    expect(lateWindow(real('copy', [11, 18, 20, 16]), 10)!.climbing).toBe(false); // ar-trm reverse s1337
  });
});
