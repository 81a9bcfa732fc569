/**
 * GELU in plain JavaScript, for backends that register {@link FUSED_KERNELS}.gelu over their own memory (wasm).
 * One pass per call instead of the 5 (forward) and 7 (backward) elementwise kernels of the op chain, and no
 * `erf` / `exp`, which tfjs-backend-wasm evaluates one scalar libm call at a time (~8 ns an element).
 *
 * Phi (the normal CDF) and g = Phi + x phi (GELU's derivative) come from tables at spacing h = 1/128 on
 * [-8, 8] with cubic Hermite interpolation (values and exact derivatives at both ends of a cell; the
 * interpolation error is ~1e-11): results agree with float64 GELU to float32 rounding. Outside [-8, 8], Phi and g are 0 or 1 to double precision.
 */

const RANGE = 8;
const PER_UNIT = 128;
const CELLS = 2 * RANGE * PER_UNIT;
const H = 1 / PER_UNIT;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

interface Tables {
  /** Per cell i (x in [x_i, x_i + h]): the Hermite cubic's coefficients c0..c3 in t = (x - x_i) / h, interleaved. */
  readonly cdf: Float64Array; // Phi
  readonly g: Float64Array; // Phi + x phi
}

let tables: Tables | undefined;

const pdfAt = (x: number): number => INV_SQRT_2PI * Math.exp(-0.5 * x * x);

/**
 * Builds the tables once: Phi at the nodes by composite Gauss-Legendre (5 points) integration of phi outward
 * from Phi(0) = 1/2, then each cell's cubic from the values and derivatives at its two nodes.
 */
function buildTables(): Tables {
  const n = CELLS + 1;
  const gl = [
    [0, 128 / 225],
    [-Math.sqrt(5 - 2 * Math.sqrt(10 / 7)) / 3, (322 + 13 * Math.sqrt(70)) / 900],
    [Math.sqrt(5 - 2 * Math.sqrt(10 / 7)) / 3, (322 + 13 * Math.sqrt(70)) / 900],
    [-Math.sqrt(5 + 2 * Math.sqrt(10 / 7)) / 3, (322 - 13 * Math.sqrt(70)) / 900],
    [Math.sqrt(5 + 2 * Math.sqrt(10 / 7)) / 3, (322 - 13 * Math.sqrt(70)) / 900],
  ] as const;
  /** integral of phi over [a, a + H] */
  const cell = (a: number): number => {
    let s = 0;
    for (const [t, w] of gl) s += w * pdfAt(a + (H / 2) * (1 + t));
    return (s * H) / 2;
  };
  const cdfAt = new Float64Array(n);
  const mid = CELLS / 2; // node of x = 0
  cdfAt[mid] = 0.5;
  for (let i = mid; i < CELLS; i++) cdfAt[i + 1] = cdfAt[i]! + cell(-RANGE + i * H);
  for (let i = mid; i > 0; i--) cdfAt[i - 1] = cdfAt[i]! - cell(-RANGE + (i - 1) * H);
  const node = (i: number) => {
    const x = -RANGE + i * H;
    const pdf = pdfAt(x);
    return { cdf: cdfAt[i]!, pdf, g: cdfAt[i]! + x * pdf, dg: (2 - x * x) * pdf };
  };
  const cdf = new Float64Array(4 * CELLS);
  const g = new Float64Array(4 * CELLS);
  /** p(t) = c0 + c1 t + c2 t^2 + c3 t^3 with p(0) = f0, p(1) = f1, p'(0) = h d0, p'(1) = h d1 */
  const cubic = (out: Float64Array, i: number, f0: number, d0: number, f1: number, d1: number) => {
    out[4 * i] = f0;
    out[4 * i + 1] = H * d0;
    out[4 * i + 2] = 3 * (f1 - f0) - H * (2 * d0 + d1);
    out[4 * i + 3] = 2 * (f0 - f1) + H * (d0 + d1);
  };
  for (let i = 0; i < CELLS; i++) {
    const a = node(i);
    const b = node(i + 1);
    cubic(cdf, i, a.cdf, a.pdf, b.cdf, b.pdf);
    cubic(g, i, a.g, a.dg, b.g, b.dg);
  }
  return { cdf, g };
}

/** y[i] = GELU(x[i]) = x Phi(x). */
export function geluInto(x: Float32Array, y: Float32Array): void {
  const c = (tables ??= buildTables()).cdf;
  const n = x.length;
  for (let i = 0; i < n; i++) {
    const v = x[i]!;
    const u = (v + RANGE) * PER_UNIT; // cell coordinate in [0, CELLS)
    if (u > 0 && u < CELLS) {
      const k = u | 0;
      const t = u - k;
      const b = k << 2;
      y[i] = v * (((c[b + 3]! * t + c[b + 2]!) * t + c[b + 1]!) * t + c[b]!);
    } else y[i] = u >= CELLS ? v : u <= 0 ? 0 : v; // NaN stays NaN
  }
}

/** dx[i] = dy[i] (Phi(x[i]) + x[i] phi(x[i])). */
export function geluGradInto(x: Float32Array, dy: Float32Array, dx: Float32Array): void {
  const c = (tables ??= buildTables()).g;
  const n = x.length;
  for (let i = 0; i < n; i++) {
    const v = x[i]!;
    const u = (v + RANGE) * PER_UNIT;
    if (u > 0 && u < CELLS) {
      const k = u | 0;
      const t = u - k;
      const b = k << 2;
      dx[i] = dy[i]! * (((c[b + 3]! * t + c[b + 2]!) * t + c[b + 1]!) * t + c[b]!);
    } else dx[i] = u >= CELLS ? dy[i]! : u <= 0 ? 0 : v;
  }
}
