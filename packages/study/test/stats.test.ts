import { describe, expect, it } from 'vitest';
import { formatMeanCI, meanCI, slopeCI, tQuantile975 } from '../src/stats.js';

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
