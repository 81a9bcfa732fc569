#!/usr/bin/env node
// PROTOTYPES of wasm speed levers (not used by the packages; docs/performance.md, "Levers"). Each is measured on
// training steps of config (a) against the current code, alternating variants in one process, CPU time.
//
//   A  attention: batched matmuls as depthwise convolutions (below)
//   B  a no-copy Identity kernel for wasm (tf.clone / the engine's saved-tensor clones share the buffer, as the cpu
//      backend's Identity does; wasm's copies it)
//   C  GELU with an explicit gradient (saves x and Phi(x); 3 fewer elementwise passes over [B*T, 4C] backward)
//
// Lever A:
// On tfjs-backend-wasm a BatchMatMul with batch > 1 leaves XNNPACK for a scalar loop (~2 GFLOP/s): the six
// [B*H, T, T] x [B*H, T, hs] products of one attention (2 forward, 4 backward) cost ~22% of a training step of
// config (a). A batched product  out[n] = a[n] @ b[n]^T  is exactly a depthwise convolution with one channel per n:
//   input  x[0, i, d, n] = a[n, i, d]                                 (NHWC: height M, width K, channels N)
//   filter f[0, d, n, j] = b[n, j, d]                                 (height 1, width K, N channels, multiplier P)
//   depthwiseConv2d(x, f, stride 1, 'valid')[0, i, 0, n * P + j] = sum_d a[n, i, d] b[n, j, d]
// which tfjs-backend-wasm hands to XNNPACK (a grouped convolution: one small GEMM per group, vectorised).
// The wasm backend has no depthwise backprop kernels, so the attention core is one tf.customGrad whose backward
// pass is written with the same primitive (dq, dk, dv and d(att) are again batched A @ B^T products).
//
// Checks (dropout on, same seeds): loss and every gradient of each variant against @tarm/recursion's dense model,
// then the step times. Variants are cumulative: current, A, A+B, A+B+C.
//   node tools/bench/prototypes/wasm-levers.mjs [--steps 8] [--backend wasm] [--model dense|iterative] [--budget 4] [--profile]
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend, Rng, mixSeeds } from '@tarm/core';
import { createModel } from '@tarm/recursion';
import { maskedCrossEntropy } from '@tarm/recursion/internal';
import { embed, readout } from '@tarm/layers';
import { causalMask, causalSelfAttention, dropout, layerNorm, linear, mlp } from '@tarm/layers/internal';
import { AdamW, trainStep, trainingTensorBatch } from '@tarm/train';
import { getTask } from '@tarm/tasks';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
await useBackend(arg('backend', 'wasm'));

const dw = (x, f) => tf.depthwiseConv2d(x, f, 1, 'valid');

/**
 * Attention core with every batched product as a depthwise convolution (header). q, k, v: [B*T, C] (the column
 * blocks of the qkv projection, heads side by side) -> the heads' outputs merged, [B*T, C]. n = (b, h) is the
 * convolution's channel axis; [i, n, j] is the layout of the scores, so softmax still reduces the last axis.
 * keep: the dropout multiplier in [i, n, j] layout, or null. 16 transposes of ~270k floats in all (the current
 * code: 10), six depthwise convolutions instead of six BatchMatMuls.
 */
function attentionCoreDw(q, k, v, B, T, H, keep) {
  const C = q.shape[1];
  const hs = C / H;
  const N = B * H;
  const scale = 1 / Math.sqrt(hs);
  const mask = tf.reshape(causalMask(T), [T, 1, T]); // [i, 1, j]
  const to4 = (t) => tf.reshape(t, [B, T, H, hs]); // [b, t, h, d]
  const back = (t) => tf.reshape(tf.transpose(tf.reshape(t, [T, B, H, hs]), [1, 0, 2, 3]), [B * T, C]); // [t, n, d] -> [B*T, C]
  const f = tf.customGrad((q, k, v, save) => {
    const [q4, k4, v4] = [to4(q), to4(k), to4(v)];
    const qX = tf.reshape(tf.transpose(q4, [1, 3, 0, 2]), [1, T, hs, N]); // [i, d, n]
    const kF = tf.reshape(tf.transpose(k4, [3, 0, 2, 1]), [1, hs, N, T]); // [d, n, j]
    const p = tf.softmax(tf.add(tf.mul(tf.reshape(dw(qX, kF), [T, N, T]), scale), mask)); // [i, n, j]
    const pd = keep ? tf.mul(p, keep) : p;
    const pX = tf.reshape(tf.transpose(pd, [0, 2, 1]), [1, T, T, N]); // [i, j, n]
    const vF = tf.reshape(tf.transpose(v4, [1, 0, 2, 3]), [1, T, N, hs]); // [j, n, d]
    const y = back(dw(pX, vF)); // [B*T, C]
    save(keep ? [q, k, v, p, keep] : [q, k, v, p]); // saved tensors survive the forward pass's tidy
    return {
      value: y,
      gradFunc: (dy, [q, k, v, p, keep]) => {
        const [q4, k4, v4, dy4] = [to4(q), to4(k), to4(v), to4(dy)];
        const pd = keep ? tf.mul(p, keep) : p;
        const dyX = tf.reshape(tf.transpose(dy4, [1, 3, 0, 2]), [1, T, hs, N]); // [i, d, n]
        const vF2 = tf.reshape(tf.transpose(v4, [3, 0, 2, 1]), [1, hs, N, T]); // [d, n, j]
        const dpd = tf.reshape(dw(dyX, vF2), [T, N, T]); // [i, n, j] = dy @ v^T
        const pdX = tf.reshape(tf.transpose(pd, [2, 0, 1]), [1, T, T, N]); // [j, i, n]
        const dyF = tf.reshape(tf.transpose(dy4, [1, 0, 2, 3]), [1, T, N, hs]); // [i, n, d]
        const dv = back(dw(pdX, dyF)); // pd^T @ dy
        const dp = keep ? tf.mul(dpd, keep) : dpd;
        const ds = tf.mul(tf.mul(p, tf.sub(dp, tf.sum(tf.mul(dp, p), -1, true))), scale); // softmax backward, [i, n, j]
        const dsX = tf.reshape(tf.transpose(ds, [0, 2, 1]), [1, T, T, N]); // [i, j, n]
        const kF2 = tf.reshape(tf.transpose(k4, [1, 0, 2, 3]), [1, T, N, hs]); // [j, n, d]
        const dq = back(dw(dsX, kF2)); // ds @ k
        const dsX2 = tf.reshape(tf.transpose(ds, [2, 0, 1]), [1, T, T, N]); // [j, i, n]
        const qF = tf.reshape(tf.transpose(q4, [1, 0, 2, 3]), [1, T, N, hs]); // [i, n, d]
        const dk = back(dw(dsX2, qF)); // ds^T @ q
        return [dq, dk, dv];
      },
    };
  });
  return f(q, k, v);
}

/** Drop-in for @tarm/layers' causalSelfAttention (same parameters, same dropout masks and seeds). x: [B, T, C]. */
function causalSelfAttentionDw(p, x, drop) {
  const [B, T, C] = x.shape;
  const H = p.nHeads;
  const qkv = linear(p.qkv, tf.reshape(x, [B * T, C])); // [B*T, 3C]
  const [q, k, v] = tf.split(qkv, 3, 1); // each [B*T, C]
  const rate = drop?.rate ?? 0;
  const seed = drop?.rng.seed();
  // The same mask as @tarm/layers' dropout draws for [B*H, T, T], moved to the [i, n, j] layout (off the tape).
  const keep =
    rate > 0 && seed !== undefined
      ? tf.tidy(() =>
          tf.transpose(
            tf.div(
              tf.cast(tf.greaterEqual(tf.randomUniform([B * H, T, T], 0, 1, 'float32', seed), rate), 'float32'),
              1 - rate,
            ),
            [1, 0, 2],
          ),
        )
      : null;
  const merged = attentionCoreDw(q, k, v, B, T, H, keep); // [B*T, C]
  return tf.reshape(linear(p.proj, merged), [B, T, C]);
}

/** Lever C: exact GELU, 0.5 x (1 + erf(x / sqrt 2)) = x Phi(x), with d/dx = Phi(x) + x phi(x). */
const geluExplicit = tf.customGrad((x, save) => {
  const cdf = tf.mul(tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1), 0.5); // Phi(x)
  save([x, cdf]);
  return {
    value: tf.mul(x, cdf),
    gradFunc: (dy, [x, cdf]) => {
      const pdf = tf.mul(tf.exp(tf.mul(tf.square(x), -0.5)), 1 / Math.sqrt(2 * Math.PI)); // phi(x)
      return [tf.mul(dy, tf.add(cdf, tf.mul(x, pdf)))];
    },
  };
});

/** Lever B: Identity that shares the input's buffer (reference counted) instead of copying it. */
const identityCopy = tf.getKernel('Identity', tf.getBackend());
const identityShared = {
  kernelName: 'Identity',
  backendName: tf.getBackend(),
  kernelFunc: ({ inputs: { x }, backend }) => {
    backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  },
};
function useIdentity(shared) {
  if (!identityCopy || tf.getBackend() !== 'wasm') return; // lever B is for wasm only
  tf.unregisterKernel('Identity', tf.getBackend());
  tf.registerKernel(shared ? identityShared : identityCopy);
}

function blockWith(p, h, drop, o) {
  const rate = drop?.rate ?? 0;
  const a = o.attention
    ? causalSelfAttentionDw(p.attn, layerNorm(p.ln1, h), drop)
    : causalSelfAttention(p.attn, layerNorm(p.ln1, h), drop);
  const h1 = tf.add(h, dropout(a, rate, drop?.rng.seed()));
  const x = layerNorm(p.ln2, h1);
  const m = o.gelu ? linear(p.mlp.proj, geluExplicit(linear(p.mlp.fc, x))) : mlp(p.mlp, x);
  return tf.add(h1, dropout(m, rate, drop?.rng.seed()));
}

/** The dense / iterative rungs' loss (forward.ts, single-stream path) with the chosen levers: same dropout seeds per pass. */
function lossWith(model, batch, seed, o) {
  const { p, config } = model;
  let h = embed(p.embed, batch.inputs);
  for (let k = 0; k < model.schedule.steps; k++) {
    const drop = config.dropout > 0 ? { rate: config.dropout, rng: new Rng(mixSeeds(seed, 3, k)) } : undefined;
    h = blockWith(model.rung.tied ? p.blocks[0] : p.blocks[k], h, drop, o);
  }
  return maskedCrossEntropy(readout(p.head, h), batch.targets, batch.mask);
}

const model = arg('model', 'dense');
if (!['dense', 'iterative'].includes(model))
  throw new Error(
    '--model: dense or iterative (the prototype implements the single-stream path without step embeddings)',
  );
const cfg = { model, dModel: 128, nHeads: 4, budget: Number(arg('budget', 4)), dropout: 0.1 };
const task = getTask('addition');
const batch = trainingTensorBatch(task, 10, 64, 1337, 0);

const VARIANTS = {
  current: null,
  'A attention': { attention: true },
  'A+B identity': { attention: true, identity: true },
  'A+B+C gelu': { attention: true, identity: true, gelu: true },
};
const names = Object.keys(VARIANTS);

// --- 1. same loss and gradients -------------------------------------------------------------------------------------
{
  const model = createModel(cfg, 1337);
  const vars = model.params.entries().map(([, v]) => v);
  const ref = tf.variableGrads(() => model.loss(batch, 42).loss, vars);
  for (const name of names.slice(1)) {
    const o = VARIANTS[name];
    useIdentity(!!o.identity);
    const got = tf.variableGrads(() => lossWith(model, batch, 42, o), vars);
    useIdentity(false);
    let worst = 0;
    let worstRel = 0;
    for (const v of Object.keys(ref.grads)) {
      const d = tf.max(tf.abs(tf.sub(ref.grads[v], got.grads[v]))).dataSync()[0];
      const m = tf.max(tf.abs(ref.grads[v])).dataSync()[0];
      worst = Math.max(worst, d);
      worstRel = Math.max(worstRel, d / (m || 1));
    }
    console.log(
      `${name.padEnd(13)} loss ${got.value.dataSync()[0].toFixed(7)} (current ${ref.value.dataSync()[0].toFixed(7)}); gradients max |diff| ${worst.toExponential(2)}, relative to each tensor's max ${worstRel.toExponential(2)}`,
    );
    tf.dispose(got);
  }
  tf.dispose(ref);
  model.dispose();
}

// --- 2. training-step time, variants interleaved --------------------------------------------------------------------
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const median = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
const steps = Number(arg('steps', 8));
const runs = Object.fromEntries(
  names.map((name) => {
    const m = createModel(cfg, 1337);
    const o = VARIANTS[name];
    const lm = o
      ? {
          params: m.params,
          blockPasses: m.blockPasses,
          loss: (b, s) => ({ loss: lossWith(m, b, s, o) }),
          logits: m.logits,
        }
      : m;
    return [name, { lm, opt: new AdamW(m.params), o: o ?? {}, wall: [], cpu: [], losses: [] }];
  }),
);
for (let i = 0; i < steps + 2; i++) {
  const order = i % 2 ? [...names].reverse() : names;
  for (const name of order) {
    const r = runs[name];
    useIdentity(!!r.o.identity);
    const t0 = performance.now();
    const c0 = cpuMs();
    const res = await trainStep(r.lm, r.opt, batch, 1000 + i);
    if (i >= 2) {
      r.wall.push(performance.now() - t0);
      r.cpu.push(cpuMs() - c0);
    }
    r.losses.push(res.loss);
    useIdentity(false);
  }
}
const tokens = 64 * 33;
const base = median(runs.current.cpu);
console.log(
  `\n${tf.getBackend()}, ${cfg.model} budget ${cfg.budget} (config (a) is dense budget 4), ${steps} timed steps per variant after 2 warm-up, interleaved; load average ${os.loadavg()[0].toFixed(1)}`,
);
console.log(
  '| variant | step ms (CPU) | tok per CPU-s | step ms (wall) | speed-up (CPU) | max loss diff vs current over the steps |\n|---|---:|---:|---:|---:|---:|',
);
for (const name of names) {
  const r = runs[name];
  const c = median(r.cpu);
  const dl = Math.max(...r.losses.map((l, i) => Math.abs(l - runs.current.losses[i])));
  console.log(
    `| ${name} | ${c.toFixed(0)} | ${Math.round((tokens * 1000) / c)} | ${median(r.wall).toFixed(0)} | x${(base / c).toFixed(2)} | ${dl.toExponential(1)} |`,
  );
}

// --- 3. optional: kernel CPU time by name, current vs all levers (--profile) ----------------------------------------
if (process.argv.includes('--profile')) {
  tf.env().set('CHECK_COMPUTATION_FOR_ERRORS', false);
  tf.backend().time = async (f) => {
    const c0 = cpuMs();
    f();
    return { kernelMs: cpuMs() - c0 };
  };
  for (const name of [names[0], names[names.length - 1]]) {
    const r = runs[name];
    useIdentity(!!r.o.identity);
    const info = await tf.profile(() => trainStep(r.lm, r.opt, batch, 7));
    useIdentity(false);
    const by = new Map();
    for (const k of info.kernels) {
      if (!tf.getKernel(k.name, tf.getBackend())) continue; // customGrad scopes contain the kernels below
      const e = by.get(k.name) ?? [0, 0];
      by.set(k.name, [e[0] + k.kernelTimeMs, e[1] + 1]);
    }
    const total = [...by.values()].reduce((a, [ms]) => a + ms, 0);
    console.log(`\n${name}: ${total.toFixed(0)} ms of kernels (CPU) in one step`);
    for (const [k, [ms, n]] of [...by].sort((a, b) => b[1][0] - a[1][0]).slice(0, 12))
      console.log(`  ${k.padEnd(22)} ${ms.toFixed(1).padStart(7)} ms  ${String(n).padStart(4)} calls`);
  }
}
