import { describe, expect, it } from 'vitest';
import { NEWLINE_ID, TASK_NAMES, getTask, trainingBatch, type Batch } from '../src/index.js';

/**
 * The training stream as a distribution, pinned to what the authors' data module does (github.com/pauliusrauba/
 * autoregressive-TRM, data_modules/algorithmic_char.py: every digit uniform and independent, leading zeros allowed,
 * the sum zero-padded to L + 1 digits, the loss on the answer and its end newline). The two streams compared over
 * 32,000 examples a side: docs/results/crosscheck/data.md (tools/crosscheck/data_compare.py).
 * Chi-square statistics are compared with their 0.1% critical values; the stream is seeded, so each check is
 * deterministic.
 */
const BATCHES = 300;
const B = 32;
const N = BATCHES * B;
/** chi-square critical values at p = 0.001 by degrees of freedom */
const CRITICAL: Record<number, number> = { 1: 10.828, 4: 18.467, 9: 27.877, 10: 29.588, 99: 148.23 };

function stream(task: string, L: number, seed = 11): Batch[] {
  return Array.from({ length: BATCHES }, (_, step) => trainingBatch(getTask(task), L, B, seed, step));
}

/** Rows of full strings (inputs + the last target): prompt + answer + newline, as token ids. */
function rows(batches: Batch[]): number[][] {
  return batches.flatMap((b) =>
    Array.from({ length: b.batchSize }, (_, r) => [
      ...b.inputs.slice(r * b.seqLen, (r + 1) * b.seqLen),
      b.targets[(r + 1) * b.seqLen - 1]!,
    ]),
  );
}

function chi2(counts: number[], probs: number[]): number {
  const n = counts.reduce((a, c) => a + c, 0);
  return counts.reduce((a, c, i) => a + (c - n * probs[i]!) ** 2 / (n * probs[i]!), 0);
}

const count = (xs: number[], k: number) => xs.reduce((c, x) => (c[x]!++, c), new Array<number>(k).fill(0));
const UNIFORM = new Array<number>(10).fill(0.1);

/** P(a carry out of the top digit) for two uniform L-digit strings; and P(k carries), k = 0..L. */
function carryOut(L: number): number {
  let c = 0;
  for (let i = 0; i < L; i++) c = 0.45 * (1 - c) + 0.55 * c;
  return c;
}
function carryCounts(L: number): number[] {
  let p = [[1, ...new Array<number>(L).fill(0)], new Array<number>(L + 1).fill(0)]; // [carry in][carries so far]
  for (let i = 0; i < L; i++) {
    const q = [new Array<number>(L + 1).fill(0), new Array<number>(L + 1).fill(0)];
    for (const [c, up] of [
      [0, 0.45],
      [1, 0.55],
    ] as const)
      for (let k = 0; k <= L; k++) {
        q[0]![k]! += p[c]![k]! * (1 - up);
        if (k < L) q[1]![k + 1]! += p[c]![k]! * up;
      }
    p = q;
  }
  return p[0]!.map((x, k) => x + p[1]![k]!);
}

describe('the training stream as a distribution (what the authors data module does)', () => {
  for (const task of TASK_NAMES)
    for (const L of [4, 10]) {
      it(`${task}, L = ${L}: digits uniform at every position, independent, answer + newline counted`, () => {
        const t = getTask(task);
        const P = t.promptLength(L);
        const A = t.answerLength(L);
        const batches = stream(task, L);
        const full = rows(batches);
        const digitPositions = [...Array(P + A).keys()].filter((i) => full[0]![i]! < 10);
        expect(digitPositions.length).toBe(P + A - (task === 'addition' ? 2 : 1)); // the separators are constant
        for (const pos of digitPositions) {
          const c = count(
            full.map((r) => r[pos]!),
            10,
          );
          if (task === 'addition' && pos === P) {
            // the first answer digit is the carry out of the top digit: 0 or 1
            const up = carryOut(L);
            expect(c.slice(2).every((x) => x === 0)).toBe(true);
            expect(chi2(c.slice(0, 2), [1 - up, up]), `position ${pos}`).toBeLessThan(CRITICAL[1]!);
          } else expect(chi2(c, UNIFORM), `position ${pos}`).toBeLessThan(CRITICAL[9]!);
        }
        // independence of the drawn digits: the prompt's digits as non-overlapping pairs (d0 d1), (d2 d3), ...
        const drawn = full.map((r) => r.slice(0, P - 1).filter((x) => x < 10));
        const pairs = drawn.flatMap((d) =>
          Array.from({ length: d.length >> 1 }, (_, i) => d[2 * i]! * 10 + d[2 * i + 1]!),
        );
        expect(chi2(count(pairs, 100), new Array<number>(100).fill(0.01)), 'digit pairs').toBeLessThan(CRITICAL[99]!);
        // and between consecutive examples (rows of a batch, batches of the stream)
        const firsts = full.map((r) => r[0]!);
        const consecutive = firsts.slice(1).map((x, i) => firsts[i]! * 10 + x);
        expect(chi2(count(consecutive, 100), new Array<number>(100).fill(0.01)), 'consecutive examples').toBeLessThan(
          CRITICAL[99]!,
        );
        // the loss mask: targets P-1 .. P+A-1, the answer's A digits then the end newline, in every row
        for (const b of batches)
          for (let r = 0; r < B; r++) {
            const m = Array.from(b.mask.slice(r * b.seqLen, (r + 1) * b.seqLen));
            expect(m).toEqual(m.map((_, i) => (i >= P - 1 && i <= P + A - 1 ? 1 : 0)));
            const tg = b.targets.slice(r * b.seqLen, (r + 1) * b.seqLen);
            expect(tg[P + A - 1]).toBe(NEWLINE_ID);
            expect(Array.from(tg.slice(P - 1, P + A - 1)).every((x) => x < 10)).toBe(true);
          }
        if (task === 'addition') {
          // carries per example against the exact distribution (a two-state chain: 0.45 without, 0.55 with a carry in)
          const k = full.map((r) => {
            let c = 0;
            let n = 0;
            for (let i = L - 1; i >= 0; i--) {
              c = r[i]! + r[L + 1 + i]! + c >= 10 ? 1 : 0;
              n += c;
            }
            return n;
          });
          expect(chi2(count(k, L + 1), carryCounts(L)), 'carries').toBeLessThan(CRITICAL[L]!);
        }
        expect(full.length).toBe(N);
      });
    }

  it('the carry distribution sums to 1 and gives the textbook L = 1 values', () => {
    const [none, one] = carryCounts(1);
    expect(none).toBeCloseTo(0.55, 12);
    expect(one).toBeCloseTo(0.45, 12);
    expect(carryCounts(10).reduce((a, x) => a + x, 0)).toBeCloseTo(1, 12);
    expect(carryOut(1)).toBeCloseTo(0.45, 12);
  });
});
