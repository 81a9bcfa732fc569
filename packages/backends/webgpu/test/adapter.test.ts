import { expect, test } from 'vitest';
import { BackendError } from '@tarm/core';
import { adapter, webgpuAdapterInfo } from '../src/index.js';
import { dawnAttempts } from '../src/dawn-attempts.js';

test('Dawn attempts: platform default first, then OpenGL ES compatibility; TARM_DAWN_FLAGS overrides', () => {
  expect(dawnAttempts(undefined)).toEqual([
    { flags: [], featureLevel: 'core' },
    { flags: ['backend=opengles'], featureLevel: 'compatibility' },
  ]);
  expect(dawnAttempts('backend=vulkan, adapter=foo')).toEqual([
    { flags: ['backend=vulkan', 'adapter=foo'], featureLevel: 'core' },
    { flags: ['backend=vulkan', 'adapter=foo'], featureLevel: 'compatibility' },
  ]);
});

test('declares no synchronous reads (tfjs-backend-webgpu in Node reads only asynchronously)', () => {
  expect(adapter.capabilities).toEqual({ syncReads: false });
});

test('setup either selects webgpu (async reads work) or throws a BackendError', async () => {
  try {
    await adapter.setup();
  } catch (e) {
    expect(e).toBeInstanceOf(BackendError);
    console.log(`webgpu unavailable here (fine for this test): ${(e as Error).message}`);
    return;
  }
  const tf = await import('@tensorflow/tfjs-core');
  expect(tf.getBackend()).toBe('webgpu');
  expect(webgpuAdapterInfo()?.description).toBeTruthy();
  const a = tf.tensor2d([
    [1, 2],
    [3, 4],
  ]);
  const y = tf.matMul(a, a);
  expect(Array.from(await y.data())).toEqual([7, 10, 15, 22]);
  tf.dispose([a, y]);
  await adapter.setup(); // idempotent
  expect(tf.getBackend()).toBe('webgpu');
});
