#!/usr/bin/env node
// Kernel profile of one training step (tf.profile): where the time of a step goes, by kernel name and by kernel
// name + input shapes (+ matMul transpose flags and transpose permutations).
//   node tools/bench/profile.mjs [--backend wasm] [--model dense] [--budget 4] [--steps 3] [--top 30] [--clock cpu|wall] [--json]
// --clock cpu (default) times every kernel with process.cpuUsage() instead of the wall clock, so other processes on
// a shared machine do not inflate the breakdown (wasm and cpu run kernels synchronously on this thread).
// Default: config (a) of the bench (dense, d_model 128, 4 heads, budget 4, batch 64, addition L = 10, dropout 0.1).
import { performance } from 'node:perf_hooks';
import os from 'node:os';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => {
    if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1] && !all[i + 1].startsWith('--') ? all[i + 1] : true]);
    return acc;
  }, []),
);
const backend = args.backend ?? 'wasm';
const cfg = {
  model: args.model ?? 'dense',
  dModel: Number(args['d-model'] ?? 128),
  nHeads: Number(args.heads ?? 4),
  budget: Number(args.budget ?? 4),
  dropout: Number(args.dropout ?? 0.1),
};
const nSteps = Number(args.steps ?? 3);
const top = Number(args.top ?? 30);

const tf = await import('@tensorflow/tfjs-core');
const { useBackend } = await import('@tarm/core');
const { createModel } = await import('@tarm/recursion');
const { AdamW, trainStep, trainingTensorBatch, disposeBatch } = await import('@tarm/train');
const { getTask } = await import('@tarm/tasks');
await useBackend(backend);
tf.env().set('CHECK_COMPUTATION_FOR_ERRORS', false);
const clock = args.clock ?? 'cpu';
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
if (clock === 'cpu') {
  tf.backend().time = async (f) => {
    const c0 = cpuMs();
    f();
    return { kernelMs: cpuMs() - c0 };
  };
}
const now = clock === 'cpu' ? cpuMs : () => performance.now();

const task = getTask('addition');
const model = createModel(cfg, 1337);
const opt = new AdamW(model.params);
const batches = Array.from({ length: 4 }, (_, i) => trainingTensorBatch(task, 10, 64, 1337, i));
const tokens = batches[0].inputs.shape[0] * batches[0].inputs.shape[1];
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

// Record kernel attributes (matMul flags, transpose perms) in call order, to be matched with tf.profile's kernels.
const engine = tf.engine();
const origRunKernel = engine.runKernel.bind(engine);
let attrLog;
engine.runKernel = (name, inputs, attrs) => {
  const out = origRunKernel(name, inputs, attrs);
  attrLog?.push({ name, attrs }); // on completion: the order in which tf.profile lists kernels (nested ones first)
  return out;
};

let step = 0;
const run = () => trainStep(model, opt, batches[step % 4], 1000 + step++);
for (let i = 0; i < 2; i++) await run(); // warm-up
const plain = [];
const plainCpu = [];
for (let i = 0; i < nSteps; i++) {
  const t0 = performance.now();
  const c0 = cpuMs();
  await run();
  plain.push(performance.now() - t0);
  plainCpu.push(cpuMs() - c0);
}

const byName = new Map();
const byShape = new Map();
let kernelMs = 0;
let kernelCount = 0;
const profiledWall = [];
let attrsMatched = true;
const wrappers = new Map();
for (let i = 0; i < nSteps; i++) {
  attrLog = [];
  const t0 = performance.now();
  const info = await tf.profile(() => run());
  profiledWall.push(performance.now() - t0);
  const log = attrLog;
  attrLog = undefined;
  // customGrad scopes (matMulExplicitT's "forward", offTape) are profiled as pseudo-kernels that CONTAIN the kernels
  // they run, which are profiled too: count only registered kernels.
  const kernels = info.kernels.filter((k) => {
    if (tf.getKernel(k.name, tf.getBackend())) return true;
    const e = wrappers.get(k.name) ?? { ms: 0, calls: 0 };
    e.ms += k.kernelTimeMs;
    e.calls += 1;
    wrappers.set(k.name, e);
    return false;
  });
  const aligned = log.length === kernels.length && log.every((l, j) => l.name === kernels[j].name);
  attrsMatched &&= aligned;
  kernels.forEach((k, j) => {
    const ms = k.kernelTimeMs;
    kernelMs += ms;
    kernelCount += 1;
    const a = aligned ? (log[j].attrs ?? {}) : {};
    let flag = '';
    if (a.transposeA || a.transposeB) flag = ` tA=${!!a.transposeA} tB=${!!a.transposeB}`;
    if (k.name === 'Transpose' && a.perm) flag = ` perm=[${a.perm}]`;
    const shapeKey = `${k.name} ${k.inputShapes.map((s) => `[${s}]`).join(' ')}${flag}`;
    for (const [map, key] of [
      [byName, k.name],
      [byShape, shapeKey],
    ]) {
      const e = map.get(key) ?? { ms: 0, calls: 0 };
      e.ms += ms;
      e.calls += 1;
      map.set(key, e);
    }
  });
}
engine.runKernel = origRunKernel;

// Dropout masks are written in JavaScript (@tarm/layers' dropoutKeepValues, no kernel): time them alone at the step's shapes.
const { dropoutKeepValues } = await import('@tarm/layers/internal');
const B = 64;
const T = tokens / B;
const C = cfg.dModel;
const H = cfg.nHeads;
const dropoutShapes =
  cfg.dropout > 0
    ? [
        [B * H, T, T],
        [B, T, C],
        [B, T, C],
      ]
    : [];
const passes = model.blockPasses;
let rngMs = 0;
if (dropoutShapes.length) {
  const r0 = now();
  for (let rep = 0; rep < 3; rep++)
    for (const s of dropoutShapes)
      for (let p = 0; p < passes; p++)
        tf.tidy(() => tf.tensor(dropoutKeepValues(s[0] * s[1] * s[2], cfg.dropout, 7 + p + rep), s));
  rngMs = (now() - r0) / 3;
}

const perStep = (x) => x / nSteps;
const wall = median(plain);
const stepClockMs = clock === 'cpu' ? median(plainCpu) : wall;
const sumKernel = perStep(kernelMs);
const rows = (map) =>
  [...map.entries()]
    .map(([k, e]) => ({ kernel: k, msPerStep: perStep(e.ms), callsPerStep: perStep(e.calls), share: e.ms / kernelMs }))
    .sort((a, b) => b.msPerStep - a.msPerStep);
const result = {
  backend,
  config: { ...cfg, batch: 64, task: 'addition', L: 10, tokensPerStep: tokens },
  loadAvg: os.loadavg().map((x) => Math.round(x * 100) / 100),
  clock,
  stepMsMedian: wall,
  stepCpuMsMedian: median(plainCpu),
  tokensPerSecond: (tokens * 1000) / wall,
  profiledStepMsMedian: median(profiledWall),
  kernelMsPerStep: sumKernel,
  kernelsPerStep: perStep(kernelCount),
  dropoutMaskMsPerStep: rngMs,
  attrsMatched,
  customGradScopes: Object.fromEntries(
    [...wrappers].map(([k, e]) => [k, { msPerStep: perStep(e.ms), callsPerStep: perStep(e.calls) }]),
  ),
  byName: rows(byName),
  byShape: rows(byShape),
};
for (const b of batches) disposeBatch(b);

if (args.json) {
  console.log(JSON.stringify(result));
} else {
  const f = (x, d = 1) => x.toFixed(d);
  console.log(
    `# ${backend} profile: ${cfg.model} C=${C} heads=${H} budget=${cfg.budget} dropout=${cfg.dropout}, batch 64 x T ${T} = ${tokens} tokens; load ${result.loadAvg.join(' ')}`,
  );
  console.log(
    `step (unprofiled, median of ${nSteps}): ${f(wall)} ms wall = ${Math.round(result.tokensPerSecond)} tok/s; ${f(result.stepCpuMsMedian)} ms CPU = ${Math.round((tokens * 1000) / result.stepCpuMsMedian)} tok/CPU-s; profiled step ${f(result.profiledStepMsMedian)} ms wall`,
  );
  console.log(`times below: ${clock === 'cpu' ? 'CPU time of this process (process.cpuUsage)' : 'wall clock'}`);
  console.log(
    `kernels: ${f(sumKernel)} ms/step in ${Math.round(result.kernelsPerStep)} kernel calls (mean ${f((sumKernel / result.kernelsPerStep) * 1000, 0)} us)`,
  );
  console.log(`dropout masks (JavaScript sfc32 + upload, not a kernel): ~${f(rngMs)} ms/step`);
  console.log(
    `the rest of the step (tape, JS op dispatch, allocation, AdamW scalars, GC): ~${f(stepClockMs - sumKernel - rngMs)} ms/step\n`,
  );
  console.log('| kernel | ms/step | share of kernel time | calls/step | us/call |\n|---|---:|---:|---:|---:|');
  for (const r of result.byName.slice(0, top))
    console.log(
      `| ${r.kernel} | ${f(r.msPerStep)} | ${f(r.share * 100)}% | ${f(r.callsPerStep, 0)} | ${f((r.msPerStep / r.callsPerStep) * 1000, 0)} |`,
    );
  console.log('\n| kernel, input shapes | ms/step | share | calls/step | us/call |\n|---|---:|---:|---:|---:|');
  for (const r of result.byShape.slice(0, top))
    console.log(
      `| ${r.kernel} | ${f(r.msPerStep)} | ${f(r.share * 100)}% | ${f(r.callsPerStep, 0)} | ${f((r.msPerStep / r.callsPerStep) * 1000, 0)} |`,
    );
  if (wrappers.size)
    console.log(
      `\nNot counted above (customGrad scopes that contain kernels listed above): ${[...wrappers].map(([k, e]) => `${k} ${f(perStep(e.ms))} ms/step in ${f(perStep(e.calls), 0)} calls`).join('; ')}`,
    );
  if (!attrsMatched) console.log('\n(kernel attributes could not be matched to the profile: flags and perms omitted)');
}
