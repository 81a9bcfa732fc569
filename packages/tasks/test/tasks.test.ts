import { describe, expect, it } from 'vitest';
import { ConfigError, Rng } from '@tarm/core';
import { decode, encode, getTask, NEWLINE_ID, TASK_NAMES, VOCAB, VOCAB_SIZE } from '../src/index.js';
import { addDigitStrings, addition, chanceAccuracy, copy, reverse } from '../src/internal.js';
import { scriptedRng } from './helpers.js';

const full = (ex: { prompt: string; answer: string }) => ex.prompt + ex.answer;

describe('task definitions produce the specified strings', () => {
  it('copy: 0317|0317', () => {
    expect(full(copy.sample(scriptedRng('0317'), 4))).toBe('0317|0317');
    expect([copy.promptLength(4), copy.answerLength(4)]).toEqual([5, 4]);
  });

  it('reverse: 0317|7130', () => {
    expect(full(reverse.sample(scriptedRng('0317'), 4))).toBe('0317|7130');
    expect([reverse.promptLength(4), reverse.answerLength(4)]).toEqual([5, 4]);
  });

  it('addition at L = 3: zero padding to L + 1 digits and carries', () => {
    expect(full(addition.sample(scriptedRng('123456'), 3))).toBe('123+456=0579');
    expect(full(addition.sample(scriptedRng('999001'), 3))).toBe('999+001=1000');
    expect(full(addition.sample(scriptedRng('000000'), 3))).toBe('000+000=0000');
    expect(full(addition.sample(scriptedRng('999999'), 3))).toBe('999+999=1998');
    expect(full(addition.sample(scriptedRng('0509'), 2))).toBe('05+09=014');
    expect([addition.promptLength(3), addition.answerLength(3)]).toEqual([8, 4]);
  });

  it('random problems have the declared shape and correct answers', () => {
    const rng = new Rng(7);
    for (const L of [1, 10, 50]) {
      for (let i = 0; i < 20; i++) {
        for (const task of [copy, reverse, addition]) {
          const ex = task.sample(rng, L);
          expect(ex.prompt.length).toBe(task.promptLength(L));
          expect(ex.answer.length).toBe(task.answerLength(L));
        }
        const ex = addition.sample(rng, L);
        const [a, b] = ex.prompt.slice(0, -1).split('+');
        expect(BigInt(ex.answer)).toBe(BigInt(a!) + BigInt(b!));
      }
    }
  });

  it('addDigitStrings adds exactly at any length', () => {
    expect(addDigitStrings('0', '0')).toBe('0');
    expect(addDigitStrings('99999999999999999999', '1')).toBe('100000000000000000000');
    expect(addDigitStrings('123', '45')).toBe('168');
  });
});

describe('registry and vocabulary', () => {
  it('getTask finds the three tasks by name', () => {
    expect(TASK_NAMES).toEqual(['copy', 'reverse', 'addition']);
    expect(getTask('addition')).toBe(addition);
  });

  it('getTask("nope") throws a ConfigError naming the field and listing the tasks', () => {
    let err: unknown;
    try {
      getTask('nope');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const ce = err as ConfigError;
    expect(ce.field).toBe('task');
    for (const name of ['copy', 'reverse', 'addition']) {
      expect(ce.allowed).toContain(name);
      expect(ce.message).toContain(name);
    }
    expect(ce.message).toContain('nope');
  });

  it('has 14 symbols: digits, |, +, =, newline', () => {
    expect(VOCAB_SIZE).toBe(14);
    expect(VOCAB.join('')).toBe('0123456789|+=\n');
    expect(NEWLINE_ID).toBe(13);
    expect(decode(encode('0317|7130\n'))).toBe('0317|7130\n');
    expect(encode('9+=')).toEqual([9, 11, 12]);
    expect(() => encode('a')).toThrow(RangeError);
    expect(() => decode([14])).toThrow(RangeError);
  });
});

describe('chanceAccuracy: the best prompt-blind predictor', () => {
  it('is 10% on copy and reverse and (50% + L x 10%) / (L + 1) on addition, the same number every time', () => {
    expect(Math.abs(chanceAccuracy(copy, 10) - 0.1)).toBeLessThan(0.003);
    expect(Math.abs(chanceAccuracy(reverse, 10) - 0.1)).toBeLessThan(0.003);
    expect(Math.abs(chanceAccuracy(addition, 4) - 0.18)).toBeLessThan(0.004); // leading digit 0 or 1: ~50%
    expect(Math.abs(chanceAccuracy(addition, 10) - 1.5 / 11)).toBeLessThan(0.004);
    expect(chanceAccuracy(addition, 4)).toBe(chanceAccuracy(addition, 4));
  });
});
