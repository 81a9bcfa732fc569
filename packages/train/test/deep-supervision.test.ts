import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { describeOnBackends, expectNoLeaks } from '@tarm/test-utils/vitest';
import { createModel } from '@tarm/recursion';
import { getTask } from '@tarm/tasks';
import { AdamW, trainStep, trainingTensorBatch, disposeBatch, train } from '../src/index.js';

const tiny = { dModel: 8, nHeads: 2, budget: 12, dropout: 0, contextLength: 16 } as const;

describeOnBackends('deep supervision in the trainer', ['cpu'], () => {
  it('takes one optimizer step per segment (N_sup per batch) and leaks nothing', async () => {
    const m = createModel({ ...tiny, model: 'ar-trm', deepSupervision: 2 }, 1);
    const opt = new AdamW(m.params, { lr: 1e-3 });
    const batch = trainingTensorBatch(getTask('copy'), 3, 4, 1, 0);
    const r = await trainStep(m, opt, batch, 5);
    expect(opt.stepOf('block.attn.qkv.weight')).toBe(2);
    expect(r.stats.lastLoss).toBeTypeOf('number');
    await expectNoLeaks(() => trainStep(m, opt, batch, 6));
    disposeBatch(batch);
    opt.dispose();
    m.dispose();
  });
});

describeOnBackends('EMA of the weights', ['cpu'], () => {
  it('evaluates with the averaged weights and puts the trained ones back; the average survives a state round trip', async () => {
    const m = createModel({ ...tiny, model: 'dense', budget: 1 }, 1);
    const opt = new AdamW(m.params, { lr: 1e-2, ema: 0.9 });
    const task = getTask('copy');
    const w = m.params.get('head.out.weight');
    let seen: number[] = [];
    await train({
      model: m,
      task,
      length: 3,
      batchSize: 4,
      steps: 5,
      seed: 1,
      evalEvery: 5,
      optimizer: opt,
      evaluate: async () => {
        seen = Array.from(await w.data());
        return {};
      },
    });
    const trained = Array.from(await w.data());
    expect(seen).not.toEqual(trained); // evaluation saw different (averaged) weights
    const state = opt.state();
    expect(Object.keys(state).some((k) => k.startsWith('optimizer.ema.'))).toBe(true);
    const ema = Array.from(await state['optimizer.ema.head.out.weight']!.data());
    expect(ema).toEqual(seen);
    const opt2 = new AdamW(m.params, { lr: 1e-2, ema: 0.9 });
    await opt2.loadState(state);
    await opt2.withEmaWeights(async () => expect(Array.from(await w.data())).toEqual(seen));
    expect(Array.from(await w.data())).toEqual(trained);
    tf.dispose(Object.values(state));
    opt.dispose();
    opt2.dispose();
    m.dispose();
  });
});

describeOnBackends("a rung's optimizer defaults in the library", ['cpu'], () => {
  it("createModel + train give trm-faithful its EMA of 0.999 (others none); the caller's setting wins", async () => {
    const task = getTask('copy');
    const run = async (model: 'trm-faithful' | 'ar-trm', optimizer?: { ema?: number; lr?: number }) => {
      const m = createModel({ ...tiny, model, deepSupervision: 1 }, 1);
      const res = await train({ model: m, task, length: 3, batchSize: 2, steps: 1, seed: 1, evalEvery: 1, optimizer });
      const state = res.optimizer.state();
      const out = {
        ema: res.optimizer.config.ema,
        lr: res.optimizer.config.lr,
        emaTensors: Object.keys(state).filter((k) => k.startsWith('optimizer.ema.')).length,
      };
      tf.dispose(Object.values(state));
      res.optimizer.dispose();
      m.dispose();
      return out;
    };
    const paramCount = (model: 'trm-faithful' | 'ar-trm') => {
      const m = createModel({ ...tiny, model }, 1);
      const n = m.params.names().length;
      m.dispose();
      return n;
    };
    const faithful = createModel({ ...tiny, model: 'trm-faithful' }, 1);
    expect(faithful.optimizerDefaults).toEqual({ ema: 0.999 });
    faithful.dispose();
    expect(await run('trm-faithful')).toEqual({ ema: 0.999, lr: 3e-4, emaTensors: paramCount('trm-faithful') });
    expect(await run('trm-faithful', { lr: 1e-3, ema: undefined })).toEqual({
      ema: 0.999,
      lr: 1e-3,
      emaTensors: paramCount('trm-faithful'),
    });
    expect(await run('trm-faithful', { ema: 0 })).toEqual({ ema: 0, lr: 3e-4, emaTensors: 0 });
    expect(await run('ar-trm')).toEqual({ ema: 0, lr: 3e-4, emaTensors: 0 });
  });
});
