import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { collectResults, readResults } from '../src/index.js';
import { RESULTS_CSV_COLUMNS, resultsCsv } from '../src/results-csv.js';
import { copyFixtureStudy } from './helpers.js';

describe('results.csv', () => {
  const dir = copyFixtureStudy();
  collectResults(dir);
  const results = readResults(dir);
  const text = readFileSync(join(dir, 'results.csv'), 'utf8');
  expect(text).not.toMatch(/"/); // nothing needed quoting: a plain split parses it
  const [header, ...lines] = text.trimEnd().split('\n');
  const rows = lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [RESULTS_CSV_COLUMNS[i]!, v])));
  const cell = (v: number | string | null) => (v === null ? '' : String(v));

  it("is written beside results.json with the authors' metric names as columns", () => {
    expect(header!.split(',')).toEqual([...RESULTS_CSV_COLUMNS]);
    expect(RESULTS_CSV_COLUMNS).toEqual(
      expect.arrayContaining(['char_acc', 'seq_acc', 'first_char_acc', 'last_char_acc', 'pos_q1_acc', 'pos_q4_acc']),
    );
  });

  it('has one row per run x evaluation step x length, matching results.json value for value', () => {
    const expected = results.runs.flatMap((r) =>
      r.curve.flatMap((p) => Object.keys(p.evals).map((L) => ({ r, p, L }))),
    );
    expect(rows).toHaveLength(expected.length);
    expect(rows.length).toBeGreaterThan(10);
    rows.forEach((row, i) => {
      const { r, p, L } = expected.find(
        (e) => e.r.id === row.run_id && e.p.step === Number(row.step) && e.L === row.length,
      )!;
      expect(expected.indexOf(expected.find((e) => e.r === r && e.p === p && e.L === L)!)).toBe(i); // results.json order
      const m = p.evals[L]!;
      expect(row).toEqual({
        run_id: r.id,
        arm: r.arm,
        rung: r.rung,
        task: r.task,
        seed: String(r.seed),
        backend: cell(r.backend),
        status: r.status,
        params: cell(r.params),
        block_passes: cell(r.blockPasses),
        step: String(p.step),
        length: L,
        loss: cell(p.loss),
        wall_seconds: cell(p.wallSeconds),
        char_acc: cell(m.charAcc),
        seq_acc: cell(m.exactMatch),
        first_char_acc: cell(m.firstCharAcc),
        last_char_acc: cell(m.lastCharAcc),
        pos_q1_acc: cell(m.quartiles[0]),
        pos_q2_acc: cell(m.quartiles[1]),
        pos_q3_acc: cell(m.quartiles[2]),
        pos_q4_acc: cell(m.quartiles[3]),
      });
    });
    // a NaN quartile (null in results.json) is an empty cell
    const copy = structuredClone(results);
    const point = copy.runs.find((r) => r.curve.length > 0)!.curve[0]!;
    const L = Object.keys(point.evals)[0]!;
    point.evals[L]!.quartiles[2] = null;
    const firstRow = resultsCsv(copy).split('\n')[1]!.split(',');
    expect(firstRow[RESULTS_CSV_COLUMNS.indexOf('pos_q3_acc')]).toBe('');
    expect(firstRow[RESULTS_CSV_COLUMNS.indexOf('pos_q4_acc')]).toBe(cell(point.evals[L]!.quartiles[3]));
  });

  it('is a function of results.json alone (what tarm report --csv rewrites)', () => {
    expect(resultsCsv(results)).toBe(text);
  });
});
