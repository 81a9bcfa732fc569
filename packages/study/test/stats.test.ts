import { describe, expect, it } from 'vitest';
import {
  clopperPearson,
  fisherExact,
  formatMeanCI,
  kaplanMeier,
  logRank,
  meanCI,
  pairedDiffCI,
  slopeCI,
  tQuantile975,
} from '../src/stats.js';

describe('stats', () => {
  it('t quantiles match the tables', () => {
    expect(tQuantile975(1)).toBeCloseTo(12.706, 3);
    expect(tQuantile975(2)).toBeCloseTo(4.303, 3);
    expect(tQuantile975(10)).toBeCloseTo(2.228, 3);
    expect(tQuantile975(31)).toBeCloseTo(2.0395, 3);
    expect(tQuantile975(60)).toBeCloseTo(2.0003, 3);
    expect(tQuantile975(1000)).toBeCloseTo(1.9623, 3);
  });

  it('mean and 95% CI of known samples', () => {
    // 1, 2, 3: mean 2, sd 1, half-width 4.303 / sqrt(3)
    const ci = meanCI([1, 2, 3]);
    expect(ci.n).toBe(3);
    expect(ci.mean).toBe(2);
    expect(ci.sd).toBeCloseTo(1, 12);
    expect(ci.halfWidth).toBeCloseTo(4.303 / Math.sqrt(3), 6);
    expect(ci.lo).toBeCloseTo(2 - 2.48434, 4);
    // two values 0.9, 1.0: sd 0.0707, half-width 12.706 * 0.0707 / sqrt 2 = 0.6353
    expect(meanCI([0.9, 1.0]).halfWidth).toBeCloseTo(0.6353, 4);
    // identical values: zero-width interval
    expect(meanCI([0.5, 0.5, 0.5]).halfWidth).toBe(0);
  });

  it('n = 1 has no interval, missing values are left out', () => {
    expect(meanCI([0.7])).toEqual({ n: 1, mean: 0.7 });
    expect(meanCI([null, 0.7, Number.NaN, undefined]).n).toBe(1);
    expect(meanCI([]).n).toBe(0);
    expect(formatMeanCI(meanCI([0.982]))).toBe('98.2 (n=1)');
    expect(formatMeanCI(meanCI([0.9, 1.0]))).toBe('95.0 ± 63.5');
    expect(formatMeanCI(meanCI([]))).toBe('-');
  });
  it('slopeCI: least-squares slope with its t interval (n - 2 df), as scipy.stats.linregress gives it', () => {
    // slope 0.6, stderr sqrt(0.1 / 5) = 0.14142 (linregress), t(0.975, 2) = 4.303
    const f = slopeCI([0, 1, 2, 3], [0, 1, 1, 2]);
    expect(f.slope).toBeCloseTo(0.6, 12);
    expect(f.lo).toBeCloseTo(0.6 - 4.303 * Math.sqrt(0.02), 9);
    expect(f.hi).toBeCloseTo(0.6 + 4.303 * Math.sqrt(0.02), 9);
    expect(slopeCI([0, 1], [0, 1])).toEqual({ n: 2, slope: 1 }); // no interval without a residual degree of freedom
    expect(slopeCI([2, 2, 2], [0, 1, 2]).slope).toBeNaN();
    const exact = slopeCI([250, 500, 750], [0.1, 0.2, 0.3]); // a perfect line: a zero-width interval
    expect(exact.lo).toBeCloseTo(exact.hi!, 12);
  });
});

// Reference values from scipy 1.17.1 (scipy.stats.fisher_exact, binomtest(...).proportion_ci(method='exact'),
// logrank with CensoredData), computed independently of this code and written in here.
describe('exact and time-to-event statistics', () => {
  it('clopperPearson matches scipy (exact binomial interval)', () => {
    const close = (ci: { lo: number; hi: number }, lo: number, hi: number) => {
      expect(ci.lo).toBeCloseTo(lo, 9);
      expect(ci.hi).toBeCloseTo(hi, 9);
    };
    close(clopperPearson(3, 5), 0.14663279963467254, 0.9472550494736843);
    close(clopperPearson(0, 5), 0, 0.5218237501049814);
    close(clopperPearson(12, 16), 0.4762291801038724, 0.9273379617471178);
    expect(() => clopperPearson(6, 5)).toThrow(/k <= n/);
  });

  it('fisherExact matches scipy (two-sided)', () => {
    expect(fisherExact(5, 5, 1, 5)).toBeCloseTo(0.047619047619047616, 12);
    expect(fisherExact(3, 5, 0, 5)).toBeCloseTo(0.16666666666666666, 12);
    expect(fisherExact(12, 16, 5, 16)).toBeCloseTo(0.03195238826540324, 12);
    expect(fisherExact(5, 5, 5, 5)).toBe(1);
  });

  it('logRank matches scipy (chi-square = z^2, two-sided p)', () => {
    const ev = (t: number) => ({ time: t, event: true });
    const cens = (t: number) => ({ time: t, event: false });
    const r = logRank(
      [ev(500), ev(750), ev(750), ev(1000), cens(1250), cens(1250)],
      [ev(1000), ...Array.from({ length: 5 }, () => cens(1250))],
    );
    expect(r.chi2).toBeCloseTo(1.8471872395935391 ** 2, 9);
    expect(r.p).toBeCloseTo(0.06472000811442714, 9);
    expect(r.observedA).toBe(4);
    expect(r.observedA).toBeGreaterThan(r.expectedA);
    expect(logRank([cens(10)], [cens(10)]).p).toBe(1);
  });

  it('kaplanMeier steps down at each event time, censoring keeps subjects at risk until their time', () => {
    const km = kaplanMeier([
      { time: 1, event: true },
      { time: 2, event: false },
      { time: 3, event: true },
      { time: 3, event: false },
    ]);
    expect(km.map((p) => [p.time, p.atRisk, p.events])).toEqual([
      [1, 4, 1],
      [3, 2, 1],
    ]);
    expect(km[0]!.survival).toBeCloseTo(0.75, 12);
    expect(km[1]!.survival).toBeCloseTo(0.375, 12);
  });

  it('pairedDiffCI pairs by position and drops incomplete pairs', () => {
    const ci = pairedDiffCI([0.9, 0.8, 1, null], [0.1, 0.2, 0.3, 0.5]);
    expect(ci.n).toBe(3);
    expect(ci.mean).toBeCloseTo(0.7, 12);
    expect(ci.halfWidth).toBeCloseTo(4.303 * Math.sqrt(0.01 / 3), 9);
  });
});
