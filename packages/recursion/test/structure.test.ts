import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { describeOnBackends, expectNoLeaks } from '@tarm/test-utils/vitest';
import { analyticParamCount, RUNG_NAMES, type PassInfo, type RungName } from '../src/index.js';
import { build, randomIds, setParam, tiny } from './helpers.js';

describeOnBackends('every rung', () => {
  describe.each(RUNG_NAMES)('%s', (name: RungName) => {
    it('has exactly the analytic parameter count', () => {
      const m = build(tiny(name));
      expect(m.params.count()).toBe(analyticParamCount(tiny(name)));
      m.dispose();
    });

    for (const training of [false, true]) {
      it(`is causal in ${training ? 'training' : 'evaluation'} mode with halting active`, () => {
        const m = build(tiny(name));
        if (m.rung.halting === 'binary') {
          // a random halting head (q = y[:,0] w, no bias): some sequences halt early, others run every step
          const w = m.params.get('halt.weight');
          w.assign(tf.randomNormal(w.shape, 0, 3, 'float32', 1));
          setParam(m, 'halt.bias', 0);
        }
        const B = 4;
        const T = 12;
        const ids = randomIds(B, T, 3);
        const t = 5;
        const run = (rows: number[][]) =>
          tf.tidy(
            () =>
              m.forward(tf.tensor2d(rows, [B, T], 'int32'), { training, seed: 11 }).logits.arraySync() as number[][][],
          );
        const base = run(ids);
        for (const k of [1, 3, 6]) {
          const changed = ids.map((row) => row.map((v, i) => (i === t + k ? (v + 5) % 14 : v)));
          const out = run(changed);
          let maxPast = 0;
          let maxFuture = 0;
          for (let b = 0; b < B; b++)
            for (let i = 0; i < T; i++)
              for (let v = 0; v < 14; v++) {
                const d = Math.abs(out[b]![i]![v]! - base[b]![i]![v]!);
                if (i <= t + k - 1) maxPast = Math.max(maxPast, d);
                else maxFuture = Math.max(maxFuture, d);
              }
          expect(maxPast, `positions < ${t + k} moved`).toBeLessThanOrEqual(1e-6);
          expect(maxFuture, 'the perturbation must change something').toBeGreaterThan(1e-6);
        }
        m.dispose();
      });
    }

    it('gives the same logits for the same seed and different ones for another seed (training mode)', () => {
      const m = build(tiny(name));
      const ids = tf.tensor2d(randomIds(2, 8, 5), [2, 8], 'int32');
      const a = tf.tidy(() => m.forward(ids, { training: true, seed: 1 }).logits.dataSync());
      const b = tf.tidy(() => m.forward(ids, { training: true, seed: 1 }).logits.dataSync());
      const c = tf.tidy(() => m.forward(ids, { training: true, seed: 2 }).logits.dataSync());
      expect(Array.from(a)).toEqual(Array.from(b));
      expect(Array.from(a)).not.toEqual(Array.from(c));
      ids.dispose();
      m.dispose();
    });
  });
});

/** Which block passes receive gradient: a zero probe is added to every pass output; nonzero d loss / d probe. */
function gradientPasses(name: RungName): { ran: number[]; withGrad: number[] } {
  const m = build(tiny(name, { dropout: 0 }));
  // keep ACT from halting early so every pass runs (p = sigmoid(-10) per step)
  if (m.p.act) setParam(m, 'act.bias', -10);
  const ids = tf.tensor2d(randomIds(2, 6, 9), [2, 6], 'int32');
  // one zero probe per possible pass, created before the tape starts (variableGrads takes the variables that exist)
  const probes = new Map<number, tf.Variable>(
    Array.from({ length: 24 }, (_, i) => [i, tf.variable(tf.zeros([1, 1, 8]), true, `probe_${name}_${i}`)]),
  );
  const ran: number[] = [];
  const onPass = (info: PassInfo, h: tf.Tensor3D) => {
    ran.push(info.index);
    return tf.add(h, probes.get(info.index)!) as tf.Tensor3D;
  };
  const { grads, value } = tf.variableGrads(
    () => tf.sum(tf.square(m.forward(ids, { training: true, seed: 3, onPass }).logits)) as tf.Scalar,
    undefined,
  );
  const withGrad: number[] = [];
  for (const [i, v] of probes) {
    const g = grads[v.name];
    if (g && tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0]!) > 0) withGrad.push(i);
  }
  tf.dispose([...Object.values(grads), value, ids, ...probes.values()]);
  m.dispose();
  return { ran: [...new Set(ran)].sort((a, b) => a - b), withGrad: withGrad.sort((a, b) => a - b) };
}

describeOnBackends('gradient paths at budget 24', () => {
  const all = Array.from({ length: 24 }, (_, i) => i);
  it.each(['dense', 'iterative', 'iterative-step', 'ut', 'dual-ut'] as const)(
    '%s: every pass receives gradient',
    (name) => {
      const r = gradientPasses(name);
      expect(r.ran).toEqual(all);
      expect(r.withGrad).toEqual(all);
    },
  );

  it('dual-nested-ut: only the last cycle of each step (4 steps x 3 passes)', () => {
    const r = gradientPasses('dual-nested-ut');
    expect(r.ran).toEqual(all);
    expect(r.withGrad).toEqual([3, 4, 5, 9, 10, 11, 15, 16, 17, 21, 22, 23]);
  });

  it('ar-trm: only the last cycle of the last step (3 of 24 passes)', () => {
    const r = gradientPasses('ar-trm');
    expect(r.ran).toEqual(all);
    expect(r.withGrad).toEqual([21, 22, 23]);
  });
});

describeOnBackends('halting', () => {
  it('ut with default init halts every position after two steps (p ~ 0.5) and its output weights sum to 1', () => {
    const m = build(tiny('ut', { dropout: 0 }));
    const ids = tf.tensor2d(randomIds(2, 6, 1), [2, 6], 'int32');
    const r = m.forward(ids, {});
    expect(r.stepsRun).toBeLessThan(24);
    expect(r.stepsRun).toBeGreaterThanOrEqual(2);
    tf.dispose([r.logits, r.ponderCost!, ids]);
    m.dispose();
  });

  it('ar-trm runs every step with the paper init (bias -5) and stops after one step when q > 0', () => {
    const m = build(tiny('ar-trm', { dropout: 0 }));
    const ids = tf.tensor2d(randomIds(3, 6, 1), [3, 6], 'int32');
    const full = m.forward(ids, {});
    expect(full.stepsRun).toBe(4);
    setParam(m, 'halt.bias', 5);
    const early = m.forward(ids, {});
    expect(early.stepsRun).toBe(1);
    expect(early.passesRun).toBe(6);
    // exploration (training) forces some sequences to a random minimum number of steps (p = 0.25 each; B = 64)
    const big = tf.tensor2d(randomIds(64, 6, 2), [64, 6], 'int32');
    const explored = m.forward(big, { training: true, seed: 5 });
    expect(explored.stepsRun).toBeGreaterThan(1);
    tf.dispose([full.logits, early.logits, explored.logits, ids, big]);
    m.dispose();
  });
});

describeOnBackends('memory', () => {
  it.each(['ut', 'ar-trm'] as const)('%s forward + backward leaks no tensors', (name) => {
    const m = build(tiny(name));
    const ids = tf.tensor2d(randomIds(2, 6, 9), [2, 6], 'int32');
    const targets = tf.tensor2d(randomIds(2, 6, 10), [2, 6], 'int32');
    const mask = tf.ones([2, 6]) as tf.Tensor2D;
    const step = (s: number) => {
      const { value, grads } = tf.variableGrads(() => m.loss({ inputs: ids, targets, mask }, s).loss);
      tf.dispose([value, ...Object.values(grads)]);
    };
    step(0);
    expectNoLeaks(() => {
      for (let s = 1; s < 6; s++) step(s);
    });
    tf.dispose([ids, targets, mask]);
    m.dispose();
  });
});
