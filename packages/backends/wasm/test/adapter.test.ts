import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { backendCapabilities, DEFAULT_CAPABILITIES, useBackend } from '@tarm/core';
import { expectNoLeaks } from '@tarm/test-utils/vitest';
import { adapter } from '../src/index.js';

describe('@tarm/backend-wasm', () => {
  it('selects the wasm backend with gradients registered, by object and by name', async () => {
    await useBackend(adapter);
    expect(tf.getBackend()).toBe(adapter.tfName);
    await useBackend('wasm');
    expect(tf.getBackend()).toBe(adapter.tfName);
    expect(backendCapabilities()).toEqual({
      ...DEFAULT_CAPABILITIES,
      matMulTransposeFlags: false,
      batchedMatMul: false,
      sumOverRows: false,
    });
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(x, x)))(tf.tensor1d([1, 2, 3]));
    expect(Array.from(await g.data())).toEqual([2, 4, 6]);
  });
});

describe('fused kernels over the wasm heap', () => {
  it('LayerNorm, its gradient and column sums match the plain tfjs ops, check their inputs and leave no tensors', async () => {
    await useBackend(adapter);
    const { FUSED_KERNELS, hasKernel } = await import('@tarm/core');
    for (const k of [FUSED_KERNELS.layerNorm, FUSED_KERNELS.layerNormGrad, FUSED_KERNELS.sumRows])
      expect(hasKernel(k)).toBe(true);
    const eps = 1e-5;
    const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
    const run = () =>
      tf.tidy(() => {
        const x = tf.add(tf.mul(tf.randomNormal([37, 24], 0, 1, 'float32', 3), 2), 0.5); // [M, C], not centred
        const g = tf.randomNormal([37, 24], 0, 1, 'float32', 4);
        const [xhat, ...saved] = tf.engine().runKernel(FUSED_KERNELS.layerNorm, { x }, { eps }) as tf.Tensor[];
        const inputs: Record<string, tf.Tensor> = { g, x };
        saved.forEach((t, i) => (inputs[`saved${i}`] = t));
        const dx = tf.engine().runKernel(FUSED_KERNELS.layerNormGrad, inputs, { eps }) as tf.Tensor;
        const mean = tf.mean(x, -1, true);
        const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(tf.sub(x, mean)), -1, true), eps));
        const refXhat = tf.mul(tf.sub(x, mean), rstd);
        const refDx = tf.mul(
          tf.sub(tf.sub(g, tf.mean(g, -1, true)), tf.mul(refXhat, tf.mean(tf.mul(g, refXhat), -1, true))),
          rstd,
        );
        const sums = tf.engine().runKernel(FUSED_KERNELS.sumRows, { x }) as tf.Tensor;
        return [
          maxDiff(xhat!, refXhat),
          maxDiff(dx, refDx),
          maxDiff(sums, tf.sum(x, 0)),
          sums.shape.join(','),
        ] as const;
      });
    const [dXhat, dDx, dSums, sumsShape] = run();
    expect(dXhat).toBeLessThan(1e-5);
    expect(dDx).toBeLessThan(1e-5);
    expect(dSums).toBeLessThan(1e-4);
    expect(sumsShape).toBe('24');
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
      /needs g, x and the saved rstd/,
    );
    tf.dispose([i32, x3]);
  });
});
