import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { writeFileAtomic } from './files.js';
import type { StudyResults } from './results-schema.js';

export const RESULTS_CSV_FILE = 'results.csv';

/**
 * Columns of results.csv. The metric columns carry the names of the authors' exported metrics (char_acc, seq_acc,
 * first_char_acc, last_char_acc, pos_q1_acc .. pos_q4_acc, fractions in [0, 1]); an empty cell is a value that
 * was not measured (null in results.json).
 */
export const RESULTS_CSV_COLUMNS = Object.freeze([
  'run_id',
  'arm',
  'rung',
  'task',
  'seed',
  'backend',
  'status',
  'params',
  'block_passes',
  'step',
  'length',
  'loss',
  'wall_seconds',
  'char_acc',
  'seq_acc',
  'first_char_acc',
  'last_char_acc',
  'pos_q1_acc',
  'pos_q2_acc',
  'pos_q3_acc',
  'pos_q4_acc',
] as const);

/** One row per run x evaluation step x evaluation length, in results.json's run order, then step, then length. */
export function resultsCsv(results: StudyResults): string {
  const rows: (string | number | null)[][] = [];
  for (const r of results.runs) {
    for (const p of r.curve) {
      for (const L of Object.keys(p.evals).sort((a, b) => Number(a) - Number(b))) {
        const m = p.evals[L]!;
        rows.push([
          r.id,
          r.arm,
          r.rung,
          r.task,
          r.seed,
          r.backend,
          r.status,
          r.params,
          r.blockPasses,
          p.step,
          Number(L),
          p.loss,
          p.wallSeconds,
          m.charAcc,
          m.exactMatch,
          m.firstCharAcc,
          m.lastCharAcc,
          ...m.quartiles,
        ]);
      }
    }
  }
  return stringify(rows, { header: true, columns: [...RESULTS_CSV_COLUMNS], cast: { number: (v) => String(v) } });
}

/** Writes `outDir/results.csv` atomically; returns its path. */
export function writeResultsCsv(outDir: string, results: StudyResults): string {
  const path = join(outDir, RESULTS_CSV_FILE);
  writeFileAtomic(path, resultsCsv(results));
  return path;
}
