/**
 * The JavaScript LayerNorm and column sums behind the fused wasm kernels, against float64 computations written out
 * here, on rows with a large offset (cancellation), a constant row (zero variance) and a single column.
 */
import { describe, expect, it } from 'vitest';
import { layerNormGradInto, layerNormInto, sumRowsInto } from '../src/norm-math.js';

/** Deterministic values in [-1, 1). */
function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

function reference(x: Float32Array, g: Float32Array, M: number, C: number, eps: number) {
  const xhat = new Float64Array(M * C);
  const dx = new Float64Array(M * C);
  for (let r = 0; r < M; r++) {
    const row = Array.from(x.subarray(r * C, (r + 1) * C));
    const mu = row.reduce((a, b) => a + b, 0) / C;
    const rs = 1 / Math.sqrt(row.reduce((a, b) => a + (b - mu) ** 2, 0) / C + eps);
    const xh = row.map((v) => (v - mu) * rs);
    const gr = Array.from(g.subarray(r * C, (r + 1) * C));
    const mg = gr.reduce((a, b) => a + b, 0) / C;
    const mgx = gr.reduce((a, b, j) => a + b * xh[j]!, 0) / C;
    for (let j = 0; j < C; j++) {
      xhat[r * C + j] = xh[j]!;
      dx[r * C + j] = rs * (gr[j]! - mg - xh[j]! * mgx);
    }
  }
  return { xhat, dx };
}

describe('LayerNorm and column sums in JavaScript (fused kernels)', () => {
  const cases: [string, number, number, (x: Float32Array) => void][] = [
    ['random rows', 37, 24, () => {}],
    ['rows offset by 1000 (cancellation)', 9, 128, (x) => x.forEach((v, i) => (x[i] = v + 1000))],
    ['a constant row (zero variance)', 3, 16, (x) => x.fill(0.25, 16, 32)],
    ['one column', 5, 1, () => {}],
  ];
  for (const [name, M, C, edit] of cases) {
    it(`normalises and differentiates like float64: ${name}`, () => {
      const eps = 1e-5;
      const x = values(M * C, 7);
      edit(x);
      const g = values(M * C, 11);
      const xhat = new Float32Array(M * C);
      const rstd = new Float32Array(M);
      layerNormInto(x, M, C, eps, xhat, rstd);
      const dx = new Float32Array(M * C);
      layerNormGradInto(g, x, rstd, M, C, dx);
      const ref = reference(x, g, M, C, eps);
      const scale = (a: Float64Array) => Math.max(1, ...Array.from(a, Math.abs));
      for (let i = 0; i < M * C; i++) {
        expect(Math.abs(xhat[i]! - ref.xhat[i]!)).toBeLessThanOrEqual(4e-7 * scale(ref.xhat));
        expect(Math.abs(dx[i]! - ref.dx[i]!)).toBeLessThanOrEqual(2e-6 * scale(ref.dx));
      }
    });
  }

  it('sums columns in float64', () => {
    const M = 2112;
    const N = 7;
    const x = values(M * N, 3).map((v, i) => (i % N === 0 ? v + 1e4 : v));
    const out = new Float32Array(N);
    sumRowsInto(x, M, N, out);
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let r = 0; r < M; r++) s += x[r * N + j]!;
      expect(out[j]).toBe(Math.fround(s));
    }
  });
});
