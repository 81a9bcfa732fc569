/**
 * The JavaScript GELU behind the fused wasm kernels: values and derivative against a float64 GELU (erf from its
 * Taylor series / continued fraction), over the whole line, the table's edges and non-finite inputs.
 */
import { describe, expect, it } from 'vitest';
import { geluGradInto, geluInto } from '../src/gelu-math.js';

/** float64 erf: Taylor series below 3, continued fraction of erfc above (both far below 1e-12 error). */
function erf64(x: number): number {
  const ax = Math.abs(x);
  if (ax < 3) {
    let s = 0;
    let t = ax;
    for (let n = 0; n < 200 && Math.abs(t) > 1e-18; n++) {
      s += t / (2 * n + 1);
      t *= (-ax * ax) / (n + 1);
    }
    return (Math.sign(x) * 2 * s) / Math.sqrt(Math.PI);
  }
  let f = 0;
  for (let k = 60; k >= 1; k--) f = k / 2 / (ax + f);
  return Math.sign(x) * (1 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f));
}
const cdf64 = (x: number) => 0.5 * (1 + erf64(x / Math.SQRT2));
const pdf64 = (x: number) => Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);

describe('GELU in JavaScript (fused kernels)', () => {
  const N = 40_001;
  const x = new Float32Array(N).map((_, i) => -12 + (24 * i) / (N - 1));
  const edges = Float32Array.from([-8, Math.fround(-8 + 2 ** -20), Math.fround(8 - 2 ** -20), 8, 0, -0, 1e-30, -1e-30]);

  it('matches float64 x Phi(x) to float32 rounding', () => {
    for (const xs of [x, edges]) {
      const y = new Float32Array(xs.length);
      geluInto(xs, y);
      for (let i = 0; i < xs.length; i++) {
        const ref = xs[i]! * cdf64(xs[i]!);
        expect(Math.abs(y[i]! - ref)).toBeLessThanOrEqual(1.2e-7 * Math.max(1, Math.abs(ref)));
      }
    }
  });

  it('matches float64 dy (Phi(x) + x phi(x)) to float32 rounding', () => {
    for (const xs of [x, edges]) {
      const dy = new Float32Array(xs.length).map((_, i) => (i % 3) - 1.5);
      const dx = new Float32Array(xs.length);
      geluGradInto(xs, dy, dx);
      for (let i = 0; i < xs.length; i++) {
        const v = xs[i]!;
        const ref = dy[i]! * (cdf64(v) + v * pdf64(v));
        expect(Math.abs(dx[i]! - ref)).toBeLessThanOrEqual(2.4e-7);
      }
    }
  });

  it('passes NaN through and saturates at +-infinity', () => {
    const xs = Float32Array.from([NaN, Infinity, -Infinity]);
    const y = new Float32Array(3);
    const dx = new Float32Array(3);
    geluInto(xs, y);
    geluGradInto(xs, Float32Array.from([1, 1, 1]), dx);
    expect(Array.from(y)).toEqual([NaN, Infinity, 0]);
    expect(Array.from(dx)).toEqual([NaN, 1, 0]);
  });
});
