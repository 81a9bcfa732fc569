import { describe, expect, it } from 'vitest';
import { ATTRIBUTION_PRESET, CPU_PRESET, MODEL_NAMES, PAPER_MODEL_NAMES, PAPER_PRESET, PRESETS, SMOKE_PRESET, StudyPresetSchema, TASK_NAMES, definePreset, getPreset, resolveGrid, StudyError } from '../src/index.js';

/** CPU_PRESET as JSON at commit c0f79e8, identical to the preset in the running studies/cpu/study.json. */
const CPU_JSON =
  `{"name":"cpu","description":"The ladder at CPU scale: C 64, 4 heads, budget 6, 200 steps, 3 seeds, greedy evaluation.","models":["dense","iterative","iterative-step","ut","dual-ut","dual-nested-ut","ar-trm"],"tasks":["addition","copy","reverse"],"seeds":[1337,1,2],"config":{"length":10,"evalLengths":[10,15],"budget":6,"dModel":64,"nHeads":4,"steps":200,"batch":32,"lr":0.001,"dropout":0,"decode":"greedy","evalEvery":50,"evalN":50},"notes":["width C 64 instead of 384 and 4 heads instead of 6 (head size 16 instead of 64): CPU time","budget 6 block passes instead of 24: still divides for every rung (dual-ut 3 steps of 2; nested rungs 1 step of H = 2, L = 2), but the nested models get a single step","200 training steps instead of 5000, batch 32 instead of 64: 2% of the paper's training tokens","learning rate 1e-3 instead of 3e-4: to learn something in fewer steps","dropout 0 instead of 0.1: short runs on an endless stream of fresh examples do not overfit","evaluation lengths 10 and 15 instead of 10..50, every 50 steps instead of 250, on 50 problems instead of 100","greedy decoding instead of sampling at temperature 1: removes sampling noise from the accuracy","3 seeds (1337, 1, 2) instead of 1: mean and 95% confidence interval over seeds"]}`;

describe('presets', () => {
  it('are valid against the schema and deeply frozen', () => {
    for (const p of Object.values(PRESETS)) {
      expect(StudyPresetSchema.safeParse(p).success).toBe(true);
      expect(Object.isFrozen(p)).toBe(true);
      expect(Object.isFrozen(p.config)).toBe(true);
      expect(Object.isFrozen(p.models)).toBe(true);
      expect(Object.isFrozen(p.notes)).toBe(true);
      expect(() => {
        (p.config as { steps: number }).steps = 1;
      }).toThrow(TypeError);
    }
  });

  it('paper is exactly the published configuration', () => {
    expect(PAPER_PRESET.config).toEqual({
      length: 10,
      evalLengths: [10, 20, 30, 40, 50],
      budget: 24,
      dModel: 384,
      nHeads: 6,
      steps: 5000,
      batch: 64,
      lr: 3e-4,
      dropout: 0.1,
      decode: 'sample',
      evalEvery: 250,
      evalN: 100,
    });
    expect(PAPER_PRESET.seeds).toEqual([1337]);
    expect(PAPER_PRESET.models).toEqual(['dense', 'iterative', 'iterative-step', 'ut', 'dual-ut', 'dual-nested-ut', 'ar-trm']);
    expect(PAPER_PRESET.models).toEqual([...PAPER_MODEL_NAMES]);
    expect(PAPER_PRESET.tasks).toEqual([...TASK_NAMES]);
    expect(resolveGrid(PAPER_PRESET)).toHaveLength(21);
    expect(PAPER_PRESET.notes).toEqual([]);
  });

  it('cpu keeps the ladder and says what it changed', () => {
    expect(resolveGrid(CPU_PRESET)).toHaveLength(63);
    expect(CPU_PRESET.config.budget % 6).toBe(0);
    expect(CPU_PRESET.notes.length).toBeGreaterThan(3);
    expect(CPU_PRESET.config.decode).toBe('greedy');
  });

  it('cpu: the preset object serialises exactly as the cpu studies already running recorded it in study.json', () => {
    // A cpu study resumed with this code compares its study.json with this preset: it must not change.
    expect(JSON.stringify(CPU_PRESET)).toBe(CPU_JSON);
    expect(CPU_PRESET.models).toEqual([...PAPER_MODEL_NAMES]);
  });

  it('models: the seven rungs of the paper, then trm-faithful (not in the paper presets)', () => {
    expect(MODEL_NAMES).toEqual([...PAPER_MODEL_NAMES, 'trm-faithful']);
    for (const p of [PAPER_PRESET, CPU_PRESET, SMOKE_PRESET]) expect(p.models).not.toContain('trm-faithful');
    expect(ATTRIBUTION_PRESET.models).toEqual(['ar-trm', 'trm-faithful']);
    expect(resolveGrid(CPU_PRESET, { models: ['trm-faithful'], tasks: ['addition'], seeds: [1] }).map((r) => r.id)).toEqual(['trm-faithful-addition-s1']);
  });

  it('smoke grid: dense and dual-ut on copy, one seed, in run-id order', () => {
    expect(resolveGrid(SMOKE_PRESET)).toEqual([
      { id: 'dense-copy-s1337', model: 'dense', task: 'copy', seed: 1337 },
      { id: 'dual-ut-copy-s1337', model: 'dual-ut', task: 'copy', seed: 1337 },
    ]);
    expect(SMOKE_PRESET.config).toMatchObject({ dModel: 32, nHeads: 2, budget: 2, steps: 20, batch: 16, evalEvery: 10, evalN: 10, evalLengths: [10] });
  });

  it('filters replace the grid axes and reject unknown names', () => {
    const g = resolveGrid(CPU_PRESET, { models: ['ut', 'dense'], tasks: ['copy'], seeds: [5, 6] });
    expect(g.map((r) => r.id)).toEqual(['ut-copy-s5', 'dense-copy-s5', 'ut-copy-s6', 'dense-copy-s6']);
    expect(() => resolveGrid(CPU_PRESET, { models: ['gpt'] })).toThrow(/unknown model "gpt"; known: dense/);
    expect(() => resolveGrid(CPU_PRESET, { tasks: ['sort'] })).toThrow(StudyError);
    expect(() => resolveGrid(CPU_PRESET, { seeds: [-1] })).toThrow(/seed/);
    expect(() => getPreset('huge')).toThrow(/known: smoke, cpu, paper, attribution/);
  });

  it('definePreset rejects unknown keys, bad head counts and odd budgets with dual-ut', () => {
    const base = { ...structuredClone(SMOKE_PRESET), name: 'x' } as Parameters<typeof definePreset>[0];
    expect(() => definePreset({ ...base, extra: 1 } as never)).toThrow(StudyError);
    expect(() => definePreset({ ...base, config: { ...base.config, nHeads: 3 } })).toThrow(/nHeads/);
    expect(() => definePreset({ ...base, config: { ...base.config, budget: 3 } })).toThrow(/even/);
    expect(() => definePreset({ ...base, config: { ...base.config, evalLengths: [20] } })).toThrow(/training length/);
  });
});
