import type { AnswerMetrics } from './metrics.js';

/**
 * A table of strings: plain text (columns padded, the first left-aligned, the others right-aligned), or with
 * `markdown` a Markdown table (`align` per column, default: the first left, the others right).
 */
export function table(
  headers: readonly string[],
  rows: readonly (readonly (string | number)[])[],
  opts: { markdown?: boolean; align?: readonly ('l' | 'r')[] } = {},
): string {
  const cells = [headers, ...rows].map((r) => r.map(String));
  const right = (i: number) => (opts.align?.[i] ?? (i === 0 ? 'l' : 'r')) === 'r';
  if (opts.markdown)
    return [cells[0]!, headers.map((_, i) => (right(i) ? '---:' : '---')), ...cells.slice(1)]
      .map((r) => `| ${r.join(' | ')} |`)
      .join('\n');
  const widths = headers.map((_, c) => Math.max(...cells.map((r) => r[c]!.length)));
  const line = (r: string[]) =>
    r.map((cell, c) => (right(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ');
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

/** A fraction as a percentage with one decimal; "-" when missing or not finite. */
export function pct(x: number | null | undefined): string {
  return x === undefined || x === null || !Number.isFinite(x) ? '-' : (100 * x).toFixed(1);
}

/** 42640128 -> "42.64M"; "-" when missing. */
export function human(n: number | null | undefined): string {
  if (n === undefined || n === null || !Number.isFinite(n)) return '-';
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}

/** 12147483648 -> "11.31 GiB", 3145728 -> "3 MiB". */
export function gib(bytes: number): string {
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(2)} GiB` : `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

/** 125 -> "2m05s", 3725 -> "1h02m05s"; "?" when missing or not finite. */
export function duration(seconds: number | null | undefined): string {
  if (seconds === undefined || seconds === null || !Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number) => String(n).padStart(2, '0');
  if (h > 0) return `${h}h${pad(m)}m${pad(s % 60)}s`;
  return m > 0 ? `${m}m${pad(s % 60)}s` : `${s}s`;
}

const HEADER = ['length', 'char acc %', 'exact %', 'first %', 'last %', 'Q1 %', 'Q2 %', 'Q3 %', 'Q4 %', 'n'];

/**
 * A plain-text table of metrics per length (keys of `results`, in their order), percentages with one decimal,
 * `-` where nothing was measured. Example row: `10  83.0  12.0  100.0  41.0  97.0  98.0  74.0  70.0  100`.
 */
export function formatMetricsTable(results: Readonly<Record<string, AnswerMetrics>>): string {
  const rows = Object.entries(results).map(([length, m]) => [
    length,
    ...[m.charAcc, m.exactMatch, m.firstCharAcc, m.lastCharAcc, ...m.quartiles].map(pct),
    String(m.n),
  ]);
  return table(HEADER, rows);
}
