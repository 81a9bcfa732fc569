import type { Rng } from '@tarm/core';

/** One problem: the model sees `prompt` and must produce `answer` followed by a newline. */
export interface Example {
  readonly prompt: string;
  readonly answer: string;
}

/**
 * A character-level task. Adding a task means adding one object like this to the registry (tasks/registry.ts);
 * nothing else in tarm needs to change.
 */
export interface Task {
  readonly name: string;
  readonly description: string;
  /** Draws one random problem of length L. */
  sample(rng: Rng, L: number): Example;
  /** Prompt length in characters for length L (every problem of a length has the same shape). */
  promptLength(L: number): number;
  /** Answer length in characters (newline excluded) for length L. */
  answerLength(L: number): number;
}

/** L random digits (leading zeros allowed). */
export function randomDigits(rng: Rng, L: number): string {
  let s = '';
  for (let i = 0; i < L; i++) s += String(rng.int(10));
  return s;
}
