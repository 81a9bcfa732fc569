import { describe, expect, test } from 'vitest';
import { BackendError } from '@tarm/core';
import { expectNoLeaks } from '@tarm/test-utils/vitest';
import { adapter } from '../src/index.js';
import { explainLoadError } from '../src/explain.js';
import { pickNodePackage } from '../src/pick.js';

describe('explainLoadError', () => {
  test('package missing', () => {
    const e = Object.assign(new Error("Cannot find package '@tensorflow/tfjs-node' imported from /x/dist/index.js"), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
    expect(explainLoadError('@tensorflow/tfjs-node', e)).toMatch(
      /not installed; run: npm install @tensorflow\/tfjs-node/,
    );
  });
  test('package missing, as vite reports it', () => {
    const e = new Error('Could not resolve "@tensorflow/tfjs-node" imported by "@tarm/backend-node".');
    expect(explainLoadError('@tensorflow/tfjs-node', e)).toMatch(
      /not installed; run: npm install @tensorflow\/tfjs-node/,
    );
  });
  test('a dependency of the package missing', () => {
    const e = Object.assign(new Error("Cannot find module '@tensorflow/tfjs'\nRequire stack:\n- /x"), {
      code: 'MODULE_NOT_FOUND',
    });
    expect(explainLoadError('@tensorflow/tfjs-node', e)).toMatch(
      /dependency @tensorflow\/tfjs is missing.*tarm-setup-node/,
    );
  });
  test('native addon never built', () => {
    const e = new Error(
      'The Node.js native addon module (tfjs_binding.node) can not be found at path: /p/node_modules/@tensorflow/tfjs-node/lib/napi-v8/tfjs_binding.node. \nPlease run command ...',
    );
    const msg = explainLoadError('@tensorflow/tfjs-node', e);
    expect(msg).toMatch(
      /native addon .* never built \(\/p\/node_modules\/@tensorflow\/tfjs-node\/lib\/napi-v8\/tfjs_binding\.node is missing\)/,
    );
    expect(msg).toMatch(/npx tarm-setup-node/);
    expect(msg).toMatch(/reinstall @tensorflow\/tfjs-node with network access/);
  });
  test('libtensorflow not loadable names the library', () => {
    const e = Object.assign(
      new Error('libtensorflow.so.2: cannot open shared object file: No such file or directory'),
      { code: 'ERR_DLOPEN_FAILED' },
    );
    expect(explainLoadError('@tensorflow/tfjs-node', e)).toMatch(
      /TensorFlow C library libtensorflow\.so\.2 cannot be loaded.*deps\/lib.*tarm-setup-node/,
    );
  });
  test('missing symbol', () => {
    const e = Object.assign(new Error('/p/tfjs_binding.node: undefined symbol: TFE_NewContext'), {
      code: 'ERR_DLOPEN_FAILED',
    });
    expect(explainLoadError('@tensorflow/tfjs-node', e)).toMatch(/lacks the symbol TFE_NewContext.*--force/);
  });
  test('anything else keeps the original message', () => {
    expect(explainLoadError('@tensorflow/tfjs-node', new Error('boom\nstack'))).toBe(
      'loading @tensorflow/tfjs-node failed: boom',
    );
  });
});

test('tfjs-node-gpu is preferred when installed', () => {
  expect(pickNodePackage((p) => p === '@tensorflow/tfjs-node-gpu' || p === '@tensorflow/tfjs-node')).toBe(
    '@tensorflow/tfjs-node-gpu',
  );
  expect(pickNodePackage((p) => p === '@tensorflow/tfjs-node')).toBe('@tensorflow/tfjs-node');
  expect(pickNodePackage(() => false)).toBeUndefined();
});

test('declares host-side optimizer arithmetic (per-op dispatch costs more than the reads)', () => {
  expect(adapter.capabilities).toEqual({ hostOptimizer: true });
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
  const a = tf.tensor2d([
    [1, 2],
    [3, 4],
  ]);
  expect(Array.from(await tf.matMul(a, a).data())).toEqual([7, 10, 15, 22]);
  tf.dispose(a);
});

describe('fused kernels (LayerNorm as FusedBatchNormV3, column sums as BiasAddGrad)', () => {
  test('match the plain tfjs ops, reject bad inputs, and leave no tensors behind', async () => {
    try {
      await adapter.setup();
    } catch (e) {
      console.log(`node backend unavailable here (fine for this test): ${(e as Error).message}`);
      return;
    }
    const tf = await import('@tensorflow/tfjs-core');
    const { FUSED_KERNELS, hasKernel } = await import('@tarm/core');
    for (const k of [FUSED_KERNELS.layerNorm, FUSED_KERNELS.layerNormGrad, FUSED_KERNELS.sumRows])
      expect(hasKernel(k)).toBe(true);
    const maxDiff = (a: import('@tensorflow/tfjs-core').Tensor, b: import('@tensorflow/tfjs-core').Tensor) =>
      tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
    const eps = 1e-5;
    const run = () =>
      tf.tidy(() => {
        const x = tf.add(tf.mul(tf.randomNormal([37, 24], 0, 1, 'float32', 3), 2), 0.5); // [M, C], not centred
        const g = tf.randomNormal([37, 24], 0, 1, 'float32', 4);
        const [xhat, ...saved] = tf
          .engine()
          .runKernel(FUSED_KERNELS.layerNorm, { x }, { eps }) as import('@tensorflow/tfjs-core').Tensor[];
        const inputs: Record<string, import('@tensorflow/tfjs-core').Tensor> = { g, x };
        saved.forEach((t, i) => (inputs[`saved${i}`] = t));
        const dx = tf
          .engine()
          .runKernel(FUSED_KERNELS.layerNormGrad, inputs, { eps }) as import('@tensorflow/tfjs-core').Tensor;
        const mean = tf.mean(x, -1, true);
        const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(tf.sub(x, mean)), -1, true), eps));
        const refXhat = tf.mul(tf.sub(x, mean), rstd);
        const refDx = tf.mul(
          tf.sub(tf.sub(g, tf.mean(g, -1, true)), tf.mul(refXhat, tf.mean(tf.mul(g, refXhat), -1, true))),
          rstd,
        );
        const sums = tf.engine().runKernel(FUSED_KERNELS.sumRows, { x }) as import('@tensorflow/tfjs-core').Tensor;
        return [
          maxDiff(xhat!, refXhat),
          maxDiff(dx, refDx),
          maxDiff(sums, tf.sum(x, 0)),
          xhat!.shape.join(','),
          sums.shape.join(','),
        ] as const;
      });
    const [dXhat, dDx, dSums, xhatShape, sumsShape] = run();
    expect(xhatShape).toBe('37,24');
    expect(sumsShape).toBe('24');
    expect(dXhat).toBeLessThan(1e-5);
    expect(dDx).toBeLessThan(1e-5);
    expect(dSums).toBeLessThan(1e-4);
    expectNoLeaks(() => {
      for (let i = 0; i < 3; i++) run();
    });
    const i32 = tf.zeros([4, 3], 'int32');
    const x3 = tf.zeros([2, 4, 3]);
    expect(() => tf.engine().runKernel(FUSED_KERNELS.sumRows, { x: i32 })).toThrow(
      /TarmSumRows: inputs must be float32, got int32/,
    );
    expect(() => tf.engine().runKernel(FUSED_KERNELS.layerNorm, { x: x3 }, { eps })).toThrow(
      /TarmLayerNorm: expected a 2-D input, got shape \[2,4,3\]/,
    );
    expect(() => tf.engine().runKernel(FUSED_KERNELS.layerNormGrad, { g: x3, x: x3 }, { eps })).toThrow(
      /needs g, x and the 3 saved tensors/,
    );
    tf.dispose([i32, x3]);
  });
});
