/**
 * LayerNorm and column sums in plain JavaScript, for backends that register {@link FUSED_KERNELS}.layerNorm,
 * .layerNormGrad and .sumRows over their own memory (wasm). One pass per row instead of ~9 (forward) and ~13
 * (backward) elementwise and reduction kernels; sums accumulate in float64, so results agree with a float64
 * reference to float32 rounding.
 */

/**
 * Row-wise normalisation of x [M, C] (row-major): xhat = (x - mean) * rstd with rstd = 1 / sqrt(var + eps) and the
 * biased variance, as torch.nn.LayerNorm without gain and bias. Also writes rstd [M], which
 * {@link layerNormGradInto} takes back.
 */
export function layerNormInto(
  x: Float32Array,
  M: number,
  C: number,
  eps: number,
  xhat: Float32Array,
  rstd: Float32Array,
): void {
  for (let r = 0; r < M; r++) {
    const o = r * C;
    // one pass for both moments; float64 sums keep E[x^2] - mean^2 exact enough for float32 outputs
    let s = 0;
    let q = 0;
    for (let j = o; j < o + C; j++) {
      const v = x[j]!;
      s += v;
      q += v * v;
    }
    const mu = s / C;
    const rs = 1 / Math.sqrt(Math.max(q / C - mu * mu, 0) + eps);
    for (let j = o; j < o + C; j++) xhat[j] = (x[j]! - mu) * rs;
    rstd[r] = rs;
  }
}

/**
 * LayerNorm's input gradient for a gradient g of xhat, row by row: dx = rstd (g - mean(g) - xhat mean(g xhat)),
 * with xhat = (x - mean) rstd from x and the forward's rstd. The row mean is recomputed in float64 (a float32 mean
 * would cost precision on rows far from 0), in the same pass as the sums of g and g x. All [M, C] except rstd [M].
 */
export function layerNormGradInto(
  g: Float32Array,
  x: Float32Array,
  rstd: Float32Array,
  M: number,
  C: number,
  dx: Float32Array,
): void {
  for (let r = 0; r < M; r++) {
    const o = r * C;
    let sx = 0;
    let sg = 0;
    let sgx = 0;
    for (let j = o; j < o + C; j++) {
      const v = x[j]!;
      const gj = g[j]!;
      sx += v;
      sg += gj;
      sgx += gj * v;
    }
    const mu = sx / C;
    const rs = rstd[r]!;
    const mg = sg / C;
    const mgx = (rs * (sgx - mu * sg)) / C; // mean(g xhat)
    const k = rs * mgx;
    for (let j = o; j < o + C; j++) dx[j] = rs * (g[j]! - mg - (x[j]! - mu) * k);
  }
}

/** Column sums of x [M, N] (row-major) into out [N], accumulated in float64, four rows at a time. */
export function sumRowsInto(x: Float32Array, M: number, N: number, out: Float32Array): void {
  const acc = new Float64Array(N);
  let r = 0;
  for (; r + 4 <= M; r += 4) {
    const o = r * N;
    for (let j = 0; j < N; j++) acc[j]! += x[o + j]! + x[o + N + j]! + x[o + 2 * N + j]! + x[o + 3 * N + j]!;
  }
  for (; r < M; r++) {
    const o = r * N;
    for (let j = 0; j < N; j++) acc[j]! += x[o + j]!;
  }
  out.set(acc);
}
