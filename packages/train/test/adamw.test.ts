import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { DEFAULT_CAPABILITIES, ParamStore, Rng, ConfigError } from '@tarm/core';
import { AdamW64 } from '@tarm/test-utils';
import { describeOnBackends, expectNoLeaks } from '@tarm/test-utils/vitest';
import { AdamW, resolveArithmetic, ADAMW_DEFAULTS, type AdamWArithmetic } from '../src/index.js';
import { resolveAdamWConfig } from '../src/adamw.js';

/** The torch-reference and behaviour tests run in both arithmetic modes. */
const MODES: ('tensors' | 'host')[] = ['tensors', 'host'];

function randomArray(rng: Rng, n: number, scale = 1): number[] {
  return Array.from({ length: n }, () => (2 * rng.next() - 1) * scale);
}

/**
 * Error of the displacement from the start, relative to the largest reference displacement: compares the updates
 * themselves (a missing decay term changes them by ~1%), not the weights (which float32 rounding dominates).
 */
function displacementError(got: ArrayLike<number>, ref: ArrayLike<number>, start: ArrayLike<number>): number {
  let err = 0;
  let scale = 0;
  for (let i = 0; i < got.length; i++) {
    err = Math.max(err, Math.abs(got[i]! - ref[i]!));
    scale = Math.max(scale, Math.abs(ref[i]! - start[i]!));
  }
  return err / scale;
}

describeOnBackends('AdamW', ['cpu'], () => {
  it('has torch defaults and rejects bad settings with a ConfigError naming the field', () => {
    expect(resolveAdamWConfig()).toEqual({
      lr: 3e-4,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      weightDecay: 0.01,
      ema: 0,
      arithmetic: 'auto',
    });
    expect(Object.isFrozen(resolveAdamWConfig({ arithmetic: 'host' }))).toBe(true);
    // An optimizer config saved before the field existed (config.json of older runs) resolves to the default.
    const saved = JSON.parse('{"lr":0.001,"beta1":0.9,"beta2":0.999,"eps":1e-8,"weightDecay":0.01,"ema":0.999}');
    expect(resolveAdamWConfig(saved)).toEqual({ ...saved, arithmetic: 'auto' });
    expect(ADAMW_DEFAULTS.weightDecay).toBe(0.01);
    expect(() => resolveAdamWConfig({ beta1: 1 })).toThrow(ConfigError);
    expect(() => resolveAdamWConfig({ ema: 1 })).toThrow(/optimizer.ema/);
    expect(() => resolveAdamWConfig({ lr: -1 })).toThrow(/optimizer\.lr/);
  });

  it('rejects a bad arithmetic with a ConfigError naming optimizer.arithmetic and the allowed values', () => {
    const bad = () => resolveAdamWConfig({ arithmetic: 'gpu' as AdamWArithmetic });
    expect(bad).toThrow(ConfigError);
    expect(bad).toThrow(/optimizer\.arithmetic.*"gpu".*"auto", "tensors", "host"/);
    try {
      bad();
    } catch (e) {
      expect((e as ConfigError).field).toBe('optimizer.arithmetic');
    }
    const store = new ParamStore(new Rng(1));
    store.add('p', tf.tensor1d([1]));
    expect(() => new AdamW(store, { arithmetic: 'fast' as AdamWArithmetic })).toThrow(/optimizer\.arithmetic/);
    const opt = new AdamW(store, { arithmetic: 'host' });
    expect(opt.config).toEqual({ ...ADAMW_DEFAULTS, arithmetic: 'host' });
    expect(Object.isFrozen(opt.config)).toBe(true);
    store.dispose();
  });

  it("'auto' resolves to host where the backend declares hostOptimizer (cpu, node), to tensors elsewhere, once at construction", () => {
    expect(resolveArithmetic('auto')).toBe('host');
    expect(resolveArithmetic()).toBe('host');
    expect(resolveArithmetic('auto', { ...DEFAULT_CAPABILITIES, hostOptimizer: true })).toBe('host');
    expect(resolveArithmetic('auto', DEFAULT_CAPABILITIES)).toBe('tensors');
    expect(resolveArithmetic('tensors')).toBe('tensors');
    expect(resolveArithmetic('host', DEFAULT_CAPABILITIES)).toBe('host');
    const store = new ParamStore(new Rng(1));
    store.add('p', tf.tensor1d([1]));
    expect(new AdamW(store).arithmetic).toBe('host');
    expect(new AdamW(store, { arithmetic: 'tensors' }).arithmetic).toBe('tensors');
    store.dispose();
  });

  it.each(
    [
      { lr: 3e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 },
      { lr: 0.05, beta1: 0.8, beta2: 0.95, eps: 1e-6, weightDecay: 0.3 },
    ].flatMap((c) => MODES.map((arithmetic) => ({ ...c, arithmetic }))),
  )('follows the float64 torch reference for several steps (%o)', (c) => {
    const rng = new Rng(7);
    const store = new ParamStore(new Rng(1));
    const w0 = randomArray(rng, 12);
    const b0 = randomArray(rng, 3);
    store.add('w', tf.tensor2d(w0, [4, 3]));
    store.add('b', tf.tensor1d(b0));
    const opt = new AdamW(store, c);
    const refW = new AdamW64(Float64Array.from(w0), c);
    const refB = new AdamW64(Float64Array.from(b0), c);
    // Use the exact float32 starting values in the reference.
    refW.p = Float64Array.from(store.get('w').dataSync());
    refB.p = Float64Array.from(store.get('b').dataSync());
    const startW = refW.p.slice();
    const startB = refB.p.slice();
    for (let s = 0; s < 5; s++) {
      const gw = randomArray(rng, 12, 2);
      const gb = randomArray(rng, 3, 0.01);
      // b gets no gradient at step 2: torch skips it entirely (no decay, no moments, no step count).
      const grads: Record<string, tf.Tensor> = { w: tf.tensor2d(gw, [4, 3]) };
      if (s !== 2) grads.b = tf.tensor1d(gb);
      const bBefore = Array.from(store.get('b').dataSync());
      if (s === 0) opt.apply(grads);
      else expectNoLeaks(() => opt.apply(grads)); // state exists after the first step: no growth
      Object.values(grads).forEach((g) => g.dispose());
      refW.step(gw);
      if (s !== 2) refB.step(gb);
      expect(displacementError(store.get('w').dataSync(), refW.p, startW)).toBeLessThan(1e-3);
      if (s >= 1) expect(displacementError(store.get('b').dataSync(), refB.p, startB)).toBeLessThan(1e-3);
      if (s === 2) expect(Array.from(store.get('b').dataSync())).toEqual(bBefore); // untouched, not even decayed
    }
    expect(opt.stepOf('w')).toBe(5);
    expect(opt.stepOf('b')).toBe(4);
    opt.dispose();
    store.dispose();
  });

  it.each(MODES)('first step moves each weight by about lr (Adam normalisation) plus the decay (%s)', (arithmetic) => {
    const store = new ParamStore(new Rng(1));
    store.add('p', tf.tensor1d([1, -2, 0.5]));
    const opt = new AdamW(store, { lr: 0.1, weightDecay: 0.5, arithmetic });
    const g = tf.tensor1d([3, -0.001, 0]);
    opt.apply({ p: g });
    const p = Array.from(store.get('p').dataSync());
    // p*(1 - 0.05) - 0.1*sign(g) (m/sqrt(v) = g/|g| after one step; 0 for g = 0)
    expect(p[0]).toBeCloseTo(0.95 - 0.1, 5);
    expect(p[1]).toBeCloseTo(-1.9 + 0.1 * (0.001 / (0.001 + 1e-8)), 5);
    expect(p[2]).toBeCloseTo(0.475, 6);
    g.dispose();
    opt.dispose();
    store.dispose();
  });

  it.each(MODES)(
    'exports its state as optimizer.{m,v,step}.<name> and continues identically after loading it (%s)',
    async (arithmetic) => {
      const rng = new Rng(3);
      const init = randomArray(rng, 6);
      const grads = Array.from({ length: 4 }, () => randomArray(rng, 6));
      const make = () => {
        const s = new ParamStore(new Rng(1));
        s.add('layer.w', tf.tensor2d(init, [2, 3]));
        s.add('layer.u', tf.tensor1d([1, 2]));
        return s;
      };
      const a = make();
      const optA = new AdamW(a, { lr: 0.01, arithmetic });
      const step = (opt: AdamW, g: number[]) => {
        const t = tf.tensor2d(g, [2, 3]);
        opt.apply({ 'layer.w': t });
        t.dispose();
      };
      step(optA, grads[0]!);
      step(optA, grads[1]!);
      const state = optA.state();
      expect(Object.keys(state).sort()).toEqual([
        'optimizer.m.layer.w',
        'optimizer.step.layer.w',
        'optimizer.v.layer.w',
      ]);
      expect(state['optimizer.step.layer.w']!.dataSync()[0]).toBe(2);

      const b = make();
      b.assign(Object.fromEntries(a.entries()));
      const optB = new AdamW(b, { lr: 0.01, arithmetic });
      await optB.loadState({ ...state, 'layer.w': a.get('layer.w') }); // non-optimizer keys are ignored
      Object.values(state).forEach((t) => t.dispose());
      expect(optB.stepOf('layer.w')).toBe(2);
      for (const g of grads.slice(2)) {
        step(optA, g);
        step(optB, g);
      }
      expect(Array.from(b.get('layer.w').dataSync())).toEqual(Array.from(a.get('layer.w').dataSync()));

      const bad = tf.zeros([3, 3]);
      await expect(optB.loadState({ 'optimizer.m.layer.w': bad })).rejects.toThrow(/shape/);
      await expect(optB.loadState({ 'optimizer.m.nope': bad })).rejects.toThrow(/names no parameter/);
      bad.dispose();
      for (const x of [optA, optB, a, b]) x.dispose();
    },
  );
  it.each(MODES)(
    'rejects a gradient of the wrong shape or an unknown parameter before updating anything (%s)',
    (arithmetic) => {
      const store = new ParamStore(new Rng(1));
      store.add('a', tf.tensor1d([1, 2]));
      store.add('b', tf.tensor1d([3, 4, 5]));
      const opt = new AdamW(store, { arithmetic });
      const [ga, gb] = [tf.tensor1d([1, 1]), tf.tensor1d([1, 1])];
      expect(() => opt.apply({ a: ga, b: gb })).toThrow(/gradient of b has shape \[2\], parameter \[3\]/);
      expect(Array.from(store.get('a').dataSync())).toEqual([1, 2]);
      expect(opt.stepOf('a')).toBe(0);
      expect(() => opt.apply({ a: ga, nope: gb })).toThrow(/no parameter named nope/);
      expect(Array.from(store.get('a').dataSync())).toEqual([1, 2]);
      expect(opt.stepOf('a')).toBe(0);
      expect(Object.keys(opt.state())).toEqual([]);
      tf.dispose([ga, gb]);
      opt.dispose();
      store.dispose();
    },
  );
});

describeOnBackends('AdamW arithmetic: host and tensors', ['cpu'], () => {
  /** Weight decay, an EMA and a parameter ('u') that gets no gradient at odd steps. */
  const C = { lr: 0.05, beta1: 0.8, beta2: 0.95, eps: 1e-6, weightDecay: 0.1, ema: 0.9 } as const;

  function makeStore(): ParamStore {
    const rng = new Rng(5);
    const s = new ParamStore(new Rng(1));
    s.add('w', tf.tensor2d(randomArray(rng, 12), [4, 3]));
    s.add('b', tf.tensor1d(randomArray(rng, 3)));
    s.add('u', tf.tensor1d(randomArray(rng, 2)));
    return s;
  }

  function gradsAt(step: number): Record<string, tf.Tensor> {
    const rng = new Rng(100 + step);
    const g: Record<string, tf.Tensor> = {
      w: tf.tensor2d(randomArray(rng, 12, 2), [4, 3]),
      b: tf.tensor1d(randomArray(rng, 3, 0.01)),
    };
    if (step % 2 === 0) g.u = tf.tensor1d(randomArray(rng, 2, 0.5));
    return g;
  }

  function run(opt: AdamW, steps: readonly number[]): void {
    for (const s of steps) {
      const g = gradsAt(s);
      opt.apply(g);
      tf.dispose(Object.values(g));
    }
  }

  /** Parameters (`param.<name>`) and the whole optimizer state, as plain arrays. */
  function snapshot(store: ParamStore, opt: AdamW): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    for (const [n, v] of store.entries()) out[`param.${n}`] = Array.from(v.dataSync());
    for (const [k, t] of Object.entries(opt.state())) {
      out[k] = Array.from(t.dataSync());
      t.dispose();
    }
    return out;
  }

  /** Same keys, equal step counts, every value within rtol of the largest |value| of its tensor. */
  function expectClose(got: Record<string, number[]>, want: Record<string, number[]>, rtol = 1e-6): void {
    expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
    for (const [k, w] of Object.entries(want)) {
      const g = got[k]!;
      expect(g.length, k).toBe(w.length);
      const scale = Math.max(...w.map(Math.abs));
      const worst = Math.max(...w.map((x, i) => Math.abs(g[i]! - x)));
      expect(worst, `${k}: max |diff| ${worst}, max |value| ${scale}`).toBeLessThanOrEqual(rtol * scale);
      if (k.includes('.step.')) expect(g, k).toEqual(w);
    }
  }

  it('gives the same parameters, moments and EMA in both modes over 5 steps (decay, EMA, a skipped parameter)', () => {
    const results = MODES.map((arithmetic) => {
      const store = makeStore();
      const opt = new AdamW(store, { ...C, arithmetic });
      const snaps: Record<string, number[]>[] = [];
      for (let s = 0; s < 5; s++) {
        run(opt, [s]);
        snaps.push(snapshot(store, opt));
      }
      expect([opt.stepOf('w'), opt.stepOf('b'), opt.stepOf('u')]).toEqual([5, 5, 3]);
      opt.dispose();
      store.dispose();
      return snaps;
    });
    const [tensors, host] = results as [Record<string, number[]>[], Record<string, number[]>[]];
    expect(Object.keys(host[4]!)).toContain('optimizer.ema.u');
    // The skipped parameter is untouched at step 1 in both modes.
    expect(host[1]!['param.u']).toEqual(host[0]!['param.u']);
    expect(tensors[1]!['param.u']).toEqual(tensors[0]!['param.u']);
    for (let s = 0; s < 5; s++) expectClose(host[s]!, tensors[s]!);
  });

  it.each([
    ['host', 'tensors'],
    ['tensors', 'host'],
  ] as const)(
    'a state saved in %s mode loads into a %s-mode optimizer and continues as the uninterrupted runs',
    async (from, to) => {
      const a = makeStore();
      const optA = new AdamW(a, { ...C, arithmetic: from });
      run(optA, [0, 1]);
      const state = optA.state();
      const b = makeStore();
      b.assign(Object.fromEntries(a.entries()));
      const optB = new AdamW(b, { ...C, arithmetic: to });
      await optB.loadState(state);
      Object.values(state).forEach((t) => t.dispose());
      expect(snapshot(b, optB)).toEqual(snapshot(a, optA)); // loaded bit for bit
      run(optA, [2, 3, 4]);
      run(optB, [2, 3, 4]);
      // The resumed run agrees with the uninterrupted runs in either mode, to float32 rounding.
      const c = makeStore();
      const optC = new AdamW(c, { ...C, arithmetic: to });
      run(optC, [0, 1, 2, 3, 4]);
      expectClose(snapshot(b, optB), snapshot(a, optA));
      expectClose(snapshot(b, optB), snapshot(c, optC));
      for (const x of [optA, optB, optC, a, b, c]) x.dispose();
    },
  );

  it('keeps its state in the form of the arithmetic chosen at construction', async () => {
    const store = makeStore();
    const paramTensors = tf.memory().numTensors;
    const counts: number[][] = [];
    for (const arithmetic of MODES) {
      const opt = new AdamW(store, { ...C, arithmetic });
      run(opt, [0, 1]);
      const held = tf.memory().numTensors - paramTensors;
      const other = new AdamW(store, { ...C, arithmetic: arithmetic === 'host' ? 'tensors' : 'host' });
      run(other, [2]);
      const state = other.state();
      await opt.loadState(state); // a state from the other arithmetic keeps this one's form
      tf.dispose(Object.values(state));
      other.dispose();
      counts.push([held, tf.memory().numTensors - paramTensors]);
      opt.dispose();
    }
    // Host holds no tensors; tensors hold m and v per parameter with state (w, b, u at step 0), plus one EMA each.
    expect(counts).toEqual([
      [9, 9],
      [0, 0],
    ]);
    expect(tf.memory().numTensors).toBe(paramTensors);
    store.dispose();
  });

  it('leaks no tensors over 20 host-mode steps (EMA on, a skipped parameter), nor in state() and dispose()', () => {
    const store = makeStore();
    expectNoLeaks(() => {
      const opt = new AdamW(store, { ...C, arithmetic: 'host' });
      for (let s = 0; s < 20; s++) expectNoLeaks(() => run(opt, [s]));
      const state = opt.state();
      expect(Object.keys(state)).toHaveLength(3 * 3 + 3);
      tf.dispose(Object.values(state));
      opt.dispose();
    });
    store.dispose();
  });

  it.each(MODES)(
    'swaps the EMA weights in for withEmaWeights and puts the trained ones back, also on error (%s)',
    async (arithmetic) => {
      const store = makeStore();
      const opt = new AdamW(store, { ...C, arithmetic });
      run(opt, [0, 1, 2]);
      const snap = snapshot(store, opt);
      await expectNoLeaks(async () => {
        const seen = await opt.withEmaWeights(async () => Array.from(await store.get('w').data()));
        expect(seen).toEqual(snap['optimizer.ema.w']);
        expect(seen).not.toEqual(snap['param.w']);
        await expect(opt.withEmaWeights(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
        expect(snapshot(store, opt)).toEqual(snap);
      });
      // The EMA keeps updating from the trained weights.
      run(opt, [3]);
      expect(snapshot(store, opt)['optimizer.ema.w']).not.toEqual(snap['optimizer.ema.w']);
      opt.dispose();
      store.dispose();
    },
  );
});
