import betaQuantile from '@stdlib/stats-base-dists-beta-quantile';
import chisquareCdf from '@stdlib/stats-base-dists-chisquare-cdf';
import hypergeometricPmf from '@stdlib/stats-base-dists-hypergeometric-pmf';

/** Mean and 95% confidence interval of a sample (Student t, two-sided). */
export interface MeanCI {
  /** Values that entered (missing and non-finite values are left out). */
  readonly n: number;
  /** NaN when n = 0. */
  readonly mean: number;
  /** Sample standard deviation (n - 1 in the denominator); undefined for n < 2. */
  readonly sd?: number;
  /** Half-width t(0.975, n - 1) * sd / sqrt(n); undefined for n < 2. */
  readonly halfWidth?: number;
  readonly lo?: number;
  readonly hi?: number;
}

/** t(0.975, df) for df = 1..30 (standard tables). */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11,
  2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** The two-sided 95% Student t quantile t(0.975, df); a series expansion beyond the table (error < 1e-3). */
export function tQuantile975(df: number): number {
  if (!Number.isInteger(df) || df < 1) throw new RangeError(`tQuantile975: df must be a positive integer, got ${df}`);
  if (df <= T975.length) return T975[df - 1]!;
  const z = 1.959964;
  const z3 = z ** 3;
  const z5 = z ** 5;
  return z + (z3 + z) / (4 * df) + (5 * z5 + 16 * z3 + 3 * z) / (96 * df * df);
}

/** Mean and 95% CI over the finite values of `values` (e.g. one value per seed). */
export function meanCI(values: readonly (number | null | undefined)[]): MeanCI {
  const xs = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  const n = xs.length;
  if (n === 0) return { n, mean: Number.NaN };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { n, mean };
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
  const halfWidth = (tQuantile975(n - 1) * sd) / Math.sqrt(n);
  return { n, mean, sd, halfWidth, lo: mean - halfWidth, hi: mean + halfWidth };
}

/**
 * "98.2 ± 1.1" (values scaled by `scale`, e.g. 100 for fractions shown in percent), "98.2 (n=1)" for one value,
 * "-" for none.
 */
export function formatMeanCI(ci: MeanCI, scale = 100, digits = 1): string {
  if (ci.n === 0) return '-';
  const m = (ci.mean * scale).toFixed(digits);
  return ci.halfWidth === undefined ? `${m} (n=1)` : `${m} ± ${(ci.halfWidth * scale).toFixed(digits)}`;
}

/** Difference of two means with a 95% Welch interval (see {@link welchDiffCI}). */
export interface DiffCI {
  /** Finite values in each sample. */
  readonly n1: number;
  readonly n2: number;
  /** mean(a) - mean(b); NaN when a sample is empty. */
  readonly diff: number;
  /** Standard error sqrt(s1^2 / n1 + s2^2 / n2); undefined unless both samples have n >= 2. */
  readonly se?: number;
  /** Welch-Satterthwaite degrees of freedom, rounded down (at least 1). */
  readonly df?: number;
  readonly halfWidth?: number;
  readonly lo?: number;
  readonly hi?: number;
}

/**
 * Welch's two-sample t interval for mean(a) - mean(b) at 95%: d ± t(0.975, df) * se with
 * se = sqrt(s1^2/n1 + s2^2/n2) and the Welch-Satterthwaite df rounded down (conservative, so the table of
 * integer quantiles serves). Unequal variances are allowed; no pairing is assumed. Both samples need n >= 2 for
 * an interval. When both have zero spread the interval is the point d (df = n1 + n2 - 2).
 */
export function welchDiffCI(
  a: readonly (number | null | undefined)[],
  b: readonly (number | null | undefined)[],
): DiffCI {
  const A = meanCI(a);
  const B = meanCI(b);
  const diff = A.n && B.n ? A.mean - B.mean : Number.NaN;
  if (A.sd === undefined || B.sd === undefined) return { n1: A.n, n2: B.n, diff };
  const v1 = A.sd ** 2 / A.n;
  const v2 = B.sd ** 2 / B.n;
  const se = Math.sqrt(v1 + v2);
  let df: number;
  if (se === 0) df = A.n + B.n - 2;
  else df = Math.max(1, Math.floor((v1 + v2) ** 2 / (v1 ** 2 / (A.n - 1) + v2 ** 2 / (B.n - 1)) + 1e-9));
  const halfWidth = tQuantile975(df) * se;
  return { n1: A.n, n2: B.n, diff, se, df, halfWidth, lo: diff - halfWidth, hi: diff + halfWidth };
}

/** "+3.2", "-1.0", "0.0": `x * scale` with an explicit sign (none for a value that rounds to 0). */
export function formatSigned(x: number, scale = 100, digits = 1): string {
  const v = Number((x * scale).toFixed(digits));
  return `${v > 0 ? '+' : v < 0 ? '-' : ''}${Math.abs(v).toFixed(digits)}`;
}

/** Least-squares line through (x, y) points, with the 95% interval of its slope. */
export interface SlopeCI {
  readonly n: number;
  /** dy/dx; NaN for fewer than 2 distinct x. */
  readonly slope: number;
  /** slope ± t(0.975, n - 2) * se; undefined for n < 3. */
  readonly lo?: number;
  readonly hi?: number;
}

/** Ordinary least squares slope of y on x and its 95% t interval (n - 2 degrees of freedom). */
export function slopeCI(xs: readonly number[], ys: readonly number[]): SlopeCI {
  const n = Math.min(xs.length, ys.length);
  const mx = xs.slice(0, n).reduce((a, b) => a + b, 0) / n;
  const my = ys.slice(0, n).reduce((a, b) => a + b, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (xs[i]! - mx) ** 2;
    sxy += (xs[i]! - mx) * (ys[i]! - my);
  }
  if (n < 2 || sxx === 0) return { n, slope: Number.NaN };
  const slope = sxy / sxx;
  if (n < 3) return { n, slope };
  let sse = 0;
  for (let i = 0; i < n; i++) sse += (ys[i]! - my - slope * (xs[i]! - mx)) ** 2;
  const half = tQuantile975(n - 2) * Math.sqrt(sse / (n - 2) / sxx);
  return { n, slope, lo: slope - half, hi: slope + half };
}

/**
 * Paired 95% t interval of mean(a[i] - b[i]) over the pairs where both values are finite (one pair per seed:
 * two metrics of the same run, e.g. Q1 and Q4).
 */
export function pairedDiffCI(
  a: readonly (number | null | undefined)[],
  b: readonly (number | null | undefined)[],
): MeanCI {
  const d: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (typeof x === 'number' && typeof y === 'number' && Number.isFinite(x) && Number.isFinite(y)) d.push(x - y);
  }
  return meanCI(d);
}

/** A success count with its exact (Clopper-Pearson) two-sided 95% interval of the rate, in [0, 1]. */
export interface CountCI {
  readonly k: number;
  readonly n: number;
  readonly lo: number;
  readonly hi: number;
}

/** Clopper-Pearson interval of k successes in n trials: Beta(α/2; k, n - k + 1) to Beta(1 - α/2; k + 1, n - k). */
export function clopperPearson(k: number, n: number, alpha = 0.05): CountCI {
  if (!Number.isInteger(k) || !Number.isInteger(n) || n < 1 || k < 0 || k > n)
    throw new RangeError(`clopperPearson: need 0 <= k <= n, n >= 1 integers; got k ${k}, n ${n}`);
  return {
    k,
    n,
    lo: k === 0 ? 0 : betaQuantile(alpha / 2, k, n - k + 1),
    hi: k === n ? 1 : betaQuantile(1 - alpha / 2, k + 1, n - k),
  };
}

/**
 * Fisher's exact test of a 2 x 2 table (k1 of n1 vs k2 of n2), two-sided: the probability, under the
 * hypergeometric law of the margins, of every table no more likely than the observed one (scipy's rule,
 * with a relative tolerance of 1e-7 for ties).
 */
export function fisherExact(k1: number, n1: number, k2: number, n2: number): number {
  const N = n1 + n2;
  const K = k1 + k2;
  const lo = Math.max(0, K - n2);
  const hi = Math.min(K, n1);
  const p0 = hypergeometricPmf(k1, N, K, n1);
  let p = 0;
  for (let x = lo; x <= hi; x++) {
    const px = hypergeometricPmf(x, N, K, n1);
    if (px <= p0 * (1 + 1e-7)) p += px;
  }
  return Math.min(1, p);
}

/** One subject of a time-to-event analysis: the time of the event, or the last time it was seen (censored). */
export interface Survival {
  readonly time: number;
  /** true: the event happened at `time`; false: censored at `time` (not yet by then). */
  readonly event: boolean;
}

/** A step of a Kaplan-Meier curve: S(t) just after `time`. */
export interface KMPoint {
  readonly time: number;
  readonly atRisk: number;
  readonly events: number;
  readonly survival: number;
}

/** The Kaplan-Meier estimate S(t) = Π (1 - d_i / n_i) over the distinct event times (censoring at a tie after the events). */
export function kaplanMeier(xs: readonly Survival[]): KMPoint[] {
  const times = [...new Set(xs.filter((x) => x.event).map((x) => x.time))].sort((a, b) => a - b);
  let s = 1;
  return times.map((time) => {
    const atRisk = xs.filter((x) => x.time >= time).length;
    const events = xs.filter((x) => x.event && x.time === time).length;
    s *= 1 - events / atRisk;
    return { time, atRisk, events, survival: s };
  });
}

/** The log-rank (Mantel-Cox) test of two groups: observed and expected events of group a, chi-square (1 df) and p. */
export interface LogRank {
  readonly observedA: number;
  readonly expectedA: number;
  readonly observedB: number;
  readonly expectedB: number;
  readonly chi2: number;
  /** Two-sided p-value; 1 when no event happened or the variance is 0. */
  readonly p: number;
}

export function logRank(a: readonly Survival[], b: readonly Survival[]): LogRank {
  const times = [...new Set([...a, ...b].filter((x) => x.event).map((x) => x.time))].sort((x, y) => x - y);
  let oA = 0;
  let eA = 0;
  let v = 0;
  let d = 0;
  for (const t of times) {
    const nA = a.filter((x) => x.time >= t).length;
    const nB = b.filter((x) => x.time >= t).length;
    const dA = a.filter((x) => x.event && x.time === t).length;
    const dT = dA + b.filter((x) => x.event && x.time === t).length;
    const n = nA + nB;
    oA += dA;
    d += dT;
    eA += (dT * nA) / n;
    if (n > 1) v += (dT * (nA / n) * (nB / n) * (n - dT)) / (n - 1);
  }
  const chi2 = v > 0 ? (oA - eA) ** 2 / v : 0;
  return {
    observedA: oA,
    expectedA: eA,
    observedB: d - oA,
    expectedB: d - eA,
    chi2,
    p: v > 0 ? 1 - chisquareCdf(chi2, 1) : 1,
  };
}
