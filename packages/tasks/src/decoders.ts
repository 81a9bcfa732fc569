import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, Rng, type CausalLM } from '@tarm/core';
import { decode, encode, NEWLINE_ID } from './vocab.js';

export const DECODE_STRATEGIES = Object.freeze(['greedy', 'sample'] as const);
export type DecodeStrategy = (typeof DECODE_STRATEGIES)[number];

/** How {@link decodeAnswers} picks each next token. */
export interface DecodeOptions {
  /** `greedy`: argmax of the logits (ties go to the lowest id). `sample`: draw from softmax(logits / temperature). */
  strategy: DecodeStrategy;
  /** Softmax temperature for `sample`, > 0. Default 1.0: the paper samples its evaluation answers at T = 1. */
  temperature?: number;
  /** Seed of the sampling stream; required for `sample`, ignored by `greedy`. */
  seed?: number;
  /**
   * Use the LM's incremental decoding (`startDecoding`, a KV cache) when it has one: the prompts in one call, then
   * one token per step. Default true. false: recompute the whole prefix for every token (same strings; slower).
   */
  cache?: boolean;
}

/** The paper's decoding (paper.md, "Training and evaluation"): sampling at temperature 1. */
export const PAPER_DECODE = Object.freeze({ strategy: 'sample' as DecodeStrategy, temperature: 1 });

/** Checks decode options; throws a {@link ConfigError} naming the bad field and what is allowed. */
export function checkDecodeOptions(opts: DecodeOptions): {
  strategy: DecodeStrategy;
  temperature: number;
  seed?: number;
  cache: boolean;
} {
  if (!DECODE_STRATEGIES.includes(opts.strategy))
    throw new ConfigError('strategy', DECODE_STRATEGIES.join(', '), opts.strategy);
  const temperature = opts.temperature ?? PAPER_DECODE.temperature;
  if (typeof temperature !== 'number' || !Number.isFinite(temperature) || temperature <= 0) {
    throw new ConfigError('temperature', 'a finite number > 0', opts.temperature);
  }
  if (opts.strategy === 'sample' && (typeof opts.seed !== 'number' || !Number.isFinite(opts.seed))) {
    throw new ConfigError('seed', 'a finite number (required when strategy is "sample")', opts.seed);
  }
  if (opts.cache !== undefined && typeof opts.cache !== 'boolean')
    throw new ConfigError('cache', 'true or false', opts.cache);
  return { strategy: opts.strategy, temperature, seed: opts.seed, cache: opts.cache ?? true };
}

/**
 * Batched autoregressive decoding. When the LM offers incremental decoding (`startDecoding`, a KV cache) and
 * `opts.cache` is not false, the prompts go in one call and then each chosen token in one call of [B, 1];
 * otherwise every step runs `lm.logits` on the whole current prefix [B, t]. Either way one model call per new
 * token: it picks the next token of each row from the last position's logits and appends it. A row ends at its first
 * newline (the returned string excludes it; ended rows keep being fed newlines, which causality makes harmless).
 * Stops when every row has ended or after `maxNewTokens` tokens; a row that never ends returns all its tokens.
 * Sampling draws one uniform number per row per step from a {@link Rng} seeded with `opts.seed`, so a seed
 * gives the same strings for the same logits. All prompts of one call must have the same length.
 */
export async function decodeAnswers(
  lm: CausalLM,
  prompts: readonly string[],
  maxNewTokens: number,
  opts: DecodeOptions,
): Promise<string[]> {
  const { strategy, temperature, seed, cache } = checkDecodeOptions(opts);
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 0)
    throw new ConfigError('maxNewTokens', 'an integer >= 0', maxNewTokens);
  const B = prompts.length;
  if (B === 0) return [];
  const P = checkPromptLengths(prompts);
  const rows = prompts.map((p) => encode(p));
  const generated: number[][] = prompts.map(() => []);
  const ended = new Array<boolean>(B).fill(false);
  const rng = strategy === 'sample' ? new Rng(seed!) : undefined;
  const session = cache && maxNewTokens > 0 && lm.startDecoding ? lm.startDecoding(B) : undefined;
  const call = session ? (ids: tf.Tensor2D) => session.append(ids) : (ids: tf.Tensor2D) => lm.logits(ids);
  try {
    for (let step = 0; step < maxNewTokens && ended.includes(false); step++) {
      const t = P + step;
      // the model's input this step: with a session only what it has not seen (the prompts, then the last token)
      const from = session && step > 0 ? t - 1 : 0;
      const next = await nextTokenScores(call, rows, from, t, strategy, temperature); // greedy: [B] ids; sample: [B*V] probs
      const V = next.length / B;
      for (let b = 0; b < B; b++) {
        const id = rng ? sampleIndex(next, b * V, V, rng.next()) : next[b]!;
        const token = ended[b] ? NEWLINE_ID : id;
        rows[b]!.push(token);
        if (ended[b]) continue;
        if (token === NEWLINE_ID) ended[b] = true;
        else generated[b]!.push(token);
      }
    }
  } finally {
    session?.dispose();
  }
  return generated.map((ids) => decode(ids));
}

function checkPromptLengths(prompts: readonly string[]): number {
  const P = prompts[0]!.length;
  if (P === 0) throw new RangeError('decodeAnswers: prompts must not be empty (the model needs at least one token)');
  const i = prompts.findIndex((p) => p.length !== P);
  if (i >= 0) {
    throw new RangeError(
      `decodeAnswers: all prompts of one call must have the same length; prompt 0 has ${P} characters, prompt ${i} has ${prompts[i]!.length}`,
    );
  }
  return P;
}

/**
 * One model call on positions [from, t) of every row: the whole prefix (`lm.logits`, from = 0), or what a
 * decoding session has not seen yet (`append`). greedy -> argmax id per row [B]; sample -> softmax probabilities
 * [B * V].
 */
async function nextTokenScores(
  call: (ids: tf.Tensor2D) => tf.Tensor3D,
  rows: number[][],
  from: number,
  t: number,
  strategy: DecodeStrategy,
  temperature: number,
): Promise<Float32Array | Int32Array> {
  const n = t - from;
  const flat = new Int32Array(rows.length * n);
  rows.forEach((r, b) => flat.set(r.slice(from, t), b * n));
  const out = tf.tidy(() => {
    const ids = tf.tensor2d(flat, [rows.length, n], 'int32'); // [B, n]
    const logits = call(ids); // [B, n, V]
    const V = logits.shape[2];
    const last = tf.reshape(tf.slice(logits, [0, n - 1, 0], [-1, 1, -1]), [rows.length, V]); // [B, V]
    if (strategy === 'greedy') return tf.argMax(last, -1); // [B] int32
    return tf.softmax(tf.div(last, temperature)); // [B, V]
  });
  try {
    return (await out.data()) as Float32Array | Int32Array;
  } finally {
    out.dispose();
  }
}

/** Inverse-CDF draw from probs[offset .. offset + V) with uniform u in [0, 1); tolerates sums slightly off 1. */
function sampleIndex(probs: ArrayLike<number>, offset: number, V: number, u: number): number {
  let total = 0;
  for (let v = 0; v < V; v++) total += probs[offset + v]!;
  let target = u * total;
  let last = 0;
  for (let v = 0; v < V; v++) {
    const p = probs[offset + v]!;
    if (p <= 0) continue;
    last = v;
    if (target < p) return v;
    target -= p;
  }
  return last; // rounding left u just past the final bucket: take the last token with nonzero probability
}
