import { Rng } from '@tarm/core';
import type { Task } from './task.js';

/** Problems drawn to choose the prompt-blind predictor, and as many again to measure it (standard error < 0.1 points). */
const CHANCE_PROBLEMS = 20_000;
/** The chance estimate's own seed: the same number on every run and machine. */
const CHANCE_SEED = 0x0c4a9ce;

/**
 * The chance level of character accuracy on `task` at length L: the accuracy of the best predictor that ignores
 * the prompt, which writes at each answer position the character most frequent there. Estimated from a fixed
 * sample of problems, so it is the same number everywhere. Copy and reverse: 10% (uniform digits). Addition: the
 * zero-padded sum's leading digit is 0 or 1 about equally often, so about (50% + L x 10%) / (L + 1): 18% at
 * L = 4, 13.6% at L = 10 (the paper's "about 10%" is the digits' share).
 */
export function chanceAccuracy(task: Task, L: number): number {
  const rng = new Rng(CHANCE_SEED);
  const A = task.answerLength(L);
  // one sample chooses the predictor (the most frequent character per position), a second measures it: the
  // largest of several sample frequencies would overstate it (10.3% instead of 10% on copy)
  const counts = Array.from({ length: A }, () => new Map<string, number>());
  for (let i = 0; i < CHANCE_PROBLEMS; i++) {
    const { answer } = task.sample(rng, L);
    for (let p = 0; p < A; p++) counts[p]!.set(answer[p]!, (counts[p]!.get(answer[p]!) ?? 0) + 1);
  }
  const guess = counts.map((c) => [...c.entries()].reduce((a, b) => (b[1] > a[1] ? b : a))[0]);
  let right = 0;
  for (let i = 0; i < CHANCE_PROBLEMS; i++) {
    const { answer } = task.sample(rng, L);
    for (let p = 0; p < A; p++) if (answer[p] === guess[p]) right++;
  }
  return right / (CHANCE_PROBLEMS * A);
}
