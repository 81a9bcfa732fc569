#!/usr/bin/env node
// Prototype (not used by the packages): data-parallel training on the wasm backend with worker_threads. Each of W
// threads (the main one included) has its own tfjs engine and wasm backend and computes the gradient of its share of
// the batch; the main thread combines them weighted by each share's mask count (= the full batch's gradient up to
// rounding, since the loss is the masked mean) and applies AdamW; the new weights go back to the workers.
//   node tools/bench/prototypes/wasm-data-parallel.mjs [--threads 2] [--steps 6] [--check]
// --check: with dropout 0, compares the combined gradient with the full batch's (max abs difference).
// Config (a) of the bench: dense, d_model 128, 4 heads, budget 4, batch 64, addition L = 10, dropout 0.1.
// Measured (docs/performance.md): x1.18-1.25 over one thread on this 2-vCPU machine, about what PyTorch's second
// thread gains; so no change of the ratio at equal threads.
// Not done here (a real trainer would need them): per-row dropout masks and ar-trm exploration draws that match the
// single-process run (each share draws its masks from the step seed for its own shape).
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] && !process.argv[i + 1].startsWith('--') ? process.argv[i + 1] : true) : dflt;
};
const CFG = { model: 'dense', dModel: 128, nHeads: 4, budget: 4, dropout: Number(arg('dropout', 0.1)) };

const tf = await import('@tensorflow/tfjs-core');
const core = await import('@tarm/core');
const { createModel } = await import('@tarm/recursion');
await core.useBackend('wasm');

/** Gradient of the masked-mean loss on rows [from, to) of a batch given as arrays: {name: Float32Array}, loss, mask count. */
function shareGradients(model, share, seed) {
  const { inputs, targets, mask, rows, T } = share;
  const batch = {
    inputs: tf.tensor2d(inputs, [rows, T], 'int32'),
    targets: tf.tensor2d(targets, [rows, T], 'int32'),
    mask: tf.tensor2d(mask, [rows, T], 'float32'),
  };
  const entries = model.params.entries();
  const { value, grads } = tf.variableGrads(
    () => model.loss(batch, seed).loss,
    entries.map(([, v]) => v),
  );
  const out = {};
  for (const [name, v] of entries) out[name] = grads[v.name].dataSync().slice();
  const loss = value.dataSync()[0];
  tf.dispose([value, ...Object.values(grads), batch.inputs, batch.targets, batch.mask]);
  let count = 0;
  for (const m of mask) count += m;
  return { grads: out, loss, count };
}

if (!isMainThread) {
  const model = createModel(workerData.cfg, 1337);
  parentPort.on('message', (msg) => {
    for (const [name, v] of model.params.entries()) v.assign(tf.tensor(msg.weights[name], v.shape));
    const r = shareGradients(model, msg.share, msg.seed);
    parentPort.postMessage(
      r,
      Object.values(r.grads).map((a) => a.buffer),
    );
  });
} else {
  const W = Number(arg('threads', 2));
  const steps = Number(arg('steps', 6));
  const { AdamW, trainStep, trainingTensorBatch } = await import('@tarm/train');
  const { getTask, trainingBatch } = await import('@tarm/tasks');
  const task = getTask('addition');
  const model = createModel(CFG, 1337);
  const opt = new AdamW(model.params);
  const B = 64;
  const raw = (step) => trainingBatch(task, 10, B, 1337, step); // plain arrays
  const shareOf = (b, k) => {
    const T = b.inputs.length / B;
    const per = Math.ceil(B / W);
    const [r0, r1] = [k * per, Math.min(B, (k + 1) * per)];
    return {
      rows: r1 - r0,
      T,
      inputs: b.inputs.slice(r0 * T, r1 * T),
      targets: b.targets.slice(r0 * T, r1 * T),
      mask: b.mask.slice(r0 * T, r1 * T),
    };
  };
  const workers = Array.from(
    { length: W - 1 },
    () => new Worker(fileURLToPath(import.meta.url), { workerData: { cfg: CFG } }),
  );
  const weights = () => Object.fromEntries(model.params.entries().map(([n, v]) => [n, v.dataSync().slice()]));
  const combine = (parts) => {
    const total = parts.reduce((s, p) => s + p.count, 0);
    const out = {};
    for (const [name, v] of model.params.entries()) {
      const acc = new Float32Array(v.size);
      for (const p of parts) {
        const g = p.grads[name];
        const w = p.count / total;
        for (let i = 0; i < acc.length; i++) acc[i] += w * g[i];
      }
      out[name] = acc;
    }
    return out;
  };
  const parallelStep = async (step) => {
    const b = raw(step);
    const w = weights();
    const pending = workers.map(
      (wk, k) =>
        new Promise((res) => {
          wk.once('message', res);
          wk.postMessage({ weights: w, share: shareOf(b, k + 1), seed: 1000 + step });
        }),
    );
    const mine = shareGradients(model, shareOf(b, 0), 1000 + step);
    const parts = [mine, ...(await Promise.all(pending))];
    const g = combine(parts);
    const named = Object.fromEntries(model.params.entries().map(([n, v]) => [n, tf.tensor(g[n], v.shape)]));
    opt.apply(named);
    tf.dispose(Object.values(named));
    return g;
  };
  const cpuMs = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const med = (xs) => [...xs].sort((a, c) => a - c)[xs.length >> 1];

  if (arg('check', false)) {
    // full-batch gradient vs the combined shares, on the same weights (dropout 0 makes them comparable)
    const b = raw(0);
    const full = shareGradients(
      model,
      { rows: B, T: b.inputs.length / B, inputs: b.inputs, targets: b.targets, mask: b.mask },
      7,
    );
    const parts = [shareGradients(model, shareOf(b, 0), 7)];
    for (let k = 1; k < W; k++) parts.push(shareGradients(model, shareOf(b, k), 7));
    const g = combine(parts);
    let worst = 0;
    for (const n of Object.keys(g))
      for (let i = 0; i < g[n].length; i++) worst = Math.max(worst, Math.abs(g[n][i] - full.grads[n][i]));
    console.log(`check (dropout ${CFG.dropout}): max |combined - full-batch gradient| = ${worst.toExponential(2)}`);
  }

  // single-thread reference in this process, then the data-parallel steps
  const tb = Array.from({ length: 4 }, (_, i) => trainingTensorBatch(task, 10, B, 1337, i));
  const single = [];
  for (let i = 0; i < 2 + steps; i++) {
    const t0 = performance.now();
    await trainStep(model, opt, tb[i % 4], 1000 + i);
    if (i >= 2) single.push(performance.now() - t0);
  }
  const par = [];
  for (let i = 0; i < 2 + steps; i++) {
    const t0 = performance.now();
    await parallelStep(i);
    if (i >= 2) par.push(performance.now() - t0);
  }
  const tokens = B * 33;
  console.log(`single thread: ${med(single).toFixed(0)} ms/step = ${Math.round((tokens * 1000) / med(single))} tok/s`);
  console.log(
    `${W} threads:     ${med(par).toFixed(0)} ms/step = ${Math.round((tokens * 1000) / med(par))} tok/s (x${(med(single) / med(par)).toFixed(2)}); CPU ${cpuMs().toFixed(0)} ms in all`,
  );
  for (const wk of workers) await wk.terminate();
}
