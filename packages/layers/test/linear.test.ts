/**
 * matMulExplicitT (the linear op whose gradient transposes explicitly, for wasm's fast matMul path) must give the
 * same forward values and gradients as tf.matMul with tfjs's own gradient, and both must match a float64 reference.
 */
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { ParamStore, Rng } from '@tarm/core';
import { describeOnBackends } from '@tarm/test-utils/vitest';
import { createLinear, linear, matMulExplicitT } from '../src/linear.js';

/** Deterministic values in [-1, 1) from a seeded generator (independent of the backend's RNG). */
function randomArray(rng: Rng, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = 2 * rng.next() - 1;
  return a;
}

/** float64 a [M, K] @ b [K, N] with optional transposes, on plain arrays. */
function matmul64(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  M: number,
  K: number,
  N: number,
  ta = false,
  tb = false,
): Float64Array {
  const out = new Float64Array(M * N);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a[ta ? k * M + i : i * K + k]! * b[tb ? j * K + k : k * N + j]!;
      out[i * N + j] = s;
    }
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = d;
  }
  return m;
}

const SHAPES: [number, number, number][] = [
  [7, 5, 3],
  [14, 16, 48],
  [64, 48, 40],
];

describeOnBackends('matMulExplicitT', ['cpu', 'wasm'], () => {
  it.each(SHAPES)('forward and gradients equal tf.matMul (M=%i, K=%i, N=%i)', (M, K, N) => {
    const rng = new Rng(M * 1000 + K * 10 + N);
    const xa = randomArray(rng, M * K);
    const wa = randomArray(rng, K * N);
    const ra = randomArray(rng, M * N);
    tf.tidy(() => {
      const x = tf.tensor2d(xa, [M, K]);
      const w = tf.tensor2d(wa, [K, N]);
      const r = tf.tensor2d(ra, [M, N]);
      // Forward: the same kernel call, so the same bits.
      expect(Array.from(matMulExplicitT(x, w).dataSync())).toEqual(Array.from(tf.matMul(x, w).dataSync()));

      const ours = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(matMulExplicitT(a as tf.Tensor2D, b as tf.Tensor2D), r)),
      )([x, w]);
      const theirs = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D), r)),
      )([x, w]);
      expect(ours[0]!.shape).toEqual([M, K]);
      expect(ours[1]!.shape).toEqual([K, N]);
      const tol = 1e-6 * Math.max(K, M, N); // float32 sums of up to max(M, N) products of values in [-1, 1)
      const dx64 = matmul64(ra, wa, M, N, K, false, true); // R W^T
      const dw64 = matmul64(xa, ra, K, M, N, true, false); // X^T R
      const dOurs = [
        maxAbsDiff(ours[0]!.dataSync(), theirs[0]!.dataSync()),
        maxAbsDiff(ours[1]!.dataSync(), theirs[1]!.dataSync()),
      ];
      expect(dOurs[0]).toBeLessThanOrEqual(tol);
      expect(dOurs[1]).toBeLessThanOrEqual(tol);
      expect(maxAbsDiff(ours[0]!.dataSync(), dx64)).toBeLessThanOrEqual(tol);
      expect(maxAbsDiff(ours[1]!.dataSync(), dw64)).toBeLessThanOrEqual(tol);
      expect(maxAbsDiff(theirs[0]!.dataSync(), dx64)).toBeLessThanOrEqual(tol);
      expect(maxAbsDiff(theirs[1]!.dataSync(), dw64)).toBeLessThanOrEqual(tol);
    });
  });

  it('linear(): [B, T, in] input, bias gradient, variable gradients through the custom op', () => {
    const [B, T, I, O] = [2, 5, 6, 4];
    const store = new ParamStore(new Rng(3));
    const p = createLinear(store, 'lin', I, O, true);
    const rng = new Rng(11);
    const xa = randomArray(rng, B * T * I);
    const wa = randomArray(rng, I * O);
    const ba = randomArray(rng, O);
    const ra = randomArray(rng, B * T * O);
    try {
      store.assign({ 'lin.weight': tf.tensor2d(wa, [I, O]), 'lin.bias': tf.tensor1d(ba) });
      tf.tidy(() => {
        const x = tf.tensor3d(xa, [B, T, I]);
        const r = tf.tensor3d(ra, [B, T, O]);
        const y = linear(p, x);
        expect(y.shape).toEqual([B, T, O]);
        const y64 = matmul64(xa, wa, B * T, I, O);
        for (let i = 0; i < B * T; i++) for (let j = 0; j < O; j++) y64[i * O + j] += ba[j]!;
        expect(maxAbsDiff(y.dataSync(), y64)).toBeLessThanOrEqual(1e-6);

        const { grads } = tf.variableGrads(() => tf.sum(tf.mul(linear(p, x), r)) as tf.Scalar, [p.weight, p.bias!]);
        const db64 = new Float64Array(O);
        for (let i = 0; i < B * T; i++) for (let j = 0; j < O; j++) db64[j] += ra[i * O + j]!;
        expect(
          maxAbsDiff(grads[p.weight.name]!.dataSync(), matmul64(xa, ra, I, B * T, O, true, false)),
        ).toBeLessThanOrEqual(1e-6);
        expect(maxAbsDiff(grads[p.bias!.name]!.dataSync(), db64)).toBeLessThanOrEqual(1e-6);
        const [dx] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(linear(p, a), r)))([x]);
        expect(dx!.shape).toEqual([B, T, I]);
        expect(maxAbsDiff(dx!.dataSync(), matmul64(ra, wa, B * T, O, I, false, true))).toBeLessThanOrEqual(1e-6);
      });
    } finally {
      store.dispose();
    }
  });
});
