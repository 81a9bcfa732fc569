import { describe, expect, it } from 'vitest';
import { formatMetricsTable, scoreAnswers } from '../src/index.js';

describe('formatMetricsTable', () => {
  it('prints one row per length with the percentages a person reads', () => {
    const text = formatMetricsTable({
      '10': {
        charAcc: 0.83,
        exactMatch: 0.12,
        firstCharAcc: 1,
        lastCharAcc: 0.41,
        quartiles: [0.97, 0.98, 0.74, 0.7],
        n: 100,
      },
      '20': scoreAnswers(['12', '35'], ['12', '34']),
    });
    const lines = text.split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^length\s+char acc %\s+exact %\s+first %\s+last %\s+Q1 %\s+Q2 %\s+Q3 %\s+Q4 %\s+n$/);
    expect(lines[2]!.trim().split(/\s+/)).toEqual([
      '10',
      '83.0',
      '12.0',
      '100.0',
      '41.0',
      '97.0',
      '98.0',
      '74.0',
      '70.0',
      '100',
    ]);
    expect(lines[3]!.trim().split(/\s+/)).toEqual([
      '20',
      '75.0',
      '50.0',
      '100.0',
      '50.0',
      '100.0',
      '-',
      '50.0',
      '-',
      '2',
    ]);
    expect(new Set(lines.map((l) => l.length)).size).toBe(1); // columns line up
  });
});
