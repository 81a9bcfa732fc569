import { describe, expect, it } from 'vitest';
import { estimateSecondsLeft, type RunState } from '../src/grid.js';

const NOW = 1_000_000;

function run(
  arm: string,
  task: string,
  seed: number,
  status: RunState['status'],
  extra: Partial<RunState> = {},
): RunState {
  return { id: `${arm}-${task}-s${seed}`, arm, rung: arm, task, seed, status, steps: 100, resumed: false, ...extra };
}

describe('estimateSecondsLeft', () => {
  it('is undefined until something was measured', () => {
    expect(estimateSecondsLeft([run('dense', 'copy', 1, 'pending')], 1, NOW)).toBeUndefined();
  });

  it("uses earlier sessions' wall times when this session has measured nothing", () => {
    const runs = [run('dense', 'copy', 1, 'skipped', { wallSeconds: 200 }), run('dense', 'copy', 2, 'pending')];
    expect(estimateSecondsLeft(runs, 1, NOW)).toBeCloseTo(200); // 2 s a step x 100 steps
  });

  it("scales earlier sessions' times by this session's pace on the cells both measured", () => {
    const runs = [
      run('dense', 'addition', 1, 'skipped', { wallSeconds: 400 }), // 4 s a step earlier (a busier machine)
      run('dense', 'copy', 1, 'skipped', { wallSeconds: 200 }), // 2 s a step earlier
      run('dense', 'addition', 2, 'done', { wallSeconds: 100 }), // 1 s a step now: pace 0.25
      run('dense', 'copy', 2, 'pending'), // 2 x 0.25 x 100 = 50
      run('ut', 'copy', 2, 'pending'), // no ut cell: this session's finished runs, 1 x 100 = 100
    ];
    expect(estimateSecondsLeft(runs, 1, NOW)).toBeCloseTo(150);
    expect(estimateSecondsLeft(runs, 2, NOW)).toBeCloseTo(75);
  });

  it("prefers this session's runs of the same cell, and a running run's own rate", () => {
    const runs = [
      run('dense', 'copy', 1, 'skipped', { wallSeconds: 500 }),
      run('dense', 'copy', 2, 'done', { wallSeconds: 100 }), // 1 s a step now
      run('dense', 'copy', 3, 'running', { startedAt: NOW - 30_000, step: 60, firstStep: 0 }), // 0.5 s a step: 40 left -> 20
      run('dense', 'copy', 4, 'pending'), // 1 x 100
    ];
    expect(estimateSecondsLeft(runs, 1, NOW)).toBeCloseTo(120);
  });
});
