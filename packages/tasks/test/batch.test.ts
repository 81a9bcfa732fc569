import { describe, expect, it } from 'vitest';
import { decode, evaluationSet, NEWLINE_ID, trainingBatch } from '../src/index.js';
import { addition, copy, encodeExamples, reverse, sequenceLength } from '../src/internal.js';

const row = (a: ArrayLike<number>, b: number, T: number) => Array.from(a).slice(b * T, (b + 1) * T);

describe('encodeExamples', () => {
  const examples = [
    { prompt: '123+456=', answer: '0579' },
    { prompt: '999+001=', answer: '1000' },
  ];

  it('gives inputs and targets shifted by one, and masks exactly the answer and the first newline', () => {
    const T = sequenceLength(addition, 3);
    expect(T).toBe(12);
    const batch = encodeExamples(examples, T);
    expect([batch.batchSize, batch.seqLen, batch.inputs.length, batch.mask.length]).toEqual([2, 12, 24, 24]);
    expect(decode(row(batch.inputs, 0, T))).toBe('123+456=0579');
    expect(decode(row(batch.targets, 0, T))).toBe('23+456=0579\n');
    expect(decode(row(batch.inputs, 1, T))).toBe('999+001=1000');
    expect(decode(row(batch.targets, 1, T))).toBe('99+001=1000\n');
    // target t predicts character t + 1: the answer is characters 8..11, the newline character 12.
    const expected = [0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1];
    expect(row(batch.mask, 0, T)).toEqual(expected);
    expect(row(batch.mask, 1, T)).toEqual(expected);
  });

  it('right-pads with newline ids and still masks answerLength + 1 targets per row', () => {
    const T = 16;
    const batch = encodeExamples(examples, T);
    expect(decode(row(batch.inputs, 0, T))).toBe('123+456=0579\n\n\n\n');
    expect(decode(row(batch.targets, 0, T))).toBe('23+456=0579\n\n\n\n\n');
    expect(row(batch.inputs, 1, T).slice(12)).toEqual([NEWLINE_ID, NEWLINE_ID, NEWLINE_ID, NEWLINE_ID]);
    for (let b = 0; b < 2; b++) {
      const m = row(batch.mask, b, T);
      expect(m.reduce((s, v) => s + v, 0)).toBe(5);
      expect(m.flatMap((v, t) => (v ? [t] : []))).toEqual([7, 8, 9, 10, 11]);
      // every masked target is an answer character or the first newline
      const targets = decode(row(batch.targets, b, T));
      expect(m.flatMap((v, t) => (v ? [targets[t]] : [])).join('')).toBe(examples[b]!.answer + '\n');
    }
  });

  it('masks answerLength + 1 targets per row for every task at several lengths', () => {
    for (const task of [copy, reverse, addition]) {
      for (const L of [1, 10, 50]) {
        const T = sequenceLength(task, L);
        const batch = trainingBatch(task, L, 4, 1, 0);
        const P = task.promptLength(L);
        const A = task.answerLength(L);
        for (let b = 0; b < 4; b++) {
          const m = row(batch.mask, b, T);
          expect(m.flatMap((v, t) => (v ? [t] : []))).toEqual(Array.from({ length: A + 1 }, (_, i) => P - 1 + i));
          expect(row(batch.targets, b, T)[T - 1]).toBe(NEWLINE_ID);
        }
      }
    }
  });

  it('rejects an example that does not fit the sequence length', () => {
    expect(() => encodeExamples(examples, 10)).toThrow(RangeError);
  });
});

describe('trainingBatch', () => {
  it('is a pure function of (seed, step)', () => {
    const a = trainingBatch(addition, 10, 8, 1337, 5);
    const b = trainingBatch(addition, 10, 8, 1337, 5);
    expect(b.inputs).toEqual(a.inputs);
    expect(b.targets).toEqual(a.targets);
    expect(b.mask).toEqual(a.mask);
  });

  it('differs across steps and seeds', () => {
    const a = trainingBatch(addition, 10, 8, 1337, 5);
    expect(trainingBatch(addition, 10, 8, 1337, 6).inputs).not.toEqual(a.inputs);
    expect(trainingBatch(addition, 10, 8, 1338, 5).inputs).not.toEqual(a.inputs);
  });
});

describe('evaluationSet', () => {
  it('is fixed per (task, L, seed)', () => {
    expect(evaluationSet(addition, 10, 100, 1337)).toEqual(evaluationSet(addition, 10, 100, 1337));
    expect(evaluationSet(copy, 10)).toEqual(evaluationSet(copy, 10, 100, 1337));
  });

  it('changes with the seed, the length and the task', () => {
    const base = evaluationSet(copy, 10, 100, 1337).map((e) => e.prompt);
    expect(evaluationSet(copy, 10, 100, 1).map((e) => e.prompt)).not.toEqual(base);
    expect(evaluationSet(copy, 20, 100, 1337).map((e) => e.prompt.slice(0, 10))).not.toEqual(
      base.map((p) => p.slice(0, 10)),
    );
    expect(evaluationSet(reverse, 10, 100, 1337).map((e) => e.prompt)).not.toEqual(base);
  });

  it('has n problems of the right shape, (almost) all distinct', () => {
    for (const task of [copy, reverse, addition]) {
      const set = evaluationSet(task, 10, 100);
      expect(set).toHaveLength(100);
      expect(new Set(set.map((e) => e.prompt)).size).toBe(100); // 10^10 prompts: a repeat would be a bug
      for (const e of set) expect(e.prompt.length).toBe(task.promptLength(10));
    }
    // at L = 3 there are only 1000 copy prompts: a few birthday repeats are expected, not many
    expect(new Set(evaluationSet(copy, 3, 100).map((e) => e.prompt)).size).toBeGreaterThan(85);
    expect(evaluationSet(addition, 10, 7)).toHaveLength(7);
  });
});
