/**
 * A small hand-written SVG line chart: a few series over a shared x axis (training step). `renderChart` returns
 * markup built only from numbers and fixed labels; the page sets it as innerHTML.
 */

export interface Series {
  readonly name: string;
  readonly color: string;
  readonly points: readonly { readonly x: number; readonly y: number }[];
  /** Draw a dot at every point (sparse series such as evaluations). */
  readonly dots?: boolean;
}

export interface ChartSpec {
  readonly width: number;
  readonly height: number;
  readonly series: readonly Series[];
  /** Fixed y range (e.g. [0, 1] for accuracy); otherwise from the data. */
  readonly yDomain?: readonly [number, number];
  /** Minimum x range (so the axis does not jump while the first points arrive). */
  readonly xMax?: number;
  readonly yFormat?: (y: number) => string;
  /** Horizontal reference line (e.g. chance accuracy). */
  readonly reference?: { readonly y: number; readonly label: string };
  /** Announced by screen readers; also the chart's title. */
  readonly label: string;
}

const PAD = { left: 40, right: 10, top: 10, bottom: 22 };
/** Series longer than this are thinned (every k-th point plus the last) before drawing. */
export const MAX_DRAWN_POINTS = 400;

/** Up to `count` round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 4): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

/** Keeps at most `max` points: every k-th one and always the last. */
export function thin<T>(points: readonly T[], max = MAX_DRAWN_POINTS): T[] {
  if (points.length <= max) return [...points];
  const k = Math.ceil(points.length / max);
  const out = points.filter((_, i) => i % k === 0);
  if (out[out.length - 1] !== points[points.length - 1]) out.push(points[points.length - 1]!);
  return out;
}

/** The data ranges, padded so a flat series still gets a visible band. */
export function domains(spec: Pick<ChartSpec, 'series' | 'yDomain' | 'xMax'>): {
  x: [number, number];
  y: [number, number];
} {
  const all = spec.series.flatMap((s) => s.points);
  const xMax = Math.max(spec.xMax ?? 1, ...all.map((p) => p.x));
  let y: [number, number];
  if (spec.yDomain) y = [spec.yDomain[0], spec.yDomain[1]];
  else if (all.length === 0) y = [0, 1];
  else {
    const ys = all.map((p) => p.y).filter(Number.isFinite);
    const lo = Math.min(...ys, 0);
    const hi = Math.max(...ys);
    y = hi > lo ? [lo, hi * 1.05] : [lo, lo + 1];
  }
  return { x: [0, xMax], y };
}

/** SVG path data for points already mapped into pixel space. */
export function pathData(points: readonly { x: number; y: number }[]): string {
  return points.map((p, i) => `${i === 0 ? 'M' : 'L'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join('');
}

export function renderChart(spec: ChartSpec): string {
  const { width: W, height: H } = spec;
  const { x: xd, y: yd } = domains(spec);
  const iw = W - PAD.left - PAD.right;
  const ih = H - PAD.top - PAD.bottom;
  const sx = (x: number) => PAD.left + ((x - xd[0]) / (xd[1] - xd[0])) * iw;
  const sy = (y: number) => PAD.top + ih - ((Math.min(Math.max(y, yd[0]), yd[1]) - yd[0]) / (yd[1] - yd[0])) * ih;
  const fmt = spec.yFormat ?? ((y: number) => String(y));
  const parts: string[] = [];
  for (const t of niceTicks(yd[0], yd[1], 4)) {
    parts.push(
      `<line class="grid" x1="${PAD.left}" x2="${W - PAD.right}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}"/>`,
    );
    parts.push(
      `<text class="tick" x="${PAD.left - 6}" y="${(sy(t) + 4).toFixed(1)}" text-anchor="end">${fmt(t)}</text>`,
    );
  }
  for (const t of niceTicks(xd[0], xd[1], 5)) {
    parts.push(`<text class="tick" x="${sx(t).toFixed(1)}" y="${H - 6}" text-anchor="middle">${t}</text>`);
  }
  if (spec.reference) {
    const y = sy(spec.reference.y).toFixed(1);
    parts.push(`<line class="reference" x1="${PAD.left}" x2="${W - PAD.right}" y1="${y}" y2="${y}"/>`);
    parts.push(
      `<text class="reference-label" x="${W - PAD.right - 4}" y="${(Number(y) - 4).toFixed(1)}" text-anchor="end">${spec.reference.label}</text>`,
    );
  }
  let total = 0;
  for (const s of spec.series) {
    const pts = thin(s.points.filter((p) => Number.isFinite(p.y))).map((p) => ({ x: sx(p.x), y: sy(p.y) }));
    total += s.points.length;
    if (pts.length > 1) parts.push(`<path class="line" d="${pathData(pts)}" stroke="${s.color}"/>`);
    if (s.dots || pts.length === 1) {
      for (const p of pts)
        parts.push(`<circle cx="${p.x.toFixed(1)}" cy="${p.y.toFixed(1)}" r="2.5" fill="${s.color}"/>`);
    }
  }
  return (
    `<svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="${spec.label}" data-points="${total}">` +
    `<title>${spec.label}</title>` +
    `<line class="axis" x1="${PAD.left}" x2="${PAD.left}" y1="${PAD.top}" y2="${PAD.top + ih}"/>` +
    `<line class="axis" x1="${PAD.left}" x2="${W - PAD.right}" y1="${PAD.top + ih}" y2="${PAD.top + ih}"/>` +
    parts.join('') +
    `</svg>`
  );
}
