import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ParamStore, Rng, useBackend, ConfigError } from '@tarm/core';
import { AdamW, resolveAdamWConfig, ADAMW_DEFAULTS } from '../src/index.js';

beforeAll(() => useBackend('cpu'));

/** torch.optim.AdamW (amsgrad off) for one parameter, in float64: the reference the tfjs version must follow. */
class RefAdamW {
  m: Float64Array;
  v: Float64Array;
  t = 0;
  constructor(
    public p: Float64Array,
    readonly c: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number },
  ) {
    this.m = new Float64Array(p.length);
    this.v = new Float64Array(p.length);
  }
  step(g: ArrayLike<number>): void {
    const { lr, beta1, beta2, eps, weightDecay } = this.c;
    this.t += 1;
    const bc1 = 1 - beta1 ** this.t;
    const bc2 = 1 - beta2 ** this.t;
    for (let i = 0; i < this.p.length; i++) {
      this.p[i] = this.p[i]! * (1 - lr * weightDecay);
      this.m[i] = beta1 * this.m[i]! + (1 - beta1) * g[i]!;
      this.v[i] = beta2 * this.v[i]! + (1 - beta2) * g[i]! * g[i]!;
      const denom = Math.sqrt(this.v[i]!) / Math.sqrt(bc2) + eps;
      this.p[i] = this.p[i]! - (lr / bc1) * (this.m[i]! / denom);
    }
  }
}

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

describe('AdamW', () => {
  it('has torch defaults and rejects bad settings with a ConfigError naming the field', () => {
    expect(resolveAdamWConfig()).toEqual({ lr: 3e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, ema: 0 });
    expect(ADAMW_DEFAULTS.weightDecay).toBe(0.01);
    expect(() => resolveAdamWConfig({ beta1: 1 })).toThrow(ConfigError);
    expect(() => resolveAdamWConfig({ ema: 1 })).toThrow(/optimizer.ema/);
    expect(() => resolveAdamWConfig({ lr: -1 })).toThrow(/optimizer\.lr/);
  });

  it.each([
    { lr: 3e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 },
    { lr: 0.05, beta1: 0.8, beta2: 0.95, eps: 1e-6, weightDecay: 0.3 },
  ])('follows the float64 torch reference for several steps (%o)', (c) => {
    const rng = new Rng(7);
    const store = new ParamStore(new Rng(1));
    const w0 = randomArray(rng, 12);
    const b0 = randomArray(rng, 3);
    store.add('w', tf.tensor2d(w0, [4, 3]));
    store.add('b', tf.tensor1d(b0));
    const opt = new AdamW(store, c);
    const refW = new RefAdamW(Float64Array.from(w0), c);
    const refB = new RefAdamW(Float64Array.from(b0), c);
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
      const before = tf.memory().numTensors;
      opt.apply(grads);
      if (s > 0) expect(tf.memory().numTensors).toBe(before); // state exists after the first step: no growth
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

  it('first step moves each weight by about lr (Adam normalisation) plus the decay', () => {
    const store = new ParamStore(new Rng(1));
    store.add('p', tf.tensor1d([1, -2, 0.5]));
    const opt = new AdamW(store, { lr: 0.1, weightDecay: 0.5 });
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

  it('exports its state as optimizer.{m,v,step}.<name> and continues identically after loading it', async () => {
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
    const optA = new AdamW(a, { lr: 0.01 });
    const step = (opt: AdamW, g: number[]) => {
      const t = tf.tensor2d(g, [2, 3]);
      opt.apply({ 'layer.w': t });
      t.dispose();
    };
    step(optA, grads[0]!);
    step(optA, grads[1]!);
    const state = optA.state();
    expect(Object.keys(state).sort()).toEqual(['optimizer.m.layer.w', 'optimizer.step.layer.w', 'optimizer.v.layer.w']);
    expect(state['optimizer.step.layer.w']!.dataSync()[0]).toBe(2);

    const b = make();
    b.assign(Object.fromEntries(a.entries()));
    const optB = new AdamW(b, { lr: 0.01 });
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
  });
  it('rejects a gradient of the wrong shape before updating anything', () => {
    const store = new ParamStore(new Rng(1));
    store.add('a', tf.tensor1d([1, 2]));
    store.add('b', tf.tensor1d([3, 4, 5]));
    const opt = new AdamW(store);
    const [ga, gb] = [tf.tensor1d([1, 1]), tf.tensor1d([1, 1])];
    expect(() => opt.apply({ a: ga, b: gb })).toThrow(/gradient of b has shape \[2\], parameter \[3\]/);
    expect(Array.from(store.get('a').dataSync())).toEqual([1, 2]);
    expect(opt.stepOf('a')).toBe(0);
    tf.dispose([ga, gb]);
    opt.dispose();
    store.dispose();
  });
});
