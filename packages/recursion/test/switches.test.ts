import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { ConfigError } from '@tarm/core';
import { describeOnBackends } from '@tarm/test-utils/vitest';
import { defineModelConfig, flopsPerToken, solveBudget, type LadderModel, type PassInfo } from '../src/index.js';
import { build, randomIds, setParam, tiny } from './helpers.js';

function batchOf(B: number, T: number) {
  return {
    inputs: tf.tensor2d(randomIds(B, T, 21), [B, T], 'int32'),
    targets: tf.tensor2d(randomIds(B, T, 22), [B, T], 'int32'),
    mask: tf.ones([B, T]) as tf.Tensor2D,
  };
}

/** Runs every segment of one batch as the trainer does (no optimizer): returns each segment's loss and grads. */
function segmentLosses(m: LadderModel, probes?: Map<number, tf.Variable>) {
  const batch = batchOf(2, 6);
  const S = m.segments ?? 1;
  const out: { loss: number; withGrad: number[]; gradNames: string[] }[] = [];
  let carry: readonly tf.Tensor[] | undefined;
  for (let index = 0; index < S; index++) {
    let next: readonly tf.Tensor[] | undefined;
    const { value, grads } = tf.variableGrads(() => {
      const r = m.loss(batch, 3, { index, carry });
      next = r.carry;
      return r.loss;
    });
    const withGrad = probes
      ? [...probes]
          .filter(([, v]) => grads[v.name] && tf.tidy(() => tf.max(tf.abs(grads[v.name]!)).dataSync()[0]!) > 0)
          .map(([i]) => i)
      : [];
    const gradNames = m.params
      .entries()
      .filter(([, v]) => grads[v.name] && tf.tidy(() => tf.max(tf.abs(grads[v.name]!)).dataSync()[0]!) > 0)
      .map(([n]) => n);
    out.push({ loss: value.dataSync()[0]!, withGrad, gradNames });
    tf.dispose([value, ...Object.values(grads), ...(carry ?? [])]);
    carry = next;
  }
  tf.dispose([...(carry ?? []), batch.inputs, batch.targets, batch.mask]);
  return out;
}

describeOnBackends('deepSupervision', ['cpu'], () => {
  it('splits the steps into N_sup segments, one loss per segment, (y, z) carried between them', () => {
    const m = build(tiny('ar-trm', { dropout: 0, deepSupervision: 4 }));
    expect(m.segments).toBe(4);
    const losses = segmentLosses(m);
    expect(losses).toHaveLength(4);
    expect(new Set(losses.map((l) => l.loss.toFixed(6))).size).toBe(4); // each segment starts from the carried state
    m.dispose();
  });

  it('chaining the segments computes exactly the full forward pass (halting off)', () => {
    const m = build(tiny('ar-trm', { dropout: 0, deepSupervision: 2 }));
    const ids = tf.tensor2d(randomIds(2, 6, 4), [2, 6], 'int32');
    const full = tf.tidy(() => m.forward(ids, {}).logits.dataSync());
    const a = m.forward(ids, { stepRange: [0, 2] });
    const b = m.forward(ids, { stepRange: [2, 4], carry: a.carry });
    expect(
      Array.from(b.logits.dataSync())
        .map((v, i) => Math.abs(v - full[i]!))
        .reduce((x, y) => Math.max(x, y)),
    ).toBeLessThan(1e-5);
    tf.dispose([ids, a.logits, b.logits, a.carry!.y, a.carry!.z, b.carry!.y, b.carry!.z]);
    m.dispose();
  });

  it('is rejected on rungs that are not nested and must divide the steps', () => {
    expect(() => defineModelConfig({ model: 'dual-ut', deepSupervision: 2 })).toThrow(/deepSupervision/);
    expect(() => solveBudget(defineModelConfig({ model: 'ar-trm', budget: 24, deepSupervision: 3 }))).toThrow(
      ConfigError,
    );
  });

  it('counts each segment honestly: same forward passes, backward through every segment', () => {
    const paper = flopsPerToken({ model: 'ar-trm', dModel: 384, nHeads: 6, budget: 24 }, 32);
    const ds = flopsPerToken({ model: 'ar-trm', dModel: 384, nHeads: 6, budget: 24, deepSupervision: 4 }, 32);
    const perPass = 24 * 384 * 384 + 4 * 32 * 384;
    expect(ds.forward - paper.forward).toBe(3 * 2 * 384 * 14); // three more readouts
    expect(ds.backward).toBe(2 * (4 * 3 * perPass + 4 * 2 * 384 * 14));
  });
});

describeOnBackends('gradCycles', ['cpu'], () => {
  function probeRun(cfg: Parameters<typeof tiny>[1]) {
    const m = build(tiny('ar-trm', { dropout: 0, ...cfg }));
    const probes = new Map<number, tf.Variable>(
      Array.from({ length: 24 }, (_, i) => [
        i,
        tf.variable(tf.zeros([1, 1, 8]), true, `gc_probe_${JSON.stringify(cfg)}_${i}`),
      ]),
    );
    const onPass = (info: PassInfo, h: tf.Tensor3D) => tf.add(h, probes.get(info.index)!) as tf.Tensor3D;
    const batch = batchOf(2, 6);
    const { grads, value } = tf.variableGrads(
      () => tf.sum(tf.square(m.forward(batch.inputs, { training: true, seed: 1, onPass }).logits)) as tf.Scalar,
    );
    const withGrad = [...probes]
      .filter(([, v]) => grads[v.name] && tf.tidy(() => tf.max(tf.abs(grads[v.name]!)).dataSync()[0]!) > 0)
      .map(([i]) => i);
    tf.dispose([value, ...Object.values(grads), ...probes.values(), batch.inputs, batch.targets, batch.mask]);
    m.dispose();
    return withGrad;
  }

  it("'last': only the last cycle of the last step (the paper)", () => {
    expect(probeRun({ gradCycles: 'last' })).toEqual([21, 22, 23]);
  });

  it("'all': every cycle of the last step", () => {
    expect(probeRun({ gradCycles: 'all' })).toEqual([18, 19, 20, 21, 22, 23]);
  });
});

describeOnBackends('haltLoss', ['cpu'], () => {
  it('the halting head receives gradient only when haltLoss is on', () => {
    for (const haltLoss of [false, true]) {
      const m = build(tiny('ar-trm', { dropout: 0, haltLoss }));
      const [seg] = segmentLosses(m);
      expect(seg!.gradNames.includes('halt.weight'), `haltLoss ${haltLoss}`).toBe(haltLoss);
      expect(seg!.gradNames.includes('halt.bias'), `haltLoss ${haltLoss}`).toBe(haltLoss);
      m.dispose();
    }
  });

  it('a trained (per-position) head halts positions independently and stays causal', () => {
    const m = build(tiny('ar-trm', { dropout: 0, haltLoss: true }));
    const w = m.params.get('halt.weight');
    w.assign(tf.randomNormal(w.shape, 0, 3, 'float32', 2));
    setParam(m, 'halt.bias', 0);
    const ids = randomIds(3, 10, 8);
    const run = (rows: number[][]) =>
      tf.tidy(() => m.forward(tf.tensor2d(rows, [3, 10], 'int32'), {}).logits.arraySync() as number[][][]);
    const base = run(ids);
    const changed = run(ids.map((r) => r.map((v, i) => (i === 7 ? (v + 3) % 14 : v))));
    for (let b = 0; b < 3; b++)
      for (let t = 0; t < 7; t++) for (let v = 0; v < 14; v++) expect(changed[b]![t]![v]).toBe(base[b]![t]![v]);
    m.dispose();
  });
});

describeOnBackends('trm-faithful', ['cpu'], () => {
  it('is ar-trm with deep supervision per step, a trained per-position head and gradient through all cycles', () => {
    const cfg = defineModelConfig({ model: 'trm-faithful', dModel: 384, nHeads: 6, budget: 24 });
    expect(cfg).toMatchObject({ haltLoss: true, gradCycles: 'all', deepSupervision: 0 });
    const s = solveBudget(cfg);
    expect(s).toMatchObject({ steps: 4, H: 2, L: 2, segments: 4, blockPasses: 24, gradPasses: 24 });
    const m = build(tiny('trm-faithful', { dropout: 0 }));
    const segs = segmentLosses(m);
    expect(segs).toHaveLength(4);
    for (const sg of segs)
      expect(sg.gradNames).toEqual(expect.arrayContaining(['block.attn.qkv.weight', 'halt.weight']));
    m.dispose();
  });
});
