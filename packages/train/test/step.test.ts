import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '@tarm/core';
import { copy } from '@tarm/tasks';
import { AdamW, disposeBatch, trainStep, trainingTensorBatch } from '../src/index.js';
import { createTinyLM } from './helpers/tiny-model.js';

beforeAll(() => useBackend('cpu'));

describe('trainStep', () => {
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
    const n1 = tf.memory().numTensors;
    const r2 = await trainStep(lm, opt, batch, 124);
    expect(tf.memory().numTensors).toBe(n1);
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
