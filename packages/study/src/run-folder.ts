import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonIfExists } from './files.js';

/** Files of a run folder, as `tarm train --out` writes them. */
export const RUN_FILES = Object.freeze({
  config: 'config.json',
  metrics: 'metrics.jsonl',
  /** Written last: its presence marks the run finished. */
  summary: 'summary.json',
  /** The last checkpoint (a folder; model.json written last). */
  checkpoint: join('checkpoint', 'model.json'),
  /** The final checkpoint evaluated by sampling at temperature 1 (`tarm eval --decode sample --json`'s line), when made. */
  sampled: 'eval-sample.json',
});

/** Files the study runner keeps per run, in `outDir/logs/` (the run folder belongs to `tarm train`). */
export const LOG_FILES = Object.freeze({
  stderr: (id: string) => `${id}.log`,
  result: (id: string) => `${id}.result.json`,
  failed: (id: string) => `${id}.failed.json`,
  /** The run's configuration as the runner hands it to the trainer (grid.ts, runConfig). */
  config: (id: string) => `${id}.config.json`,
});

export const runsDir = (outDir: string): string => join(outDir, 'runs');
export const logsDir = (outDir: string): string => join(outDir, 'logs');
export const runDir = (outDir: string, id: string): string => join(runsDir(outDir), id);

/**
 * Whether a run folder holds a finished run: summary.json exists and, when `steps` is given, records at least
 * that many steps (a study whose task grew to more steps continues its shorter runs; see mergeStudy).
 */
export function isFinished(dir: string, steps?: number): boolean {
  const file = join(dir, RUN_FILES.summary);
  if (!existsSync(file)) return false;
  const step = steps === undefined ? undefined : numberField(readObject(file), ['step'], ['result']);
  return step === undefined || step >= steps!;
}
export const isStarted = (dir: string): boolean => existsSync(join(dir, RUN_FILES.config));
/** Whether a run folder holds a checkpoint to continue from (else `--resume` retrains it from step 0). */
export const hasCheckpoint = (dir: string): boolean => existsSync(join(dir, RUN_FILES.checkpoint));

/**
 * The JSON objects of a metrics.jsonl file, in order. Lines that do not parse (a torn last line of a run that
 * is being written or was killed) are skipped.
 */
export function readJsonLines(path: string): Record<string, unknown>[] {
  if (!existsSync(path)) return [];
  const out: Record<string, unknown>[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const v = JSON.parse(line) as unknown;
      if (v && typeof v === 'object' && !Array.isArray(v)) out.push(v as Record<string, unknown>);
    } catch {
      // torn line
    }
  }
  return out;
}

/** A JSON object file, or undefined (missing, unparsable, or not an object). */
export function readObject(path: string): Record<string, unknown> | undefined {
  const v = readJsonIfExists(path);
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** The first finite number among `keys` of `obj`, looking also one level down in `nested` objects. */
export function numberField(
  obj: Record<string, unknown> | undefined,
  keys: readonly string[],
  nested: readonly string[] = [],
): number | undefined {
  if (!obj) return undefined;
  for (const k of keys) {
    const v = obj[k];
    if (typeof v === 'number' && Number.isFinite(v)) return v;
  }
  for (const n of nested) {
    const inner = obj[n];
    if (inner && typeof inner === 'object' && !Array.isArray(inner)) {
      const v = numberField(inner as Record<string, unknown>, keys);
      if (v !== undefined) return v;
    }
  }
  return undefined;
}
