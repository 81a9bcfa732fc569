import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RUNG_NAMES, PAPER_RUNGS } from '@tarm/recursion';
import { TASK_NAMES } from '@tarm/tasks';
import { StudyError } from '../src/errors.js';
import { runConfig, studyGrid } from '../src/grid.js';
import { applyOverrides, loadStudy, PRESET_NAMES, presetPath, readStudyInput } from '../src/presets.js';
import { defineStudy, PAPER_DEFAULTS, studyJsonSchema } from '../src/schema.js';
import { mergeStudy, openStudyFile } from '../src/study-file.js';
import { tempDir } from './helpers.js';

const tiny = {
  name: 'tiny',
  arms: [
    { name: 'a', rung: 'dense' },
    { name: 'b', rung: 'ut' },
  ],
  tasks: [{ name: 'copy' }],
  seeds: [1, 2],
  config: { dModel: 16, nHeads: 2, budget: 2, steps: 4 },
};
const errorOf = (f: () => unknown): StudyError => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(StudyError);
    return e as StudyError;
  }
  throw new Error('no error');
};

describe('study files', () => {
  it('the shipped presets are valid study files; paper is the defaults, the ladder presets the seven rungs', () => {
    for (const p of PRESET_NAMES) expect(() => loadStudy({ preset: p }), p).not.toThrow();
    const paper = loadStudy({ preset: 'paper' });
    const { weightDecay: _w, temperature: _t, seed: _s, ...shared } = PAPER_DEFAULTS;
    expect(paper.config).toEqual(shared);
    expect(paper.arms.map((a) => a.rung)).toEqual([...PAPER_RUNGS]);
    expect(paper.tasks.map((t) => t.name)).toEqual(['addition', 'copy', 'reverse']);
    expect(studyGrid(paper)).toHaveLength(21);
    // cpu: the seven rungs and trm-faithful x 3 tasks x 5 seeds, addition at its own length and steps
    const cpu = loadStudy({ preset: 'cpu' });
    expect(cpu.arms.map((a) => a.rung)).toEqual([...PAPER_RUNGS, 'trm-faithful']);
    expect(studyGrid(cpu)).toHaveLength(120);
    expect(cpu.config.budget).toBeGreaterThanOrEqual(12);
    expect(Object.isFrozen(paper.config)).toBe(true);
  });

  it('the attribution preset: ar-trm with one fix per arm, compared with the paper arm', () => {
    const s = loadStudy({ preset: 'attribution' });
    expect(s.arms.map((a) => a.name)).toEqual([
      'paper',
      'deep-supervision',
      'halt-loss',
      'grad-all',
      'ema',
      'all',
      'paper-sampled',
      'all-sampled',
    ]);
    expect(s.compare).toContainEqual({ arm: 'all-sampled', vs: 'all' });
    expect(s.compare.filter((c) => c.vs === 'paper')).toHaveLength(6);
    // each arm's settings go into its runs' resolved configuration; an arm's decode replaces the study's
    const all = runConfig(
      studyGrid(s).find((r) => r.arm === 'all-sampled')!,
      s,
      'node',
    );
    expect(s.config.decode).toBe('greedy');
    expect(all.eval.decode).toBe('sample');
    expect(all.model).toMatchObject({ model: 'trm-faithful', deepSupervision: 0, haltLoss: true, gradCycles: 'all' });
    expect(all.train.optimizer.ema).toBeUndefined(); // the rung's default (trm-faithful: 0.999) is the trainer's
    const ds = runConfig(
      studyGrid(s).find((r) => r.arm === 'deep-supervision')!,
      s,
      'node',
    );
    expect(ds.model).toMatchObject({ model: 'ar-trm', deepSupervision: 0, haltLoss: false, gradCycles: 'last' });
    expect(ds.eval.decode).toBe('greedy');
    expect(
      runConfig(
        studyGrid(s).find((r) => r.arm === 'ema')!,
        s,
        'node',
      ).train.optimizer.ema,
    ).toBe(0.999);
    expect(Object.isFrozen(ds.model)).toBe(true);
  });

  it('an arm may define a new rung as switches over a named one; a combination the ladder cannot run is refused', () => {
    const s = defineStudy({
      ...tiny,
      arms: [{ name: 'dual-ut-binary', rung: 'dual-ut', switches: { halting: 'binary' } }],
      config: { ...tiny.config, budget: 4 },
    });
    const c = runConfig(studyGrid(s)[0]!, s, 'cpu');
    expect(c.model.switches).toEqual({ halting: 'binary' });
    const bad = errorOf(() =>
      defineStudy({ ...tiny, arms: [{ name: 'x', rung: 'dense', switches: { readout: 'act-weighted' } }] }, 'my.json'),
    );
    expect(bad.field).toBe('arms[0].switches.readout');
    expect(bad.message).toMatch(/^my\.json: arms\[0\]\.switches\.readout: arm x \(dense\): .*act/);
    expect(
      errorOf(() => defineStudy({ ...tiny, arms: [{ name: 'x', rung: 'dense', switches: { halting: 'sometimes' } }] }))
        .field,
    ).toBe('arms[0].switches.halting');
  });

  it('config.log passes --log to every run (TensorBoard event files in each run folder)', () => {
    const s = loadStudy({ preset: 'smoke' }, { config: { log: 'tensorboard' } });
    for (const run of studyGrid(s)) expect(runConfig(run, s, 'wasm').log).toBe('tensorboard');
    const plain = loadStudy({ preset: 'smoke' });
    expect(runConfig(studyGrid(plain)[0]!, plain, 'wasm')).not.toHaveProperty('log');
  });

  it('names come from their packages: rungs from @tarm/recursion, tasks from @tarm/tasks', () => {
    const schema = JSON.stringify(studyJsonSchema());
    expect(schema).toContain(JSON.stringify([...RUNG_NAMES]));
    expect(schema).toContain(JSON.stringify([...TASK_NAMES]));
  });

  it('study.schema.json is the JSON Schema generated from the zod schema', () => {
    const shipped = JSON.parse(readFileSync(new URL('../study.schema.json', import.meta.url), 'utf8'));
    expect(shipped).toEqual(studyJsonSchema());
    expect(JSON.parse(readFileSync(presetPath('smoke'), 'utf8')).$schema).toBe('../study.schema.json');
  });

  it('one clear error naming the field: unknown keys, rungs, tasks, a budget an arm cannot split', () => {
    expect(
      errorOf(() => defineStudy({ ...tiny, arms: [{ name: 'a', rung: 'dense', ema2: 0.9 }] }, 'my.json')).message,
    ).toBe('my.json: arms[0].ema2: unknown key (remove it; see study.schema.json)');
    expect(errorOf(() => defineStudy({ ...tiny, extra: 1 }, 'my.json')).field).toBe('extra');
    expect(errorOf(() => defineStudy({ ...tiny, arms: [{ name: 'a', rung: 'gpt' }] }, 'my.json')).message).toMatch(
      /^my\.json: arms\[0\]\.rung: got "gpt"; allowed: "dense", .*"trm-faithful"$/,
    );
    expect(errorOf(() => defineStudy({ ...tiny, tasks: [{ name: 'sort' }] }, 'my.json')).message).toMatch(
      /^my\.json: tasks\[0\]\.name: got "sort"; allowed: "copy", "reverse", "addition"$/,
    );
    const odd = errorOf(() =>
      defineStudy(
        { ...tiny, arms: [{ name: 'd', rung: 'dual-ut' }], config: { ...tiny.config, budget: 3 } },
        'my.json',
      ),
    );
    expect(odd.field).toBe('config.budget');
    expect(odd.message).toMatch(/arm d \(dual-ut\): an even number for dual-ut/);
    expect(
      errorOf(() =>
        defineStudy({
          ...tiny,
          arms: [{ name: 'n', rung: 'ar-trm', deepSupervision: 3 }],
          config: { ...tiny.config, budget: 12 },
        }),
      ).field,
    ).toBe('arms[0].deepSupervision');
    expect(errorOf(() => defineStudy({ ...tiny, compare: [{ arm: 'a', vs: 'z' }] })).field).toBe('compare[0].vs');
    expect(errorOf(() => defineStudy({ ...tiny, arms: [tiny.arms[0], tiny.arms[0]] })).field).toBe('arms[1].name');
    expect(errorOf(() => defineStudy({ ...tiny, tasks: [{ name: 'copy', length: 12 }] })).field).toBe(
      'config.evalLengths',
    );
    expect(errorOf(() => readStudyInput(join(tempDir(), 'none.json'))).message).toMatch(/no such study file/);
  });

  it('each task may set its own length, steps and evaluation lengths', () => {
    const s = defineStudy({
      ...tiny,
      tasks: [{ name: 'copy' }, { name: 'addition', length: 4, steps: 9, evalLengths: [4, 6] }],
    });
    const config = (task: string) =>
      runConfig(
        studyGrid(s).find((r) => r.task === task)!,
        s,
        'wasm',
      );
    expect(config('addition').train).toMatchObject({ length: 4, steps: 9 });
    expect(config('addition').eval.lengths).toEqual([4, 6]);
    expect(config('copy').train).toMatchObject({ length: 10, steps: 4 });
    expect(config('copy').eval.lengths).toEqual(PAPER_DEFAULTS.evalLengths);
  });

  it("flags override file fields: a shared setting replaces every task's own", () => {
    const input = { ...tiny, tasks: [{ name: 'copy', steps: 7 }] };
    const s = defineStudy(
      applyOverrides(input, {
        config: { steps: 400, lr: undefined },
        seeds: [1, 2, 3, 3],
        arms: ['b'],
        tasks: ['copy', 'reverse'],
      }),
    );
    expect(s.config.steps).toBe(400);
    expect(s.tasks).toEqual([{ name: 'copy' }, { name: 'reverse' }]);
    expect(s.seeds).toEqual([1, 2, 3]);
    expect(s.arms.map((a) => a.name)).toEqual(['b']);
    expect(input.tasks[0]!.steps).toBe(7); // the input is not changed
    expect(errorOf(() => applyOverrides(input, { arms: ['zz'] })).message).toMatch(
      /--arms: unknown arm "zz"; this study's arms: a, b/,
    );
    expect(loadStudy({ preset: 'attribution' }, { tasks: ['copy'] }).tasks).toEqual([{ name: 'copy' }]);
  });

  it('a changed file in an existing folder is refused, naming the fields that differ; new seeds and arms grow it', () => {
    const dir = tempDir();
    const session = { startedAt: 'now', wallSeconds: 0, backend: 'wasm' as const, workers: 1, threads: 1 };
    openStudyFile(dir, defineStudy(tiny), session);
    const steps = errorOf(() =>
      openStudyFile(dir, defineStudy({ ...tiny, config: { ...tiny.config, steps: 5 } }), session),
    );
    expect(steps.message).toMatch(
      /was made with another study file: config\.steps: 4 -> 5 \(more steps continue a study with a local `tarm study`, not through a queue\)\./,
    );
    expect(steps.field).toBe('config.steps');
    const arm = errorOf(() =>
      openStudyFile(dir, defineStudy({ ...tiny, arms: [{ name: 'a', rung: 'iterative' }] }), session),
    );
    expect(arm.message).toMatch(/arms\.a\.rung: "dense" -> "iterative"/);
    const grown = openStudyFile(
      dir,
      defineStudy({ ...tiny, arms: [{ name: 'c', rung: 'dense', label: 'C' }], seeds: [3] }),
      session,
    );
    expect(grown.study.arms.map((a) => a.name)).toEqual(['a', 'b', 'c']);
    expect(grown.study.seeds).toEqual([1, 2, 3]);
    expect(grown.sessions).toHaveLength(2);
    // wording is not part of a run: a new label is taken
    expect(
      mergeStudy(grown.study, defineStudy({ ...tiny, arms: [{ name: 'a', rung: 'dense', label: 'A!' }] }), 'x').arms[0]!
        .label,
    ).toBe('A!');
    // the local runner lets steps grow (its runs are continued), never shrink
    expect(
      openStudyFile(dir, defineStudy({ ...tiny, config: { ...tiny.config, steps: 5 } }), session, { growSteps: true })
        .study.config.steps,
    ).toBe(5);
    const fewer = errorOf(() =>
      openStudyFile(dir, defineStudy({ ...tiny, config: { ...tiny.config, steps: 3 } }), session, { growSteps: true }),
    );
    expect(fewer.message).toMatch(/config\.steps: 5 -> 3\. Rerun/);
    // a task's own steps grow the same way, and the folder records the new number
    const withTask = { ...tiny, config: { ...tiny.config, steps: 5 } };
    const longerTask = openStudyFile(
      dir,
      defineStudy({ ...withTask, tasks: withTask.tasks.map((t) => ({ ...t, steps: 9 })) }),
      session,
      { growSteps: true },
    );
    expect(longerTask.study.tasks.map((t) => t.steps)).toEqual(withTask.tasks.map(() => 9));
  });
});
