import { Rng } from '@tarm/core';
import type { Example, Task } from './task.js';
import { encode, NEWLINE, NEWLINE_ID } from './vocab.js';

/**
 * A batch for next-token training, row-major [B, T]. The full string of one example is
 * prompt + answer + newline, right-padded with newlines to T + 1 characters; inputs are characters 0..T-1,
 * targets 1..T. `mask` is 1 where the target is an answer character or the first newline after it.
 */
export interface Batch {
  readonly inputs: Int32Array; // [B, T]
  readonly targets: Int32Array; // [B, T]
  readonly mask: Float32Array; // [B, T]
  readonly batchSize: number;
  readonly seqLen: number;
}

/** Model sequence length T for a task at length L: prompt + answer + newline, minus one (inputs drop the last). */
export function sequenceLength(task: Task, L: number): number {
  return task.promptLength(L) + task.answerLength(L);
}

export function encodeExamples(examples: readonly Example[], seqLen: number): Batch {
  const B = examples.length;
  const T = seqLen;
  const inputs = new Int32Array(B * T).fill(NEWLINE_ID);
  const targets = new Int32Array(B * T).fill(NEWLINE_ID);
  const mask = new Float32Array(B * T);
  examples.forEach((ex, b) => {
    const full = encode(ex.prompt + ex.answer + NEWLINE);
    if (full.length > T + 1)
      throw new RangeError(`example of ${full.length} characters does not fit sequence length ${T}`);
    for (let t = 0; t < T; t++) {
      if (t < full.length) inputs[b * T + t] = full[t]!;
      if (t + 1 < full.length) targets[b * T + t] = full[t + 1]!;
    }
    // target index t predicts character t+1; the answer occupies characters [P, P + A], newline included.
    const P = ex.prompt.length;
    for (let c = P; c <= P + ex.answer.length; c++) mask[b * T + c - 1] = 1;
  });
  return { inputs, targets, mask, batchSize: B, seqLen: T };
}

/** Purposes that derive independent seeds from one run seed. */
export const SEED_PURPOSE = Object.freeze({ train: 1, eval: 2, dropout: 3, decode: 4, init: 5, halt: 6 });

/**
 * The seeded endless training stream: batch `step` is a pure function of (seed, task, L, step), so a resumed run
 * sees exactly the batches an uninterrupted one would.
 */
export function trainingBatch(task: Task, L: number, batchSize: number, seed: number, step: number): Batch {
  const rng = Rng.derive(seed, SEED_PURPOSE.train, step);
  const examples = Array.from({ length: batchSize }, () => task.sample(rng, L));
  return encodeExamples(examples, sequenceLength(task, L));
}

/** The fixed evaluation problems for (task, L): the same `n` problems at every evaluation of every run. */
export function evaluationSet(task: Task, L: number, n = 100, seed = 1337): Example[] {
  const rng = Rng.derive(seed, SEED_PURPOSE.eval, L, hashName(task.name));
  return Array.from({ length: n }, () => task.sample(rng, L));
}

function hashName(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) >>> 0;
  return h;
}
