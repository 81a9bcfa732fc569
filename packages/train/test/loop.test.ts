import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { ConfigError } from '@tarm/core';
import { describeOnBackends } from '@tarm/test-utils/vitest';
import { evaluationSet } from '@tarm/tasks';
import { copy, encodeExamples, sequenceLength } from '@tarm/tasks/internal';
import { AdamW, train, type EvalRecord, type StepInfo } from '../src/index.js';
import { createTinyLM, paramValues } from './helpers/tiny-model.js';

const base = { task: copy, length: 3, batchSize: 8, seed: 1337 } as const;

describeOnBackends('train', ['cpu'], () => {
  it('keeps the tensor count flat over 50 steps and reports B*T tokens per step', async () => {
    const lm = createTinyLM();
    const counts: number[] = [];
    const infos: StepInfo[] = [];
    const res = await train({
      ...base,
      model: lm,
      steps: 50,
      evalEvery: 1000,
      onStep: (info) => {
        counts.push(tf.memory().numTensors);
        infos.push(info);
      },
    });
    expect(res.step).toBe(50);
    expect(res.stepsRun).toBe(50);
    expect(new Set(counts.slice(1)).size).toBe(1); // step 1 creates the optimizer state; then nothing grows
    expect(infos.map((i) => i.step)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(infos[49]!.etaSeconds).toBe(0);
    expect(infos[10]!.tokensPerSecond).toBeGreaterThan(0);
    expect(res.tokensPerSecond).toBeGreaterThan(0);
    const before = tf.memory().numTensors;
    res.optimizer.dispose();
    lm.params.dispose();
    expect(tf.memory().numTensors).toBeLessThan(before);
  });

  it('evaluates every evalEvery steps and at the final step, never at step 0; checkpoints on its own schedule', async () => {
    const lm = createTinyLM();
    const evals: number[] = [];
    const onEvals: [number, number][] = [];
    const ckpts: number[] = [];
    const fake: EvalRecord = {
      '3': { charAcc: 0.5, exactMatch: 0, firstCharAcc: 1, lastCharAcc: 0, quartiles: [1, 0.5, 0, 0], n: 1 },
    };
    const res = await train({
      ...base,
      model: lm,
      steps: 23,
      evalEvery: 10,
      checkpointEvery: 4,
      evaluate: async (step) => {
        evals.push(step);
        return fake;
      },
      onEval: (step, record, loss) => {
        expect(record).toBe(fake);
        onEvals.push([step, loss]);
      },
      checkpoint: async (step) => {
        ckpts.push(step);
      },
    });
    expect(evals).toEqual([10, 20, 23]);
    expect(onEvals.map(([s]) => s)).toEqual([10, 20, 23]);
    expect(onEvals[2]![1]).toBe(res.loss);
    expect(ckpts).toEqual([4, 8, 12, 16, 20, 23]);
    expect(res.lastEval).toEqual({ step: 23, record: fake });
    res.optimizer.dispose();
    lm.params.dispose();
  });

  it('needs no evalEvery: without it, an evaluate callback runs once, after the final step', async () => {
    const lm = createTinyLM();
    const evaluated: number[] = [];
    const res = await train({ ...base, model: lm, steps: 3, evaluate: async (step) => (evaluated.push(step), {}) });
    expect(res.step).toBe(3);
    expect(evaluated).toEqual([3]);
    res.optimizer.dispose();
    lm.params.dispose();
  });

  it('yields to the event loop after every step: a stop flag set by a macrotask (a signal handler) stops it at step 1', async () => {
    const lm = createTinyLM();
    let stop = false;
    setImmediate(() => {
      stop = true; // as process.on('SIGINT') would: it runs only when the loop returns to the event loop
    });
    const res = await train({ ...base, model: lm, steps: 20, evalEvery: 1000, shouldStop: () => stop });
    expect(res).toMatchObject({ step: 1, stopped: true });
    res.optimizer.dispose();
    lm.params.dispose();
  });

  it('stops on shouldStop after checkpointing that step; continuing from startStep equals the uninterrupted run', async () => {
    const steps = 12;
    const full = createTinyLM();
    const fullLosses: number[] = [];
    const r = await train({ ...base, model: full, steps, evalEvery: 5, onStep: (i) => void fullLosses.push(i.loss) });
    r.optimizer.dispose();

    const lm = createTinyLM();
    const opt = new AdamW(lm.params);
    const losses: number[] = [];
    const ckpts: number[] = [];
    const first = await train({
      ...base,
      model: lm,
      steps,
      evalEvery: 5,
      optimizer: opt,
      onStep: (i) => void losses.push(i.loss),
      shouldStop: () => losses.length === 7,
      checkpoint: async (s) => void ckpts.push(s),
    });
    expect(first).toMatchObject({ step: 7, stopped: true, stepsRun: 7 });
    expect(ckpts).toEqual([5, 7]);
    const second = await train({
      ...base,
      model: lm,
      steps,
      evalEvery: 5,
      optimizer: opt,
      startStep: 7,
      onStep: (i) => void losses.push(i.loss),
    });
    expect(second).toMatchObject({ step: 12, stopped: false, stepsRun: 5 });
    expect(losses).toEqual(fullLosses);
    expect(await paramValues(lm)).toEqual(await paramValues(full));
    opt.dispose();
    lm.params.dispose();
    full.params.dispose();
  });

  it('rejects bad schedules with a ConfigError naming the field', async () => {
    const lm = createTinyLM();
    await expect(train({ ...base, model: lm, steps: 0, evalEvery: 1 })).rejects.toThrow(/train\.steps/);
    await expect(train({ ...base, model: lm, steps: 5, evalEvery: 1.5 })).rejects.toThrow(ConfigError);
    await expect(train({ ...base, model: lm, steps: 5, evalEvery: 1, startStep: 6 })).rejects.toThrow(/startStep/);
    lm.params.dispose();
  });

  it('learns copy at L=2 to low loss in 150 steps', async () => {
    const lm = createTinyLM({ dModel: 16, nHeads: 2, dropout: 0 });
    const losses: number[] = [];
    const res = await train({
      ...base,
      length: 2,
      batchSize: 16,
      model: lm,
      steps: 150,
      evalEvery: 150,
      optimizer: { lr: 1e-2 },
      onStep: (i) => void losses.push(i.loss),
    });
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    expect(mean(losses.slice(0, 10))).toBeGreaterThan(1.5); // ~ln(14) at the start
    expect(mean(losses.slice(-20))).toBeLessThan(0.05);
    // Greedy next-token predictions on fixed evaluation problems (teacher forcing) are right on the answer.
    const batch = encodeExamples(evaluationSet(copy, 2, 50), sequenceLength(copy, 2));
    const acc = tf.tidy(() => {
      const ids = tf.tensor2d(batch.inputs, [batch.batchSize, batch.seqLen], 'int32');
      const pred = tf.argMax(lm.logits(ids), -1);
      const targets = tf.tensor2d(batch.targets, [batch.batchSize, batch.seqLen], 'int32');
      const mask = tf.tensor2d(batch.mask, [batch.batchSize, batch.seqLen]);
      return tf.div(tf.sum(tf.mul(tf.cast(tf.equal(pred, targets), 'float32'), mask)), tf.sum(mask)).dataSync()[0]!;
    });
    expect(acc).toBeGreaterThan(0.95);
    res.optimizer.dispose();
    lm.params.dispose();
  });
});
