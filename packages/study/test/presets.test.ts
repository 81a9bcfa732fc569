import { describe, expect, it } from 'vitest';
import { CPU_PRESET, MODEL_NAMES, PAPER_PRESET, PRESETS, SMOKE_PRESET, StudyPresetSchema, TASK_NAMES, definePreset, getPreset, resolveGrid, StudyError } from '../src/index.js';

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
    expect(PAPER_PRESET.models).toEqual([...MODEL_NAMES]);
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
    expect(() => getPreset('huge')).toThrow(/known: smoke, cpu, paper/);
  });

  it('definePreset rejects unknown keys, bad head counts and odd budgets with dual-ut', () => {
    const base = { ...structuredClone(SMOKE_PRESET), name: 'x' } as Parameters<typeof definePreset>[0];
    expect(() => definePreset({ ...base, extra: 1 } as never)).toThrow(StudyError);
    expect(() => definePreset({ ...base, config: { ...base.config, nHeads: 3 } })).toThrow(/nHeads/);
    expect(() => definePreset({ ...base, config: { ...base.config, budget: 3 } })).toThrow(/even/);
    expect(() => definePreset({ ...base, config: { ...base.config, evalLengths: [20] } })).toThrow(/training length/);
  });
});
