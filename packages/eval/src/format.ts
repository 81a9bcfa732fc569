import type { AnswerMetrics } from './metrics.js';

const HEADER = ['length', 'char acc %', 'exact %', 'first %', 'last %', 'Q1 %', 'Q2 %', 'Q3 %', 'Q4 %', 'n'];

/**
 * A plain-text table of metrics per length (keys of `results`, in their order), percentages with one decimal,
 * `-` where nothing was measured. Example row: `10  83.0  12.0  100.0  41.0  97.0  98.0  74.0  70.0  100`.
 */
export function formatMetricsTable(results: Readonly<Record<string, AnswerMetrics>>): string {
  const rows = Object.entries(results).map(([length, m]) => [
    length,
    ...[m.charAcc, m.exactMatch, m.firstCharAcc, m.lastCharAcc, ...m.quartiles].map(percent),
    String(m.n),
  ]);
  const table = [HEADER, ...rows];
  const widths = HEADER.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
  const line = (r: string[]) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  return [line(HEADER), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function percent(x: number): string {
  return Number.isFinite(x) ? (100 * x).toFixed(1) : '-';
}
