import { describe, expect, it } from 'vitest';
import { scoreAnswers } from '../src/index.js';

describe('scoreAnswers', () => {
  it('scores every field on answers of length 10 (quartiles 0-2, 3-4, 5-7, 8-9)', () => {
    const answers = ['0123456789', '0123456789'];
    const predictions = [
      '0123456789', // all right
      'x12x4x67xx', // wrong at 0, 3, 5, 8, 9
    ];
    const m = scoreAnswers(predictions, answers);
    expect(m.n).toBe(2);
    expect(m.charAcc).toBeCloseTo(15 / 20);
    expect(m.exactMatch).toBeCloseTo(1 / 2);
    expect(m.firstCharAcc).toBeCloseTo(1 / 2);
    expect(m.lastCharAcc).toBeCloseTo(1 / 2);
    expect(m.quartiles[0]).toBeCloseTo(5 / 6);
    expect(m.quartiles[1]).toBeCloseTo(3 / 4);
    expect(m.quartiles[2]).toBeCloseTo(5 / 6);
    expect(m.quartiles[3]).toBeCloseTo(2 / 4);
  });

  it('scores every field on answers of length 11 (quartiles 0-2, 3-5, 6-8, 9-10)', () => {
    const answers = ['01234567890', '01234567890', '01234567890'];
    const predictions = [
      '01234567891', // wrong at the last position only
      '012x4567890', // wrong at 3 (Q2)
      '012345x7890', // wrong at 6 (Q3)
    ];
    const m = scoreAnswers(predictions, answers);
    expect(m.n).toBe(3);
    expect(m.charAcc).toBeCloseTo(30 / 33);
    expect(m.exactMatch).toBe(0);
    expect(m.firstCharAcc).toBe(1);
    expect(m.lastCharAcc).toBeCloseTo(2 / 3);
    expect(m.quartiles[0]).toBe(1);
    expect(m.quartiles[1]).toBeCloseTo(8 / 9);
    expect(m.quartiles[2]).toBeCloseTo(8 / 9);
    expect(m.quartiles[3]).toBeCloseTo(5 / 6);
  });

  it('counts missing characters of short predictions as wrong and ignores extra ones', () => {
    const m = scoreAnswers(['0579', '05', '', '05791234'], ['0579', '0579', '0579', '0579']);
    expect(m.charAcc).toBeCloseTo((4 + 2 + 0 + 4) / 16);
    expect(m.exactMatch).toBeCloseTo(1 / 4); // the long prediction is not an exact match
    expect(m.firstCharAcc).toBeCloseTo(3 / 4);
    expect(m.lastCharAcc).toBeCloseTo(2 / 4);
    expect(m.quartiles).toEqual([3 / 4, 3 / 4, 2 / 4, 2 / 4]); // length 4: one position per quartile
  });

  it('gives perfect and zero scores at the extremes, NaN where nothing was measured', () => {
    const perfect = scoreAnswers(['12', '34'], ['12', '34']);
    expect(perfect).toEqual({
      charAcc: 1,
      exactMatch: 1,
      firstCharAcc: 1,
      lastCharAcc: 1,
      quartiles: [1, Number.NaN, 1, Number.NaN],
      n: 2,
    });
    const wrong = scoreAnswers(['21', '43'], ['12', '34']);
    expect([wrong.charAcc, wrong.exactMatch, wrong.firstCharAcc, wrong.lastCharAcc]).toEqual([0, 0, 0, 0]);
  });

  it('rejects mismatched lengths', () => {
    expect(() => scoreAnswers(['1'], ['1', '2'])).toThrow(RangeError);
  });
});
