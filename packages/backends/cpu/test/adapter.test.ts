import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { backendCapabilities, DEFAULT_CAPABILITIES, useBackend } from '@tarm/core';
import { adapter } from '../src/index.js';

describe('@tarm/backend-cpu', () => {
  it('selects the cpu backend with gradients registered, by object and by name', async () => {
    await useBackend(adapter);
    expect(tf.getBackend()).toBe(adapter.tfName);
    await useBackend('cpu');
    expect(tf.getBackend()).toBe(adapter.tfName);
    expect(backendCapabilities()).toEqual({ ...DEFAULT_CAPABILITIES, hostOptimizer: true });
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(x, x)))(tf.tensor1d([1, 2, 3]));
    expect(Array.from(await g.data())).toEqual([2, 4, 6]);
  });
});
