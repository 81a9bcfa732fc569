/**
 * Incremental decoding with a KV cache (one slot per block pass): for every rung, the logits of a prefill plus
 * token-by-token (or uneven-chunk) appends equal the full forward pass's logits at every position, with halting
 * active mid-budget (ACT positions halting at different steps; ar-trm sequences / positions halting early).
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { describeOnBackends, expectNoLeaks } from '@tarm/test-utils/vitest';
import { causalMask } from '@tarm/layers/internal';
import { decodeAnswers } from '@tarm/tasks';
import { RUNGS, type LadderModel, type ModelConfigInput, type RungName } from '../src/index.js';
import { build, randomIds } from './helpers.js';

const TOL = 1e-5;
const [B, T] = [4, 14];

/** The variants checked: every rung, and ar-trm with its halting head read per position (haltLoss). */
const CASES: [string, RungName, Partial<ModelConfigInput>][] = [
  ['dense', 'dense', {}],
  ['iterative', 'iterative', {}],
  ['iterative-step', 'iterative-step', {}],
  ['ut', 'ut', {}],
  ['dual-ut', 'dual-ut', {}],
  ['dual-nested-ut', 'dual-nested-ut', {}],
  ['ar-trm (per-sequence halting)', 'ar-trm', {}],
  ['ar-trm with haltLoss (per-position halting)', 'ar-trm', { haltLoss: true }],
  ['trm-faithful', 'trm-faithful', {}],
];

/** dModel 16, 2 heads; budget 12 (nested rungs 18: 3 steps of H = 2 cycles of L = 2 z-updates and a y-update). */
function small(model: RungName, extra: Partial<ModelConfigInput> = {}): ModelConfigInput {
  return {
    model,
    vocabSize: 14,
    contextLength: 24,
    dModel: 16,
    nHeads: 2,
    budget: RUNGS[model].nested ? 18 : 12,
    dropout: 0.1,
    ...extra,
  };
}

/**
 * A model whose halting happens mid-budget: weights perturbed away from the tiny init (so states differ between
 * positions), then the ACT unit / halting head aimed so that about half the halting units (positions; sequences for
 * ar-trm's position-0 head) halt after the first step and the others later. The states grow from step to step,
 * so the head reads a random direction, signed so that its projection grows, with the bias at the median first-step
 * projection (ACT: offset by 14, where sigmoid reaches the 1 - 1e-6 threshold). Same model for a seed.
 */
function halting(model: RungName, extra: Partial<ModelConfigInput> = {}, seed = 7): LadderModel {
  const m = build(small(model, extra), seed);
  let i = 0;
  for (const [name, v] of m.params.entries()) {
    if (!name.startsWith('act.') && !name.startsWith('halt.'))
      tf.tidy(() => v.assign(tf.add(v, tf.randomNormal(v.shape, 0, 0.2, 'float32', 100 + i++))));
  }
  const unit = m.p.act ?? m.p.halt;
  if (!unit) return m;
  const C = m.config.dModel;
  const probe = tf.tensor2d(randomIds(B, T, 3), [B, T], 'int32');
  tf.tidy(() => unit.weight.assign(tf.randomNormal([C, 1], 0, 1, 'float32', 11)));
  let proj: number[] = [];
  const lastPassOfStep0 = m.schedule.passesPerStep - 1; // its output is h (single stream) or y
  tf.tidy(() => {
    m.forward(probe, {
      earlyExit: false,
      onPass: (info, h) =>
        void (
          info.index === lastPassOfStep0 &&
          (proj = Array.from(tf.matMul(tf.reshape(h, [B * T, C]), unit.weight).dataSync()))
        ),
    });
  });
  probe.dispose();
  const units = m.p.halt && !m.config.haltLoss ? proj.filter((_, r) => r % T === 0) : proj; // position 0 per sequence
  const sorted = [...units].sort((a, b) => a - b);
  const median = (sorted[(sorted.length - 1) >> 1]! + sorted[sorted.length >> 1]!) / 2;
  const sign = median < 0 ? -1 : 1;
  tf.tidy(() => unit.weight.assign(tf.mul(unit.weight, sign)));
  tf.tidy(() => unit.bias.assign(tf.fill([1], (m.p.act ? 14 : 0) - Math.abs(median))));
  return m;
}

/** Logits of the cached forward pass over `ids` fed in chunks of the given sizes, concatenated: [B, T, V]. */
function cachedLogits(m: LadderModel, ids: tf.Tensor2D, chunks: readonly number[], steps?: number): tf.Tensor3D {
  const cache = m.createCache(ids.shape[0], { steps });
  try {
    const parts: tf.Tensor3D[] = [];
    let t = 0;
    for (const n of chunks) {
      parts.push(tf.tidy(() => m.forward(tf.slice(ids, [0, t], [-1, n]) as tf.Tensor2D, { cache }).logits));
      t += n;
      expect(cache.length).toBe(t);
    }
    const all = tf.concat(parts, 1) as tf.Tensor3D;
    tf.dispose(parts);
    return all;
  } finally {
    cache.dispose();
  }
}

const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
const prefillThenTokens = (P: number, total: number) => [P, ...Array.from({ length: total - P }, () => 1)];

describeOnBackends('cached logits', () => {
  describe.each(CASES)('%s: cached logits equal the full forward pass', (_label, rung, extra) => {
    it('halting happens mid-budget in this model (so the check covers early halting)', () => {
      const m = halting(rung, extra);
      const ids = tf.tensor2d(randomIds(B, T, 3), [B, T], 'int32');
      const r = m.forward(ids, {});
      if (r.stepsPerPosition) {
        const perPos = r.stepsPerPosition.dataSync();
        const lo = Math.min(...perPos);
        const hi = Math.max(...perPos);
        // some units halt before the last step, and not all at the same one
        expect(lo, `steps per position ${Array.from(perPos)}`).toBeLessThan(m.schedule.steps);
        expect(hi, `steps per position ${Array.from(perPos)}`).toBeGreaterThan(lo);
        if (rung !== 'ut') expect(r.stepsRun, 'the full pass stops early').toBeLessThan(m.schedule.steps);
      }
      tf.dispose(
        [ids, r.logits, r.ponderCost, r.stepsPerPosition, r.carry?.y, r.carry?.z, r.haltLogits].filter(
          (t) => t !== undefined,
        ) as tf.Tensor[],
      );
      m.dispose();
    });

    it.each([
      ['prefill 5, then one token at a time', prefillThenTokens(5, T)],
      ['one token at a time from the first', prefillThenTokens(1, T)],
      ['uneven chunks 3, 1, 4, 2, 4', [3, 1, 4, 2, 4]],
    ])('%s', (_name, chunks) => {
      const m = halting(rung, extra);
      const ids = tf.tensor2d(randomIds(B, T, 3), [B, T], 'int32');
      const full = m.logits(ids);
      causalMask(chunks[0]!); // the prefill uses the shared causal mask, kept on purpose: create it before counting
      const cached = expectNoLeaks(() => cachedLogits(m, ids, chunks), 1); // only the result: the cache is disposed
      expect(cached.shape).toEqual(full.shape);
      expect(maxDiff(cached, full)).toBeLessThan(TOL);
      tf.dispose([ids, full, cached]);
      m.dispose();
    });
  });
});

describeOnBackends('KV cache details', () => {
  it('refuses a cache whose slots disagree with its length (as a failed append leaves it)', () => {
    const m = halting('dense');
    const ids = tf.tensor2d(randomIds(B, T, 3), [B, T], 'int32');
    const cache = m.createCache(B);
    tf.tidy(() => m.forward(tf.slice(ids, [0, 0], [-1, 6]) as tf.Tensor2D, { cache }).logits);
    cache.length = 5; // the slots hold 6 positions
    expect(() => m.forward(tf.slice(ids, [0, 6], [-1, 1]) as tf.Tensor2D, { cache })).toThrow(/inconsistent/);
    cache.dispose();
    ids.dispose();
    m.dispose();
  });

  it('test-time steps: a cache created with { steps } equals forward with the same steps', () => {
    for (const rung of ['ut', 'ar-trm'] as const) {
      const m = halting(rung);
      const ids = tf.tensor2d(randomIds(B, T, 4), [B, T], 'int32');
      const steps = m.schedule.steps + 2;
      const full = tf.tidy(() => m.forward(ids, { steps }).logits);
      const cached = cachedLogits(m, ids, prefillThenTokens(6, T), steps);
      expect(maxDiff(cached, full)).toBeLessThan(TOL);
      expect(() => m.createCache(B, { steps }).dispose()).not.toThrow();
      const c = m.createCache(B, { steps });
      expect(() => m.forward(ids, { cache: c, steps: steps + 1 })).toThrow(/create it with \{ steps/);
      c.dispose();
      tf.dispose([ids, full, cached]);
      m.dispose();
    }
  });

  it('ar-trm: the halting steps decided at prefill are reused and later tokens run only up to the last one', () => {
    const m = halting('ar-trm');
    const ids = tf.tensor2d(randomIds(B, T, 3), [B, T], 'int32');
    const full = m.forward(ids, {});
    const cache = m.createCache(B);
    const pre = m.forward(tf.slice(ids, [0, 0], [-1, 5]) as tf.Tensor2D, { cache });
    expect(cache.haltSteps).toBe(full.stepsRun);
    expect(Array.from(cache.haltedAt!.dataSync())).toEqual(
      Array.from(tf.tidy(() => tf.slice(full.stepsPerPosition!, [0, 0], [-1, 1]).dataSync())),
    );
    const next = m.forward(tf.slice(ids, [0, 5], [-1, 1]) as tf.Tensor2D, { cache });
    expect(next.stepsRun).toBe(full.stepsRun);
    expect(next.passesRun).toBe(full.passesRun);
    cache.dispose();
    expect(cache.haltedAt).toBeUndefined();
    for (const r of [full, pre, next]) tf.dispose([r.logits, r.stepsPerPosition!, r.carry!.y, r.carry!.z]);
    ids.dispose();
    m.dispose();
  });

  it('ACT rungs run every step with a cache (the full pass may stop early)', () => {
    const m = halting('ut');
    const ids = tf.tensor2d(randomIds(B, T, 3), [B, T], 'int32');
    const full = m.forward(ids, {});
    const cache = m.createCache(B);
    const r = m.forward(ids, { cache });
    expect(r.stepsRun).toBe(m.schedule.steps);
    expect(full.stepsRun).toBeLessThanOrEqual(m.schedule.steps);
    tf.dispose([
      full.logits,
      full.ponderCost!,
      full.stepsPerPosition!,
      r.logits,
      r.ponderCost!,
      r.stepsPerPosition!,
      ids,
    ]);
    cache.dispose();
    m.dispose();
  });

  it('refuses training mode, deep-supervision segments, another batch size or model, positions past the context, use after dispose', () => {
    const m = halting('ar-trm');
    const other = halting('ar-trm');
    const ids = tf.tensor2d(randomIds(B, 6, 3), [B, 6], 'int32');
    const cache = m.createCache(B);
    expect(() => m.forward(ids, { cache, training: true, seed: 1 })).toThrow(/evaluation only/);
    expect(() => m.forward(ids, { cache, stepRange: [0, 1] })).toThrow(/stepRange/);
    expect(() => other.forward(ids, { cache })).toThrow(/another model/);
    const wrongB = tf.tensor2d(randomIds(B + 1, 2, 3), [B + 1, 2], 'int32');
    expect(() => m.forward(wrongB, { cache })).toThrow(RangeError);
    // context 24: 6 + 6 + 6 fit, the next 7 do not (checked before any work: the cache stays usable)
    for (let i = 0; i < 3; i++) tf.tidy(() => m.forward(ids, { cache }).logits);
    const seven = tf.tensor2d(randomIds(B, 7, 3), [B, 7], 'int32');
    expect(() => m.forward(seven, { cache })).toThrow(/positions 18\.\.24 exceed the context length 24/);
    expect(() => m.forward(ids, { cache })).not.toThrow();
    expect(cache.length).toBe(24);
    cache.dispose();
    expect(() => m.forward(ids, { cache })).toThrow(/after dispose/);
    expect(() => m.createCache(0)).toThrow(RangeError);
    expect(() => halting('dense').createCache(2, { steps: 3 })).toThrow(/tied rung/);
    tf.dispose([ids, wrongB, seven]);
    m.dispose();
    other.dispose();
  });
});

describeOnBackends('decodeAnswers with the ladder model: the cache gives the same strings as recomputing', () => {
  const prompts = Array.from(
    { length: 6 },
    (_, i) => `${(i * 37) % 100}`.padStart(2, '0') + '+' + `${(i * 53 + 7) % 100}`.padStart(2, '0') + '=',
  );

  it.each(['dense', 'ut', 'dual-nested-ut', 'ar-trm', 'trm-faithful'] as const)(
    '%s (greedy and sample), no tensor leak',
    async (rung) => {
      const m = halting(rung);
      let appends = 0;
      const lm = {
        logits: (ids: tf.Tensor2D) => m.logits(ids),
        startDecoding: (b: number) => {
          const s = m.startDecoding(b);
          return {
            append: (ids: tf.Tensor2D) => (appends++, s.append(ids)),
            get length() {
              return s.length;
            },
            dispose: () => s.dispose(),
          };
        },
      };
      for (const opts of [{ strategy: 'greedy' as const }, { strategy: 'sample' as const, seed: 5 }]) {
        await decodeAnswers(lm, prompts, 8, { ...opts, cache: false }); // creates the causal masks (kept on purpose)
        appends = 0;
        const [cached, full] = await expectNoLeaks(async () => {
          const c = await decodeAnswers(lm, prompts, 8, { ...opts });
          expect(appends).toBeGreaterThan(1); // the cache path ran
          return [c, await decodeAnswers(lm, prompts, 8, { ...opts, cache: false })];
        });
        expect(cached).toEqual(full);
        expect(cached.join('').length).toBeGreaterThan(0);
      }
      m.dispose();
    },
  );
});
