import { TarmError } from '@tarm/core';
import type { AdamWConfig } from '../adamw.js';

/** The training half of a run's configuration (stored in config.json under `train`). */
export interface TrainSettings {
  /** Task name (from @tarm/tasks' registry unless a Task object is passed to runTraining). */
  readonly task: string;
  /** Problem length L of the training stream. */
  readonly length: number;
  readonly batchSize: number;
  readonly steps: number;
  readonly evalEvery: number;
  /** Default: evalEvery. */
  readonly checkpointEvery?: number;
  /** Write a loss line to metrics.jsonl every this many steps (and at the final step). Default 10. */
  readonly logEvery?: number;
  /** Rows per forward/backward pass (gradient accumulation, see trainStep); default: the whole batch. */
  readonly microBatch?: number;
  readonly optimizer?: AdamWConfig;
}

/**
 * The resolved configuration of a run, as the caller builds it and config.json stores it. `model` is whatever
 * JSON the caller's model factory was built from; it is stored and compared, never interpreted here.
 */
export interface RunConfig {
  readonly model: unknown;
  readonly train: TrainSettings;
  readonly seed: number;
  readonly codeVersion: string;
}

/**
 * A run's configuration as a caller hands it to a trainer (`tarm train --config`, a study's runner): config.json
 * without the code version, with how to evaluate (`eval`, the caller's: stored and compared, never interpreted
 * here), the backend to train on and how to log. `M` is the model config's type, `E` the evaluation's.
 */
export interface RunRequest<M = unknown, E = unknown> extends Omit<RunConfig, 'model' | 'codeVersion'> {
  readonly model: M;
  readonly eval?: E;
  readonly backend?: string;
  /** Extra log besides metrics.jsonl (`tensorboard`): how the run logs, not what it trains. */
  readonly log?: 'tensorboard';
}

/** The run folder cannot be used as asked (not empty, holds another configuration, ...). */
export class RunFolderError extends TarmError {
  constructor(
    readonly outDir: string,
    reason: string,
    /** The config field that differs, for a configuration mismatch on resume. */
    readonly field?: string,
  ) {
    super(`run folder ${outDir}: ${reason}`);
    this.name = 'RunFolderError';
  }
}

/** The value as config.json would store it (undefined fields dropped, frozen objects copied). */
export function toJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/**
 * Every difference between two JSON values, depth first in key order of `a` then `b`, as dotted paths with both
 * values; [] when equal. Arrays of different lengths are one difference (`<path>.length`).
 */
export function differences(a: unknown, b: unknown, path = ''): { path: string; a: unknown; b: unknown }[] {
  if (a === b) return [];
  const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null;
  if (isObj(a) && isObj(b) && Array.isArray(a) === Array.isArray(b)) {
    if (Array.isArray(a) && Array.isArray(b) && a.length !== b.length)
      return [{ path: `${path || '(root)'}.length`, a: a.length, b: b.length }];
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((k) => differences(a[k], b[k], path ? `${path}.${k}` : k));
  }
  return [{ path: path || '(root)', a, b }];
}

/** The first of {@link differences}; undefined when equal. */
export function firstDifference(
  a: unknown,
  b: unknown,
  path = '',
): { path: string; a: unknown; b: unknown } | undefined {
  return differences(a, b, path)[0];
}
