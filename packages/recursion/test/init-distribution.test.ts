import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '@tarm/core';
import { createModel, PAPER_RUNGS, type RungName } from '../src/index.js';

/**
 * The initialisation, as a distribution, pinned to what the authors' code does (github.com/pauliusrauba/
 * autoregressive-TRM: BaseLitGPT._init_weights, QHaltController, ACTController, the y_init/z_init parameters):
 * every linear weight, embedding table (token, position, step), y0, z0 and the ACT halting weight N(0, 0.02);
 * linear biases 0 (the ACT head's too); LayerNorm 1 / 0; TRM's q head w = 0, b = -5. Their lm_head also has a bias
 * (0 at init); our readout has none (docs/parity.md). The two sides compared draw by draw over 200 seeds:
 * docs/results/crosscheck/init.md (tools/crosscheck/init_compare.py).
 */
const SEEDS = 20;
const STD = 0.02;
const config = (model: RungName) => ({ model, dModel: 16, nHeads: 2, budget: 12, contextLength: 10, dropout: 0 });

/** Standard normal CDF (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7). */
function phi(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const erf =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-z * z);
  return x >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/** One-sample Kolmogorov-Smirnov statistic of `v` against N(0, std). */
function ksNormal(v: Float64Array, std: number): number {
  const s = Float64Array.from(v).sort();
  let d = 0;
  for (let i = 0; i < s.length; i++) {
    const f = phi(s[i]! / std);
    d = Math.max(d, f - i / s.length, (i + 1) / s.length - f);
  }
  return d;
}

/** Every seed's values of every parameter: name -> [seed][entry]. */
function draws(model: RungName): Map<string, { shape: number[]; seeds: Float32Array[] }> {
  const out = new Map<string, { shape: number[]; seeds: Float32Array[] }>();
  for (let seed = 1; seed <= SEEDS; seed++) {
    const m = createModel(config(model), seed);
    for (const name of m.params.names()) {
      const v = m.params.get(name);
      if (!out.has(name)) out.set(name, { shape: v.shape, seeds: [] });
      out.get(name)!.seeds.push(v.dataSync() as Float32Array);
    }
    m.dispose();
  }
  return out;
}

const CONSTANT: readonly [RegExp, number][] = [
  [/\.bias$/, 0], // linear biases, LayerNorm biases, the ACT head's bias ...
  [/ln\w*\.weight$/, 1], // LayerNorm gains
  [/^halt\.weight$/, 0], // TRM's q head: w = 0 ...
];
const constantOf = (name: string) => (name === 'halt.bias' ? -5 : CONSTANT.find(([re]) => re.test(name))?.[1]);

beforeAll(() => useBackend('cpu'));

describe('initialisation as a distribution (what the authors code does)', () => {
  for (const rung of PAPER_RUNGS) {
    it(`${rung}: weights and embeddings N(0, 0.02), biases 0, LayerNorm 1/0, halting heads as theirs`, () => {
      const d = draws(rung);
      const m = createModel(config(rung), 1);
      const { steps } = m.schedule;
      m.dispose();
      for (const [name, { shape, seeds }] of d) {
        const c = constantOf(name);
        if (c !== undefined) {
          for (const s of seeds)
            expect(
              s.every((x) => x === c),
              `${name} = ${c}`,
            ).toBe(true);
          continue;
        }
        const v = Float64Array.from(seeds.flatMap((s) => Array.from(s)));
        const n = v.length;
        const mean = v.reduce((a, x) => a + x, 0) / n;
        const sd = Math.sqrt(v.reduce((a, x) => a + (x - mean) ** 2, 0) / n);
        // four standard errors of N(0, 0.02) at n values; D below the KS test's 0.1% critical value
        expect(Math.abs(mean), `${name} mean`).toBeLessThan((4 * STD) / Math.sqrt(n));
        expect(Math.abs(sd - STD), `${name} sd ${sd}`).toBeLessThan((4 * STD) / Math.sqrt(2 * n));
        expect(ksNormal(v, STD), `${name} KS D (n = ${n})`).toBeLessThan(1.95 / Math.sqrt(n));
        // a fresh draw per seed
        expect(new Set(seeds.map((s) => s[0])).size, `${name} differs between seeds`).toBe(SEEDS);
        if (name === 'step.embedding') expect(shape).toEqual([steps, 16]);
      }
      const drawn = [...d].filter(([name]) => constantOf(name) === undefined);
      expect(new Set(drawn.map(([, { seeds }]) => seeds[0]![0])).size, 'every tensor its own draw').toBe(drawn.length);
      expect([...d.keys()]).not.toContain('head.out.bias'); // their lm_head has one (0 at init); ours does not
      if (rung === 'ut' || rung === 'dual-ut' || rung === 'dual-nested-ut') {
        expect(d.get('act.weight')!.shape).toEqual([16, 1]); // Graves' halting unit N(0, 0.02), bias 0: p ~ 0.5 at init
        expect(d.get('act.bias')!.seeds.every((s) => s[0] === 0)).toBe(true);
      }
      if (rung === 'ar-trm') expect(d.get('halt.bias')!.seeds.every((s) => s[0] === -5)).toBe(true);
    });
  }
});
