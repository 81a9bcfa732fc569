import { describe, expect, it } from 'vitest';
import { ConfigError } from '@tarm/core';
import {
  analyticParamCount,
  defineModelConfig,
  ladderTable,
  PAPER_RUNGS,
  RUNG_NAMES,
  solveBudget,
} from '../src/index.js';

describe('budget solver and accounting', () => {
  const paper = { dModel: 384, nHeads: 6, budget: 24 };

  it('gives every rung exactly 24 block passes at the paper configuration', () => {
    const rows = ladderTable(paper, 32);
    expect(rows.map((r) => r.model)).toEqual([...PAPER_RUNGS]);
    for (const r of rows) expect(r.blockPasses).toBe(24);
    const byName = Object.fromEntries(rows.map((r) => [r.model, r]));
    expect(byName['dense']!.steps).toBe(24);
    expect(byName['dual-ut']!.steps).toBe(12);
    expect([byName['dual-nested-ut']!.steps, byName['dual-nested-ut']!.H, byName['dual-nested-ut']!.L]).toEqual([
      4, 2, 2,
    ]);
    expect([byName['ar-trm']!.steps, byName['ar-trm']!.H, byName['ar-trm']!.L]).toEqual([4, 2, 2]);
  });

  it('counts ~42.6M parameters for dense and ~1.86M for every tied rung (within 1%)', () => {
    for (const model of RUNG_NAMES) {
      const n = analyticParamCount({ ...paper, model });
      const target = model === 'dense' ? 42.6e6 : 1.86e6;
      expect(Math.abs(n - target) / target, `${model}: ${n}`).toBeLessThan(0.01);
    }
  });

  it('falls back to smaller H, then L, for nested rungs and rejects impossible budgets', () => {
    expect(solveBudget(defineModelConfig({ model: 'ar-trm', budget: 9 }))).toMatchObject({ steps: 3, H: 1, L: 2 });
    expect(solveBudget(defineModelConfig({ model: 'ar-trm', budget: 4 }))).toMatchObject({ steps: 2, H: 1, L: 1 });
    expect(() => solveBudget(defineModelConfig({ model: 'dual-nested-ut', budget: 5 }))).toThrow(ConfigError);
    expect(() => solveBudget(defineModelConfig({ model: 'dual-ut', budget: 3 }))).toThrow(/budget/);
    expect(solveBudget(defineModelConfig({ model: 'ar-trm', budget: 12, outer: 3, inner: 1 }))).toMatchObject({
      steps: 2,
      H: 3,
      L: 1,
    });
  });

  it('charges backward FLOPs only for passes with gradient', () => {
    const rows = Object.fromEntries(ladderTable(paper, 32).map((r) => [r.model, r]));
    const perPass = 24 * 384 * 384 + 4 * 32 * 384;
    const head = 2 * 384 * 14;
    expect(rows['dense']!.fwdFlopsPerToken).toBe(24 * perPass + head);
    expect(rows['dense']!.bwdFlopsPerToken).toBe(2 * (24 * perPass + head));
    expect(rows['ar-trm']!.bwdFlopsPerToken).toBe(2 * (3 * perPass + head));
    expect(rows['dual-nested-ut']!.bwdFlopsPerToken).toBe(2 * (12 * perPass + head));
  });

  it('rejects bad configs naming the field and the allowed values', () => {
    expect(() => defineModelConfig({ model: 'nope' as 'dense' })).toThrow(/model.*"dense"/);
    expect(() => defineModelConfig({ dModel: 10, nHeads: 3 })).toThrow(/nHeads.*divisor of dModel/);
    expect(() => defineModelConfig({ budget: 0 })).toThrow(/budget.*>= 1/);
    expect(() => defineModelConfig({ bogus: 1 } as never)).toThrow(/bogus/);
  });
});
