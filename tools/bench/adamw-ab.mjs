#!/usr/bin/env node
// Interleaved A/B of AdamW's arithmetic ('tensors': tfjs ops on the backend; 'host': one float64 JavaScript loop per
// parameter over dataSync() reads, one upload per parameter) on full training steps of config (a) of the bench:
// dense, d_model 128, 4 heads, budget 4, dropout 0.1 (818,432 parameters), batch 64, addition L = 10, seed 1337.
//
//   node tools/bench/adamw-ab.mjs [--backend node|wasm|cpu] [--warmup 3] [--rounds 10] [--json]
//
// Two identical models (same seed), each with its own optimizer, one per mode; every round runs one step of each,
// the order alternating round by round, on the same batch and dropout seed, so machine noise hits both alike.
// Prints, per mode, the median wall ms per training step, per AdamW.apply() and per step without its apply() (and
// CPU ms per step); the ratios tensors / host (> 1: host is faster); and the largest parameter difference between
// the two models at the end (float32 rounding: the two modes compute the same update). Default: 3 warm-up rounds
// (not timed) + 10 timed rounds on node. `npm run build` first. Example (reported figures):
//   node tools/bench/adamw-ab.mjs --backend node --warmup 3 --rounds 10
//   node tools/bench/adamw-ab.mjs --backend wasm --warmup 3 --rounds 10
import { performance } from 'node:perf_hooks';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => {
    if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1] && !all[i + 1].startsWith('--') ? all[i + 1] : true]);
    return acc;
  }, []),
);
const backend = args.backend ?? 'node';
const warmup = Number(args.warmup ?? 3);
const rounds = Number(args.rounds ?? 10);
process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';

const tf = await import('@tensorflow/tfjs-core');
const { useBackend } = await import('@tarm/core');
const { createModel } = await import('@tarm/recursion');
const { AdamW, trainStep, trainingTensorBatch, disposeBatch } = await import('@tarm/train');
const { getTask } = await import('@tarm/tasks');
await useBackend(backend);

const cfg = { model: 'dense', dModel: 128, nHeads: 4, budget: 4, dropout: 0.1 };
const modes = ['tensors', 'host'];
const arms = modes.map((arithmetic) => {
  const model = createModel(cfg, 1337);
  const opt = new AdamW(model.params, { arithmetic });
  const applyMs = [];
  const apply = opt.apply.bind(opt);
  opt.apply = (grads) => {
    const t0 = performance.now();
    apply(grads);
    applyMs.push(performance.now() - t0);
  };
  return { arithmetic, model, opt, applyMs, stepMs: [], cpuMs: [], restMs: [] };
});
const paramCount = arms[0].model.params.entries().reduce((n, [, v]) => n + v.size, 0);
const batches = Array.from({ length: 4 }, (_, i) => trainingTensorBatch(getTask('addition'), 10, 64, 1337, i));
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

for (let r = 0; r < warmup + rounds; r++) {
  const order = r % 2 === 0 ? arms : [...arms].reverse();
  for (const arm of order) {
    const n = arm.applyMs.length;
    const c0 = cpuMs();
    const t0 = performance.now();
    const res = await trainStep(arm.model, arm.opt, batches[r % batches.length], 1000 + r);
    const ms = performance.now() - t0;
    if (!Number.isFinite(res.loss)) throw new Error(`${arm.arithmetic}: loss ${res.loss} at round ${r}`);
    if (r < warmup)
      arm.applyMs.length = n; // warm-up: drop its apply timings
    else {
      arm.stepMs.push(ms);
      arm.cpuMs.push(cpuMs() - c0);
      arm.restMs.push(ms - arm.applyMs.slice(n).reduce((x, y) => x + y, 0)); // the step without its apply() calls
    }
  }
}

// The two models took the same steps: their parameters agree to float32 rounding.
let worst = 0;
let scale = 0;
const [a, b] = arms.map((arm) => arm.model.params.entries());
for (let i = 0; i < a.length; i++) {
  const [x, y] = [a[i][1].dataSync(), b[i][1].dataSync()];
  for (let j = 0; j < x.length; j++) {
    worst = Math.max(worst, Math.abs(x[j] - y[j]));
    scale = Math.max(scale, Math.abs(x[j]));
  }
}

const median = (xs) => {
  const s = [...xs].sort((p, q) => p - q);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const out = {
  backend,
  tfBackend: tf.getBackend(),
  params: paramCount,
  warmup,
  rounds,
  ...Object.fromEntries(
    arms.map((arm) => [
      arm.arithmetic,
      {
        stepMs: median(arm.stepMs),
        applyMs: median(arm.applyMs),
        restMs: median(arm.restMs),
        cpuMsPerStep: median(arm.cpuMs),
      },
    ]),
  ),
  maxParamDiff: worst,
  maxParam: scale,
};
out.stepRatio = out.tensors.stepMs / out.host.stepMs;
out.applyRatio = out.tensors.applyMs / out.host.applyMs;
if (args.json) console.log(JSON.stringify(out));
else {
  console.log(
    `AdamW arithmetic A/B on ${backend} (tf ${out.tfBackend}), ${paramCount} parameters, ${warmup} warm-up + ${rounds} alternating rounds`,
  );
  for (const m of modes) {
    const o = out[m];
    console.log(
      `  ${m.padEnd(8)} step ${o.stepMs.toFixed(1)} ms (cpu ${o.cpuMsPerStep.toFixed(1)} ms), apply ${o.applyMs.toFixed(2)} ms, step without apply ${o.restMs.toFixed(1)} ms (medians)`,
    );
  }
  console.log(
    `  tensors / host: step x${out.stepRatio.toFixed(3)}, apply x${out.applyRatio.toFixed(2)}; max |param diff| ${worst.toExponential(1)} (max |param| ${scale.toFixed(2)})`,
  );
}
for (const bt of batches) disposeBatch(bt);
for (const arm of arms) {
  arm.opt.dispose();
  arm.model.dispose();
}
