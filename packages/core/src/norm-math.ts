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
export function layerNormInto(x: Float32Array, M: number, C: number, eps: number, xhat: Float32Array, rstd: Float32Array): void {
  for (let r = 0; r < M; r++) {
    const o = r * C;
    let s = 0;
    for (let j = 0; j < C; j++) s += x[o + j]!;
    const mu = s / C;
    let q = 0;
    for (let j = 0; j < C; j++) {
      const d = x[o + j]! - mu;
      q += d * d;
    }
    const rs = 1 / Math.sqrt(q / C + eps);
    for (let j = 0; j < C; j++) xhat[o + j] = (x[o + j]! - mu) * rs;
    rstd[r] = rs;
  }
}

/**
 * LayerNorm's input gradient for a gradient g of xhat, row by row: dx = rstd (g - mean(g) - xhat mean(g xhat)),
 * with xhat recomputed from x and the forward's rstd. The row mean is recomputed in float64 (a float32 mean would
 * cost precision on rows far from 0). All [M, C] except rstd [M].
 */
export function layerNormGradInto(g: Float32Array, x: Float32Array, rstd: Float32Array, M: number, C: number, dx: Float32Array): void {
  for (let r = 0; r < M; r++) {
    const o = r * C;
    let s = 0;
    for (let j = 0; j < C; j++) s += x[o + j]!;
    const mu = s / C;
    const rs = rstd[r]!;
    let sg = 0;
    let sgx = 0;
    for (let j = 0; j < C; j++) {
      const gj = g[o + j]!;
      sg += gj;
      sgx += gj * (x[o + j]! - mu) * rs;
    }
    const mg = sg / C;
    const mgx = sgx / C;
    for (let j = 0; j < C; j++) dx[o + j] = rs * (g[o + j]! - mg - (x[o + j]! - mu) * rs * mgx);
  }
}

/** Column sums of x [M, N] (row-major) into out [N], accumulated in float64. */
export function sumRowsInto(x: Float32Array, M: number, N: number, out: Float32Array): void {
  const acc = new Float64Array(N);
  for (let r = 0; r < M; r++) {
    const o = r * N;
    for (let j = 0; j < N; j++) acc[j]! += x[o + j]!;
  }
  out.set(acc);
}
