import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stepsToReach, trainingOrder } from '../src/extension.js';
import { studyGrid } from '../src/grid.js';
import { loadStudy } from '../src/presets.js';
import { defineStudy } from '../src/schema.js';
import { tempDir } from './helpers.js';

// smoke: copy at L = 10, 20 steps, evaluation every 10; here copy may train on to 60 steps while still moving
const SMOKE = loadStudy({ preset: 'smoke' });
const STUDY = defineStudy({ ...SMOKE, tasks: [{ name: 'copy', maxSteps: 60 }] });
const RUN = studyGrid(STUDY)[0]!;

/** A run folder as `tarm train` leaves it: one evaluation (character accuracy at L = 10) every 10 steps. */
function writeRun(
  outDir: string,
  accs: readonly number[],
  opts: { finished?: boolean; asked?: number; checkpoint?: boolean } = {},
): void {
  const dir = join(outDir, 'runs', RUN.id);
  mkdirSync(join(dir, 'checkpoint'), { recursive: true });
  const last = 10 * accs.length;
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({ model: { model: 'dense' }, train: { task: 'copy', steps: opts.asked ?? last } }),
  );
  const m = (a: number) => ({
    '10': { charAcc: a, exactMatch: 0, firstCharAcc: a, lastCharAcc: a, quartiles: [a, a, a, a] },
  });
  writeFileSync(
    join(dir, 'metrics.jsonl'),
    accs.map((a, i) => JSON.stringify({ step: 10 * (i + 1), loss: 1, evals: m(a) })).join('\n') + '\n',
  );
  if (opts.finished !== false)
    writeFileSync(join(dir, 'summary.json'), JSON.stringify({ step: last, evals: m(accs.at(-1)!) }));
  if (opts.checkpoint) writeFileSync(join(dir, 'checkpoint', 'model.json'), '{}');
}

const reach = (accs: readonly number[], opts?: Parameters<typeof writeRun>[2], study = STUDY): number => {
  const out = tempDir();
  writeRun(out, accs, opts);
  return stepsToReach(study, RUN, out);
};

describe('stepsToReach: training on while a run is still moving', () => {
  it("a run short of its task's steps trains to them", () => {
    expect(stepsToReach(STUDY, RUN, tempDir())).toBe(20);
    expect(reach([0.3], { finished: false })).toBe(20);
  });

  it('a run whose last two evaluations differ by >= 2 points trains one evaluation interval more, either way', () => {
    expect(reach([0.3, 0.5])).toBe(30);
    expect(reach([0.5, 0.3])).toBe(30);
    expect(reach([0.3, 0.5, 0.7, 0.9])).toBe(50);
  });

  it('a run that settled is finished where it is', () => {
    expect(reach([0.95, 0.96])).toBe(20);
    expect(reach([0.3, 0.5, 0.96, 0.965])).toBe(40);
    // at chance, drifting by less than 2 points without a trend
    expect(reach([0.12, 0.1, 0.11, 0.115])).toBe(40);
  });

  it('a run below the success level whose late evaluations climb trains on, though its last two are within 2 points', () => {
    // +1.5 points per evaluation: every step within the plateau rule, the late slope's interval above 0
    const climbing = [0.2, 0.215, 0.23, 0.245];
    expect(reach(climbing)).toBe(50);
    // the same climb above the success level (0.9) has learned the task: finished
    expect(reach(climbing.map((a) => a + 0.75))).toBe(40);
  });

  it("stops at the task's maxSteps, moving or not", () => {
    expect(reach([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])).toBe(60);
    expect(reach([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7])).toBe(70); // a longer run than the cap is finished where it is
  });

  it('a task without maxSteps never extends', () => {
    expect(reach([0.3, 0.5], {}, SMOKE)).toBe(20);
  });

  it('an interrupted continuation (no summary, its config asking for more steps) goes on to the steps it was asked for', () => {
    expect(reach([0.3, 0.5, 0.6], { finished: false, asked: 40 })).toBe(40);
    // never past the cap, whatever the folder asks
    expect(reach([0.3, 0.5, 0.6], { finished: false, asked: 90 })).toBe(60);
  });

  it('a session trains the runs it can continue from a checkpoint first, then the others in grid order', () => {
    const study = defineStudy({ ...STUDY, seeds: [1, 2, 3] });
    const out = tempDir();
    const [a, b, c] = studyGrid(study);
    mkdirSync(join(out, 'runs', c!.id, 'checkpoint'), { recursive: true });
    writeFileSync(join(out, 'runs', c!.id, 'checkpoint', 'model.json'), '{}');
    expect(trainingOrder([a!, b!, c!], out).map((r) => r.id)).toEqual([c!.id, a!.id, b!.id]);
  });
});

describe('maxSteps in a study file', () => {
  it("is refused below the task's steps, naming the field", () => {
    expect(() => defineStudy({ ...SMOKE, tasks: [{ name: 'copy', maxSteps: 10 }] })).toThrow(
      /tasks\[0\]\.maxSteps: at least the task's steps \(20\); got 10/,
    );
  });

  it('steps given on the command line end the extension past them', () => {
    const cpu = loadStudy({ preset: 'cpu' }, { config: { steps: 40 } });
    expect(cpu.tasks.map((t) => t.maxSteps)).toEqual([undefined, undefined, undefined]);
    expect(loadStudy({ preset: 'cpu' }).tasks.map((t) => [t.steps, t.maxSteps])).toEqual([
      [5000, 7500],
      [1000, 3000],
      [1000, 3000],
    ]);
  });
});
