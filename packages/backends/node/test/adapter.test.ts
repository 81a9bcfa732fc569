import { describe, expect, test } from 'vitest';
import { BackendError } from '@tarm/core';
import { adapter, explainLoadError, pickNodePackage } from '../src/index.js';

describe('explainLoadError', () => {
  test('package missing', () => {
    const e = Object.assign(new Error("Cannot find package '@tensorflow/tfjs-node' imported from /x/dist/index.js"), { code: 'ERR_MODULE_NOT_FOUND' });
    expect(explainLoadError('@tensorflow/tfjs-node', e)).toMatch(/not installed; run: npm install @tensorflow\/tfjs-node/);
  });
  test('package missing, as vite reports it', () => {
    const e = new Error('Could not resolve "@tensorflow/tfjs-node" imported by "@tarm/backend-node".');
    expect(explainLoadError('@tensorflow/tfjs-node', e)).toMatch(/not installed; run: npm install @tensorflow\/tfjs-node/);
  });
  test('a dependency of the package missing', () => {
    const e = Object.assign(new Error("Cannot find module '@tensorflow/tfjs'\nRequire stack:\n- /x"), { code: 'MODULE_NOT_FOUND' });
    expect(explainLoadError('@tensorflow/tfjs-node', e)).toMatch(/dependency @tensorflow\/tfjs is missing.*tarm-setup-node/);
  });
  test('native addon never built', () => {
    const e = new Error(
      'The Node.js native addon module (tfjs_binding.node) can not be found at path: /p/node_modules/@tensorflow/tfjs-node/lib/napi-v8/tfjs_binding.node. \nPlease run command ...',
    );
    const msg = explainLoadError('@tensorflow/tfjs-node', e);
    expect(msg).toMatch(/native addon .* never built \(\/p\/node_modules\/@tensorflow\/tfjs-node\/lib\/napi-v8\/tfjs_binding\.node is missing\)/);
    expect(msg).toMatch(/npx tarm-setup-node/);
    expect(msg).toMatch(/reinstall @tensorflow\/tfjs-node with network access/);
  });
  test('libtensorflow not loadable names the library', () => {
    const e = Object.assign(new Error('libtensorflow.so.2: cannot open shared object file: No such file or directory'), { code: 'ERR_DLOPEN_FAILED' });
    expect(explainLoadError('@tensorflow/tfjs-node', e)).toMatch(/TensorFlow C library libtensorflow\.so\.2 cannot be loaded.*deps\/lib.*tarm-setup-node/);
  });
  test('missing symbol', () => {
    const e = Object.assign(new Error('/p/tfjs_binding.node: undefined symbol: TFE_NewContext'), { code: 'ERR_DLOPEN_FAILED' });
    expect(explainLoadError('@tensorflow/tfjs-node', e)).toMatch(/lacks the symbol TFE_NewContext.*--force/);
  });
  test('anything else keeps the original message', () => {
    expect(explainLoadError('@tensorflow/tfjs-node', new Error('boom\nstack'))).toBe('loading @tensorflow/tfjs-node failed: boom');
  });
});

test('tfjs-node-gpu is preferred when installed', () => {
  expect(pickNodePackage((p) => p === '@tensorflow/tfjs-node-gpu' || p === '@tensorflow/tfjs-node')).toBe('@tensorflow/tfjs-node-gpu');
  expect(pickNodePackage((p) => p === '@tensorflow/tfjs-node')).toBe('@tensorflow/tfjs-node');
  expect(pickNodePackage(() => false)).toBeUndefined();
});

test('setup either selects the tensorflow backend or throws a BackendError that says how to fix it', async () => {
  try {
    await adapter.setup();
  } catch (e) {
    expect(e).toBeInstanceOf(BackendError);
    expect((e as Error).message).toMatch(/npm install @tensorflow\/tfjs-node|tarm-setup-node/);
    console.log(`node backend unavailable here (fine for this test): ${(e as Error).message}`);
    return;
  }
  const tf = await import('@tensorflow/tfjs-core');
  expect(tf.getBackend()).toBe('tensorflow');
  const a = tf.tensor2d([[1, 2], [3, 4]]);
  expect(Array.from(await tf.matMul(a, a).data())).toEqual([7, 10, 15, 22]);
  tf.dispose(a);
});
