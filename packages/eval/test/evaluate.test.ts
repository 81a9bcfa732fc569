import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { ConfigError, type CausalLM } from '@tarm/core';
import { describeOnBackends, expectNoLeaks } from '@tarm/test-utils/vitest';
import { evaluationSet, VOCAB_SIZE } from '@tarm/tasks';
import { addition, copy } from '@tarm/tasks/internal';
import { evaluateLength, evaluateLengths } from '../src/index.js';
import { additionAnswer, solverLM } from './helpers.js';

const oracle = solverLM(additionAnswer);
/** Right everywhere except the last answer digit, which it always gets wrong by one. */
const lastDigitWrong = solverLM(additionAnswer, (i, n, id) => (i === n - 1 ? (id + 1) % 10 : id));
const uniform: CausalLM = { logits: (ids) => tf.zeros([...ids.shape, VOCAB_SIZE]) as tf.Tensor3D };

describeOnBackends('evaluateLengths', ['cpu'], () => {
  it('scores an oracle LM at 100% on every length, keyed by String(L), without leaking tensors', async () => {
    const res = await expectNoLeaks(() =>
      evaluateLengths(oracle, addition, [3, 10], { n: 20, decode: { strategy: 'greedy' } }),
    );
    expect(Object.keys(res)).toEqual(['3', '10']);
    for (const r of Object.values(res)) {
      expect(r).toMatchObject({
        charAcc: 1,
        exactMatch: 1,
        firstCharAcc: 1,
        lastCharAcc: 1,
        quartiles: [1, 1, 1, 1],
        n: 20,
      });
    }
    const set = evaluationSet(addition, 10, 20, 1337);
    expect(res['10']!.examples).toEqual(
      set.slice(0, 5).map((p) => ({ prompt: p.prompt, answer: p.answer, prediction: p.answer })),
    );
  });

  it('shows an LM wrong only on the last digit as lastCharAcc 0, Q4 < 1, Q1-Q3 = 1', async () => {
    const res = await evaluateLengths(lastDigitWrong, addition, [10], {
      n: 20,
      decode: { strategy: 'greedy' },
      batchSize: 7,
    });
    const r = res['10']!;
    expect(r.lastCharAcc).toBe(0);
    expect(r.firstCharAcc).toBe(1);
    expect(r.exactMatch).toBe(0);
    expect(r.charAcc).toBeCloseTo(10 / 11);
    expect(r.quartiles.slice(0, 3)).toEqual([1, 1, 1]);
    expect(r.quartiles[3]).toBeCloseTo(1 / 2); // Q4 of an 11-digit answer holds positions 9 and 10
    expect(r.examples).toHaveLength(5);
    for (const e of r.examples) expect(e.prediction.slice(0, -1)).toBe(e.answer.slice(0, -1));
  });

  it('samples reproducibly, with a different stream per length', async () => {
    const opts = { n: 10, decode: { strategy: 'sample' as const, seed: 5 } };
    const a = await evaluateLength(uniform, copy, 4, opts);
    const b = await evaluateLength(uniform, copy, 4, opts);
    expect(b).toEqual(a);
    const other = await evaluateLength(uniform, copy, 4, { ...opts, decode: { strategy: 'sample', seed: 6 } });
    expect(other.examples.map((e) => e.prediction)).not.toEqual(a.examples.map((e) => e.prediction));
    // different lengths draw different streams even for the same seed: the first 4 characters differ
    const at5 = await evaluateLength(uniform, copy, 5, opts);
    expect(at5.examples.map((e) => e.prediction.slice(0, 4))).not.toEqual(
      a.examples.map((e) => e.prediction.slice(0, 4)),
    );
    expect(a.charAcc).toBeLessThan(0.5); // uniform guessing is near chance
  });

  it('validates its options', async () => {
    const bad = [
      [{ n: 0, decode: { strategy: 'greedy' } }, 'n'],
      [{ batchSize: 0, decode: { strategy: 'greedy' } }, 'batchSize'],
      [{ decode: { strategy: 'beam' } }, 'strategy'],
      [{}, 'decode'],
    ] as const;
    for (const [opts, field] of bad) {
      const err = await evaluateLength(oracle, addition, 3, opts as never).catch((e: unknown) => e);
      expect(err, field).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).field).toBe(field);
    }
  });
});
