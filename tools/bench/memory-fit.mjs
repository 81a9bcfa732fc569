// Checks @tarm/recursion's trainingMemory estimate against the engine's real peak: tf.profile's peakBytes of
// one training step (every rung, a few widths, heads and lengths), and prints measured / estimated.
//   node tools/bench/memory-fit.mjs [backend=cpu]
const tf = await import('@tensorflow/tfjs-core');
const { useBackend } = await import('@tarm/core');
const { createModel, defineModelConfig, trainingMemory } = await import('@tarm/recursion');
const { getTask, CONTEXT_LENGTH } = await import('@tarm/tasks');
const { sequenceLength } = await import('@tarm/tasks/internal');
const { AdamW, trainStep, trainingTensorBatch, disposeBatch } = await import('@tarm/train');
await useBackend(process.argv[2] ?? 'cpu');
const task = getTask('addition');
const cases = JSON.parse(process.env.CASES ?? 'null') ?? [
  // [rung, C, heads, budget, batch rows, L]
  ['dense', 32, 4, 2, 8, 5],
  ['dense', 32, 4, 4, 8, 5],
  ['dense', 64, 4, 2, 8, 5],
  ['dense', 32, 4, 2, 16, 5],
  ['dense', 32, 4, 2, 8, 10],
  ['dense', 32, 2, 2, 8, 10],
  ['ut', 32, 4, 4, 8, 5],
  ['dual-ut', 32, 4, 4, 8, 5],
  ['dual-nested-ut', 32, 4, 12, 8, 5],
  ['ar-trm', 32, 4, 12, 8, 5],
  ['trm-faithful', 32, 4, 12, 8, 5],
  ['ut', 96, 4, 6, 8, 10],
];
console.log('rung            C   heads budget rows  T   measured MiB  estimated MiB  measured/estimated');
const ratios = [];
for (const [model, C, nHeads, budget, rows, L] of cases) {
  const cfg = defineModelConfig({
    model,
    dModel: C,
    nHeads,
    budget,
    dropout: 0.1,
    contextLength: CONTEXT_LENGTH,
    vocabSize: 14,
  });
  const m = createModel(cfg, 1);
  const opt = new AdamW(m.params, { lr: 1e-3 });
  const batch = trainingTensorBatch(task, L, rows, 1, 0);
  await trainStep(m, opt, batch, 7); // the optimizer's moments exist from here on
  const { peakBytes } = await tf.profile(() => trainStep(m, opt, batch, 8)); // the engine's highest numBytes
  const T = sequenceLength(task, L);
  const est = trainingMemory(cfg, T).bytes(rows);
  const measured = peakBytes - batch.inputs.size * 12; // the batch (int32 ids and targets, float32 mask) is the caller's
  ratios.push(measured / est);
  console.log(
    `${model.padEnd(15)} ${String(C).padStart(3)} ${String(nHeads).padStart(5)} ${String(budget).padStart(6)} ${String(rows).padStart(4)} ${String(T).padStart(3)} ${(measured / 2 ** 20).toFixed(1).padStart(14)} ${(est / 2 ** 20).toFixed(1).padStart(14)} ${(measured / est).toFixed(2).padStart(19)}`,
  );
  disposeBatch(batch);
  opt.dispose();
  m.params.dispose();
}
ratios.sort((a, b) => a - b);
console.log(
  `measured/estimated: median ${ratios[ratios.length >> 1].toFixed(2)}, range ${ratios[0].toFixed(2)}-${ratios.at(-1).toFixed(2)}`,
);
