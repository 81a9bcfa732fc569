import { ConfigError, mixSeeds, type CausalLM } from '@tarm/core';
import { decodeAnswers, evaluationSet, SEED_PURPOSE, type DecodeOptions, type Task } from '@tarm/tasks';
import { checkDecodeOptions } from '@tarm/tasks/internal';
import { scoreAnswers, type AnswerMetrics } from './metrics.js';
import { EVAL_DEFAULTS } from './settings.js';

/** How to evaluate: which problems, how to decode them. */
export interface EvalOptions {
  /** Problems per length. Default 100 (the paper's). */
  n?: number;
  /** Chooses the problems: the same seed gives the same problems at every evaluation. Default 1337. */
  seed?: number;
  /** Decoding; for `sample`, `decode.seed` is mixed with L (and the batch index) so each length has its own stream. */
  decode: DecodeOptions;
  /** Prompts per model call. Default: all n at once. Sampled answers depend on it (one stream per batch). */
  batchSize?: number;
}

/** One evaluated problem, kept for people to read. */
export interface EvalExample {
  prompt: string;
  answer: string;
  prediction: string;
}

/** Metrics at one length plus the first few problems with the model's answers. */
export type LengthResult = AnswerMetrics & { examples: EvalExample[] };

/** How many problems a result keeps as readable examples. */
export const EXAMPLES_KEPT = 5;

/**
 * Decodes the fixed evaluation problems of `task` at length `L` (up to answerLength + 1 new tokens, the
 * newline included) and scores the answer characters.
 */
export async function evaluateLength(lm: CausalLM, task: Task, L: number, opts: EvalOptions): Promise<LengthResult> {
  const { n, seed, batchSize } = checkEvalOptions(opts);
  if (!Number.isInteger(L) || L < 1) throw new ConfigError('length', 'an integer >= 1', L);
  const problems = evaluationSet(task, L, n, seed);
  const predictions: string[] = [];
  for (let start = 0, batch = 0; start < n; start += batchSize, batch++) {
    const prompts = problems.slice(start, start + batchSize).map((p) => p.prompt);
    const decode =
      opts.decode.seed === undefined
        ? opts.decode
        : { ...opts.decode, seed: mixSeeds(opts.decode.seed, SEED_PURPOSE.decode, L, batch) };
    predictions.push(...(await decodeAnswers(lm, prompts, task.answerLength(L) + 1, decode)));
  }
  const metrics = scoreAnswers(
    predictions,
    problems.map((p) => p.answer),
  );
  const examples = problems
    .slice(0, EXAMPLES_KEPT)
    .map((p, i) => ({ prompt: p.prompt, answer: p.answer, prediction: predictions[i]! }));
  return { ...metrics, examples };
}

/** {@link evaluateLength} at each length, keyed by String(L), e.g. the paper's 10, 20, 30, 40, 50. */
export async function evaluateLengths(
  lm: CausalLM,
  task: Task,
  lengths: readonly number[],
  opts: EvalOptions,
): Promise<Record<string, LengthResult>> {
  const out: Record<string, LengthResult> = {};
  for (const L of lengths) out[String(L)] = await evaluateLength(lm, task, L, opts);
  return out;
}

function checkEvalOptions(opts: EvalOptions): { n: number; seed: number; batchSize: number } {
  if (!opts.decode)
    throw new ConfigError('decode', '{ strategy: "greedy" | "sample", temperature?, seed? }', undefined);
  checkDecodeOptions(opts.decode);
  const n = opts.n ?? EVAL_DEFAULTS.n;
  if (!Number.isInteger(n) || n < 1) throw new ConfigError('n', 'an integer >= 1', opts.n);
  const seed = opts.seed ?? 1337;
  if (!Number.isFinite(seed)) throw new ConfigError('seed', 'a finite number', opts.seed);
  const batchSize = opts.batchSize ?? n;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new ConfigError('batchSize', 'an integer >= 1', opts.batchSize);
  return { n, seed, batchSize };
}
