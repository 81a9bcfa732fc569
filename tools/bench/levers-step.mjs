// One round of tools/bench/levers.sh: config (a) training steps; prints "<median CPU ms> <median wall ms>".
import { performance } from 'node:perf_hooks';
const [backend = 'wasm', nSteps = '8'] = process.argv.slice(2);
const core = await import('@tarm/core');
const { createModel } = await import('@tarm/recursion');
const { AdamW, trainStep, trainingTensorBatch } = await import('@tarm/train');
const { getTask } = await import('@tarm/tasks');
await core.useBackend(backend);
const model = createModel({ model: 'dense', dModel: 128, nHeads: 4, budget: 4, dropout: 0.1 }, 1337);
const opt = new AdamW(model.params);
const batches = Array.from({ length: 4 }, (_, i) => trainingTensorBatch(getTask('addition'), 10, 64, 1337, i));
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const cpus = [];
const walls = [];
for (let i = 0; i < 2 + Number(nSteps); i++) {
  const c0 = cpu();
  const t0 = performance.now();
  await trainStep(model, opt, batches[i % 4], 1000 + i);
  if (i >= 2) {
    cpus.push(cpu() - c0);
    walls.push(performance.now() - t0);
  }
}
const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
console.log(`${med(cpus).toFixed(1)} ${med(walls).toFixed(1)}`);
