import type { EvalRecord } from '../loop.js';

/** A metrics.jsonl line written every `logEvery` steps. */
export interface LossLine {
  readonly kind: 'loss';
  readonly step: number;
  readonly loss: number;
  readonly tokensPerSecond: number;
  readonly wallSeconds: number;
  /** The model's extra step scalars, when it reports any. */
  readonly stats?: Record<string, number>;
}

/** A metrics.jsonl line written after every evaluation. `loss` is the training loss of that step. */
export interface EvalLine {
  readonly kind: 'eval';
  readonly step: number;
  readonly wallSeconds: number;
  readonly loss: number;
  readonly evals: EvalRecord;
}

export type MetricsLine = LossLine | EvalLine;
