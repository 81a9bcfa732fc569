#!/usr/bin/env node
// Kernel-level micro-benchmarks behind docs/performance.md's lever list (CPU time, median of repeats):
//   1. one attention product [256, 33, 32] x [256, 32, 33]: BatchMatMul (with and without transpose flags) vs the
//      depthwise-convolution formulation (lever A) vs 256 separate 2-D matMuls
//   2. a weight gradient x^T dy: explicit transpose of x (current) vs transpose(dy^T x) vs the transposeA flag
//   3. one step's dropout masks: tf.randomUniform + 3 kernels (current) vs the same alea stream written in JS
//      (bit-identical masks) vs a faster 32-bit generator (different masks)
//   node tools/bench/prototypes/wasm-micro.mjs
import * as tf from '@tensorflow/tfjs-core';
import seedrandom from 'seedrandom';
import { useBackend } from '@tarm/core';

await useBackend('wasm');
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
function bench(name, f, reps = 15) {
  for (let i = 0; i < 3; i++) tf.dispose(f());
  const ts = [];
  for (let i = 0; i < reps; i++) {
    const c = cpu();
    const r = f();
    r.dataSync();
    ts.push(cpu() - c);
    tf.dispose(r);
  }
  ts.sort((a, b) => a - b);
  console.log(`  ${name.padEnd(66)} ${ts[reps >> 1].toFixed(2).padStart(7)} ms`);
}

console.log('1. attention product, N = B*H = 256, T = 33, hs = 32');
{
  const N = 256;
  const T = 33;
  const hs = 32;
  const q = tf.randomNormal([N, T, hs]);
  const k = tf.randomNormal([N, T, hs]);
  const kT = tf.transpose(k, [0, 2, 1]);
  const bmmNT = (a, b) =>
    tf.tidy(() => {
      const [n, M, K] = a.shape;
      const P = b.shape[1];
      const x = tf.reshape(tf.transpose(a, [1, 2, 0]), [1, M, K, n]);
      const f = tf.reshape(tf.transpose(b, [2, 0, 1]), [1, K, n, P]);
      return tf.transpose(tf.reshape(tf.depthwiseConv2d(x, f, 1, 'valid'), [M, n, P]), [1, 0, 2]);
    });
  const d = tf.max(tf.abs(tf.sub(tf.matMul(q, kT), bmmNT(q, k)))).dataSync()[0];
  bench('BatchMatMul q @ kT (no flags; current forward)', () => tf.matMul(q, kT));
  bench('BatchMatMul q @ k^T (transposeB)', () => tf.matMul(q, k, false, true));
  bench(`depthwiseConv2d formulation, 3 transposes included (max diff ${d})`, () => bmmNT(q, k));
  const qs = tf.unstack(q);
  const kTs = tf.unstack(kT);
  bench('256 separate 2-D matMuls + stack', () => tf.tidy(() => tf.stack(qs.map((qi, i) => tf.matMul(qi, kTs[i])))), 5);
}

console.log('2. weight gradient dW = x^T dy, x [2112, K], dy [2112, N]');
for (const [K, N] of [
  [128, 384],
  [128, 512],
  [512, 128],
]) {
  const x = tf.randomNormal([2112, K]);
  const dy = tf.randomNormal([2112, N]);
  bench(`[${K},${N}] matMul(transpose(x), dy)  (current)`, () => tf.tidy(() => tf.matMul(tf.transpose(x), dy)));
  bench(`[${K},${N}] transpose(matMul(transpose(dy), x))`, () =>
    tf.tidy(() => tf.transpose(tf.matMul(tf.transpose(dy), x))),
  );
  bench(`[${K},${N}] matMul(x, dy, transposeA = true)`, () => tf.matMul(x, dy, true, false), 3);
}

console.log('3. dropout masks of one config-(a) step: 4 blocks x ([256,33,33] + 2 x [64,33,128]), rate 0.1');
{
  const rate = 0.1;
  const shapes = [
    [256, 33, 33],
    [64, 33, 128],
    [64, 33, 128],
  ];
  const current = (shape, seed) =>
    tf.tidy(() =>
      tf.div(tf.cast(tf.greaterEqual(tf.randomUniform(shape, 0, 1, 'float32', seed), rate), 'float32'), 1 - rate),
    );
  const thr32 = Math.fround(rate);
  const scale = Math.fround(1 / Math.fround(1 - rate));
  const sameStream = (shape, seed) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const out = new Float32Array(n);
    const r = seedrandom.alea(String(seed)); // tf.randomUniform's generator and seeding
    for (let i = 0; i < n; i++) out[i] = Math.fround(r()) >= thr32 ? scale : 0;
    return tf.tensor(out, shape);
  };
  const mulberry = (shape, seed) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const out = new Float32Array(n);
    const thr = Math.floor(rate * 4294967296);
    let st = seed >>> 0;
    for (let i = 0; i < n; i++) {
      st = (st + 0x6d2b79f5) | 0;
      let t = Math.imul(st ^ (st >>> 15), 1 | st);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      out[i] = (t ^ (t >>> 14)) >>> 0 >= thr ? scale : 0;
    }
    return tf.tensor(out, shape);
  };
  let same = true;
  for (const s of shapes) same &&= tf.max(tf.abs(tf.sub(current(s, 5), sameStream(s, 5)))).dataSync()[0] === 0;
  const step = (f) => () => {
    const ms = [];
    for (let p = 0; p < 4; p++) for (const s of shapes) ms.push(f(s, 11 + p));
    const last = ms.pop();
    tf.dispose(ms);
    return last;
  };
  bench('tf.randomUniform + greaterEqual + cast + div (current)', step(current), 7);
  bench(`same alea stream in JS (${same ? 'bit-identical' : 'DIFFERENT'} masks)`, step(sameStream), 7);
  bench('mulberry32 in JS (different masks)', step(mulberry), 7);
}
