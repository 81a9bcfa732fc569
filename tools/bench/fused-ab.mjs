// Interleaved A/B of @tarm/core's fused kernels on wasm: config (a) training steps alternate between the kernels
// registered (layers use them) and unregistered (layers fall back to tfjs ops), in one process, CPU time.
//   node tools/bench/fused-ab.mjs [steps=24]
import { performance } from 'node:perf_hooks';
const tf = await import('@tensorflow/tfjs-core');
const core = await import('@tarm/core');
const { createModel } = await import('@tarm/recursion');
const { AdamW, trainStep, trainingTensorBatch } = await import('@tarm/train');
const { getTask } = await import('@tarm/tasks');
await core.useBackend('wasm');
const kernels = Object.values(core.FUSED_KERNELS)
  .map((n) => tf.getKernel(n, 'wasm'))
  .filter(Boolean);
const set = (on) => {
  for (const k of kernels) {
    if (on && !tf.getKernel(k.kernelName, 'wasm')) tf.registerKernel(k);
    if (!on && tf.getKernel(k.kernelName, 'wasm')) tf.unregisterKernel(k.kernelName, 'wasm');
  }
};
const model = createModel({ model: 'dense', dModel: 128, nHeads: 4, budget: 4, dropout: 0.1 }, 1337);
const opt = new AdamW(model.params);
const batch = trainingTensorBatch(getTask('addition'), 10, 64, 1337, 0);
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const res = { on: [], off: [] };
for (let i = 0; i < Number(process.argv[2] ?? 24); i++) {
  const on = i % 2 === 0;
  set(on);
  const c0 = cpu();
  await trainStep(model, opt, batch, 1000 + i);
  if (i >= 4) res[on ? 'on' : 'off'].push(cpu() - c0);
}
const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
console.log(
  `fused kernels (${kernels.map((k) => k.kernelName).join(', ')}) on`,
  med(res.on).toFixed(1),
  'off',
  med(res.off).toFixed(1),
  'ms CPU; speed-up x',
  (med(res.off) / med(res.on)).toFixed(3),
);
