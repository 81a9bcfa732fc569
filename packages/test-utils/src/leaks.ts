import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';

/**
 * Runs `fn` and expects the tensor count afterwards to be the count before plus `kept` (0 unless fn returns or
 * keeps tensors on purpose): the project's check that nothing leaks. Returns fn's result; an async fn is
 * awaited before counting.
 */
export function expectNoLeaks<T>(fn: () => Promise<T>, kept?: number): Promise<T>;
export function expectNoLeaks<T>(fn: () => T, kept?: number): T;
export function expectNoLeaks<T>(fn: () => T | Promise<T>, kept = 0): T | Promise<T> {
  const before = tf.memory().numTensors;
  const check = (): void => expect(tf.memory().numTensors - before, 'tensors left behind').toBe(kept);
  const out = fn();
  if (out instanceof Promise) return out.then((v) => (check(), v));
  check();
  return out;
}
