import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect } from 'vitest';
import { BACKEND_NAMES, ConfigError, useBackend, type BackendName } from '@tarm/core';

/**
 * The backends a suite runs on when its file lists none: the one named by TARM_BACKEND (so `TARM_BACKEND=wasm
 * npx vitest run` reruns a package's tests on wasm), else cpu, the reference.
 */
export function testBackends(): BackendName[] {
  const env = process.env.TARM_BACKEND;
  if (env === undefined || env === '') return ['cpu'];
  if (!(BACKEND_NAMES as readonly string[]).includes(env))
    throw new ConfigError('TARM_BACKEND', BACKEND_NAMES.join(', '), env);
  return [env as BackendName];
}

/**
 * One `describe` per backend, as tfjs's describeWithFlags: `<name> on the <backend> backend`, whose tests run
 * with that backend set up by `useBackend` (and checked active) in a beforeAll. Test files say which backends
 * they need here instead of setting one up by hand. `backends` defaults to {@link testBackends}.
 */
export function describeOnBackends(name: string, fn: (backend: BackendName) => void): void;
export function describeOnBackends(
  name: string,
  backends: readonly BackendName[],
  fn: (backend: BackendName) => void,
): void;
export function describeOnBackends(
  name: string,
  a: readonly BackendName[] | ((backend: BackendName) => void),
  b?: (backend: BackendName) => void,
): void {
  const [backends, fn] = typeof a === 'function' ? [testBackends(), a] : [a, b!];
  for (const backend of backends) {
    describe(`${name} on the ${backend} backend`, () => {
      beforeAll(async () => {
        const adapter = await useBackend(backend);
        expect(tf.getBackend()).toBe(adapter.tfName);
      });
      fn(backend);
    });
  }
}
