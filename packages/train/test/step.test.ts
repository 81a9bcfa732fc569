import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { describeOnBackends, expectNoLeaks } from '@tarm/test-utils/vitest';
import { copy } from '@tarm/tasks/internal';
import { AdamW, disposeBatch, trainStep, trainingTensorBatch } from '../src/index.js';
import { createTinyLM } from './helpers/tiny-model.js';
import { createModel, defineModelConfig } from '@tarm/recursion';

describeOnBackends('trainStep', ['cpu'], () => {
  it('updates reached parameters, leaves unreached ones untouched (torch skips grad=None), reads stats, leaks nothing', async () => {
    const lm = createTinyLM({ unused: true });
    const opt = new AdamW(lm.params, { lr: 1e-2, weightDecay: 0.1 });
    const batch = trainingTensorBatch(copy, 3, 4, 1, 0);
    expect(batch.inputs.dtype).toBe('int32');
    expect(batch.mask.dtype).toBe('float32');
    expect(batch.inputs.shape).toEqual([4, 7]);
    const unused0 = Array.from(lm.params.get('unused.weight').dataSync());
    const tok0 = Array.from(lm.params.get('embed.token').dataSync());
    const r1 = await trainStep(lm, opt, batch, 123);
    const r2 = await expectNoLeaks(() => trainStep(lm, opt, batch, 124));
    expect(Number.isFinite(r1.loss)).toBe(true);
    expect(r2.loss).toBeLessThan(r1.loss);
    expect(r1.stats).toEqual({ maskedTokens: 16 }); // 4 rows x (3 answer chars + newline)
    expect(r1.noGradient).toEqual(['unused.weight']);
    expect(Array.from(lm.params.get('unused.weight').dataSync())).toEqual(unused0);
    expect(opt.stepOf('unused.weight')).toBe(0);
    expect(Array.from(lm.params.get('embed.token').dataSync())).not.toEqual(tok0);
    expect(opt.stepOf('embed.token')).toBe(2);
    disposeBatch(batch);
    opt.dispose();
    lm.params.dispose();
  });

  it('is a pure function of (weights, batch, seed): the same seed gives the same loss, another seed other dropout', async () => {
    const run = async (seed: number) => {
      const lm = createTinyLM({ dropout: 0.3 });
      const opt = new AdamW(lm.params);
      const batch = trainingTensorBatch(copy, 3, 4, 1, 0);
      const r = await trainStep(lm, opt, batch, seed);
      disposeBatch(batch);
      opt.dispose();
      lm.params.dispose();
      return r.loss;
    };
    const a = await run(5);
    expect(await run(5)).toBe(a);
    expect(await run(6)).not.toBe(a);
  });
});

describeOnBackends('trainStep with microBatch (gradient accumulation)', ['cpu'], () => {
  /** The gradients trainStep hands the optimizer, one record per update (the weights stay as they are). */
  const captured = async (model: ReturnType<typeof createModel>, microBatch?: number) => {
    const updates: Record<string, number[]>[] = [];
    const optimizer = {
      apply: (g: Record<string, tf.Tensor>) =>
        updates.push(Object.fromEntries(Object.entries(g).map(([k, v]) => [k, Array.from(v.dataSync())]))),
    };
    const batch = trainingTensorBatch(copy, 4, 8, 3, 0);
    const r = await trainStep(model, optimizer as unknown as AdamW, batch, 99, { microBatch });
    disposeBatch(batch);
    return { updates, loss: r.loss, noGradient: r.noGradient };
  };

  for (const model of ['dense', 'ut', 'dual-ut', 'ar-trm', 'trm-faithful'] as const) {
    it(`${model}: pieces of 3 + 3 + 2 rows give the full batch's gradient, loss and reached parameters`, async () => {
      const m = createModel(
        defineModelConfig({
          model,
          dModel: 16,
          nHeads: 2,
          budget: 12,
          dropout: 0,
          haltExploration: 0,
          contextLength: 32,
          vocabSize: 14,
        }),
        5,
      );
      const full = await captured(m);
      const split = await expectNoLeaks(() => captured(m, 3)); // the slices, weighted gradients and carries are all released
      expect(split.updates.length).toBe(full.updates.length); // one update per deep-supervision segment
      expect(split.noGradient).toEqual(full.noGradient);
      expect(split.loss).toBeCloseTo(full.loss, 5);
      let worst = 0;
      full.updates.forEach((u, i) => {
        expect(Object.keys(split.updates[i]!).sort()).toEqual(Object.keys(u).sort());
        for (const [name, g] of Object.entries(u)) {
          const scale = Math.max(1e-3, ...g.map(Math.abs));
          g.forEach((x, j) => (worst = Math.max(worst, Math.abs(x - split.updates[i]![name]![j]!) / scale)));
        }
      });
      expect(worst).toBeLessThan(1e-5); // float32 rounding of a sum in another order
      m.params.dispose();
    });
  }

  it('a micro-batch at least the batch size is the unsplit step, bit for bit', async () => {
    const m = createModel(
      defineModelConfig({
        model: 'dense',
        dModel: 16,
        nHeads: 2,
        budget: 2,
        dropout: 0.2,
        contextLength: 32,
        vocabSize: 14,
      }),
      5,
    );
    expect(await captured(m, 8)).toEqual(await captured(m));
    m.params.dispose();
  });
});
