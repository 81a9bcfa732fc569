import { expect, it } from 'vitest';
import { ConfigError } from '@tarm/core';
import { describeOnBackends, expectNoLeaks } from '@tarm/test-utils/vitest';
import { decodeAnswers, evaluationSet, VOCAB_SIZE } from '../src/index.js';
import { addition, reverse } from '../src/internal.js';
import { constantLM, oracleLM, withSession } from './helpers.js';

const uniform = constantLM(new Array(VOCAB_SIZE).fill(0));

describeOnBackends('greedy decoding', ['cpu'], () => {
  it('returns exactly the answers of an oracle LM, one model call per new token, no tensor leak', async () => {
    for (const task of [addition, reverse]) {
      const L = 5;
      const set = evaluationSet(task, L, 12);
      const lm = oracleLM(new Map(set.map((e) => [e.prompt, e.answer])), task.promptLength(L));
      const out = await expectNoLeaks(() =>
        decodeAnswers(
          lm,
          set.map((e) => e.prompt),
          task.answerLength(L) + 5,
          { strategy: 'greedy' },
        ),
      );
      expect(out).toEqual(set.map((e) => e.answer));
      // prefix grows one token per call; stops as soon as every row emitted its newline
      const P = task.promptLength(L);
      expect(lm.calls).toEqual(Array.from({ length: task.answerLength(L) + 1 }, (_, i) => [12, P + i]));
    }
  });

  it('ends each row at its own first newline and keeps the others going', async () => {
    const lm = oracleLM(
      new Map([
        ['12|', '1'],
        ['34|', '3434'],
      ]),
      3,
    );
    expect(await decodeAnswers(lm, ['12|', '34|'], 10, { strategy: 'greedy' })).toEqual(['1', '3434']);
    expect(lm.calls.map((c) => c[1])).toEqual([3, 4, 5, 6, 7]);
  });

  it('stops after maxNewTokens even when no row ended', async () => {
    const lm = oracleLM(new Map([['12|', '98765']]), 3);
    expect(await decodeAnswers(lm, ['12|'], 3, { strategy: 'greedy' })).toEqual(['987']);
    expect(lm.calls).toHaveLength(3);
    expect(await decodeAnswers(lm, ['12|'], 0, { strategy: 'greedy' })).toEqual(['']);
    expect(await decodeAnswers(lm, [], 5, { strategy: 'greedy' })).toEqual([]);
  });

  it('breaks ties towards the lowest id', async () => {
    const row = new Array(VOCAB_SIZE).fill(0);
    row[4] = 3;
    row[7] = 3;
    expect(await decodeAnswers(constantLM(row), ['1|'], 2, { strategy: 'greedy' })).toEqual(['44']);
  });
});

describeOnBackends('sampling', ['cpu'], () => {
  const prompts = Array.from({ length: 16 }, (_, i) => String(i % 10) + '|');

  it('is deterministic for a seed and differs across seeds, without leaking tensors', async () => {
    const [a, b, c] = await expectNoLeaks(async () => [
      await decodeAnswers(uniform, prompts, 8, { strategy: 'sample', seed: 1 }),
      await decodeAnswers(uniform, prompts, 8, { strategy: 'sample', seed: 1 }),
      await decodeAnswers(uniform, prompts, 8, { strategy: 'sample', seed: 2 }),
    ]);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
    for (const s of a) expect(s).not.toContain('\n');
    expect(a.some((s) => s.length < 8)).toBe(true); // newline has probability 1/14 per step: some rows end early
    expect(new Set(a.join('')).size).toBeGreaterThan(8); // uniform over 13 non-newline symbols
  });

  it('defaults to temperature 1 and follows softmax(logits / T)', async () => {
    const row = new Array(VOCAB_SIZE).fill(0);
    row[1] = 2;
    row[13] = -1e9; // never emit newline: every row yields exactly maxNewTokens draws
    const lm = constantLM(row);
    const many = Array.from({ length: 200 }, () => '5|');
    const freqOf1 = (out: string[]) =>
      out
        .join('')
        .split('')
        .filter((ch) => ch === '1').length /
      (out.length * 5);

    const t1 = await decodeAnswers(lm, many, 5, { strategy: 'sample', seed: 3 });
    expect(await decodeAnswers(lm, many, 5, { strategy: 'sample', seed: 3, temperature: 1 })).toEqual(t1);
    const p1 = Math.exp(2) / (Math.exp(2) + 12); // 0.381
    expect(Math.abs(freqOf1(t1) - p1)).toBeLessThan(0.06);

    const cold = await decodeAnswers(lm, many, 5, { strategy: 'sample', seed: 3, temperature: 0.05 });
    expect(freqOf1(cold)).toBe(1); // T -> 0 approaches greedy

    const hot = await decodeAnswers(lm, many, 5, { strategy: 'sample', seed: 3, temperature: 100 });
    expect(Math.abs(freqOf1(hot) - 1 / 13)).toBeLessThan(0.04); // T -> inf approaches uniform over the 13 symbols
  });
});

describeOnBackends('incremental decoding (startDecoding)', ['cpu'], () => {
  it('prefills the prompts in one call, then appends one token per step, and disposes the session', async () => {
    const L = 4;
    const set = evaluationSet(addition, L, 5);
    const P = addition.promptLength(L);
    const oracle = oracleLM(new Map(set.map((e) => [e.prompt, e.answer])), P);
    const lm = withSession(oracle);
    const out = await expectNoLeaks(() =>
      decodeAnswers(
        lm,
        set.map((e) => e.prompt),
        addition.answerLength(L) + 5,
        { strategy: 'greedy' },
      ),
    );
    expect(out).toEqual(set.map((e) => e.answer));
    expect(lm.appends).toEqual([[5, P], ...Array.from({ length: addition.answerLength(L) }, () => [5, 1])]);
    expect([lm.opened, lm.disposed]).toEqual([1, 1]);
  });

  it('gives the same strings as recomputing the prefix (cache: false), greedy and sampled', async () => {
    const prompts = Array.from({ length: 16 }, (_, i) => String(i % 10) + '|');
    for (const opts of [{ strategy: 'greedy' as const }, { strategy: 'sample' as const, seed: 4 }]) {
      const lm = withSession(uniform);
      const a = await decodeAnswers(lm, prompts, 8, opts);
      const b = await decodeAnswers(lm, prompts, 8, { ...opts, cache: false });
      expect(b).toEqual(a);
      expect(lm.opened).toBe(1); // cache: false never opened a session
    }
  });

  it('disposes the session when the model throws', async () => {
    let calls = 0;
    const lm = withSession({
      logits: (ids) => {
        if (++calls === 3) throw new Error('boom');
        return uniform.logits(ids);
      },
    });
    await expect(decodeAnswers(lm, ['1|'], 5, { strategy: 'greedy' })).rejects.toThrow('boom');
    expect([lm.opened, lm.disposed]).toEqual([1, 1]);
  });

  it('opens no session for maxNewTokens 0 and rejects a non-boolean cache option', async () => {
    const lm = withSession(uniform);
    expect(await decodeAnswers(lm, ['1|'], 0, { strategy: 'greedy' })).toEqual(['']);
    expect(lm.opened).toBe(0);
    const err = await decodeAnswers(lm, ['1|'], 2, { strategy: 'greedy', cache: 'yes' as never }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).field).toBe('cache');
  });
});

describeOnBackends('validation', ['cpu'], () => {
  it('rejects unknown strategies and non-positive temperatures with ConfigErrors naming the field', () => {
    const bad = [
      [{ strategy: 'beam' }, 'strategy', 'greedy'],
      [{ strategy: 'sample', seed: 1, temperature: 0 }, 'temperature', '> 0'],
      [{ strategy: 'sample', seed: 1, temperature: -1 }, 'temperature', '> 0'],
      [{ strategy: 'greedy', temperature: Number.NaN }, 'temperature', '> 0'],
      [{ strategy: 'sample' }, 'seed', 'required'],
    ] as const;
    return Promise.all(
      bad.map(async ([opts, field, allowed]) => {
        const err = await decodeAnswers(uniform, ['1|'], 2, opts as never).catch((e: unknown) => e);
        expect(err, field).toBeInstanceOf(ConfigError);
        expect((err as ConfigError).field).toBe(field);
        expect((err as ConfigError).allowed).toContain(allowed);
      }),
    );
  });

  it('lists both strategies when the strategy is unknown', async () => {
    const err = (await decodeAnswers(uniform, ['1|'], 2, { strategy: 'beam' as never }).catch(
      (e: unknown) => e,
    )) as ConfigError;
    expect(err.message).toContain('greedy');
    expect(err.message).toContain('sample');
  });

  it('rejects prompts of different lengths and bad maxNewTokens', async () => {
    await expect(decodeAnswers(uniform, ['1|', '12|'], 2, { strategy: 'greedy' })).rejects.toThrow(
      /same length.*prompt 1 has 3/,
    );
    await expect(decodeAnswers(uniform, [''], 2, { strategy: 'greedy' })).rejects.toThrow(/empty/);
    await expect(decodeAnswers(uniform, ['1|'], -1, { strategy: 'greedy' })).rejects.toThrow(ConfigError);
    await expect(decodeAnswers(uniform, ['1|'], 1.5, { strategy: 'greedy' })).rejects.toThrow(ConfigError);
  });
});
