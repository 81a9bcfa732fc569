/**
 * Rough training-step speed of the layer stack on TARM_BACKEND (run by `npm run bench`, which sets TARM_BENCH=1;
 * skipped otherwise). Small on purpose: machines are shared. Numbers are medians of a few steps after a warm-up.
 */
import { expect, test } from 'vitest';
import { useBackend, type BackendName } from '@tarm/core';
import { causalMask } from '@tarm/layers/internal';
import { layerStack, shiftBatch, trainCase, runMeasured } from '../src/index.js';

const target = (process.env.TARM_BACKEND ?? 'cpu') as BackendName;
const cfg = { vocab: 32, context: 32, dModel: 64, nHeads: 4, nBlocks: 2, dropout: 0.1 };
const batch = 8;

test.runIf(process.env.TARM_BENCH === '1')(`training-step speed on ${target}`, async () => {
  await useBackend(target);
  const c = trainCase({
    name: 'bench',
    model: (seed) => layerStack(cfg, seed),
    batch: (rng) => shiftBatch(rng, batch, cfg.context, cfg.vocab),
    steps: 6,
    lr: 0.1,
    compareParams: false,
    prepare: () => void causalMask(cfg.context),
  });
  const r = await runMeasured(c);
  const ms = r.timings!.msPerStep!;
  console.log(
    `[bench] ${target}: d_model ${cfg.dModel}, ${cfg.nBlocks} blocks, seq ${cfg.context}, batch ${batch} (${batch * cfg.context} tokens/step): ` +
      `${ms.toFixed(1)} ms/step after a ${r.timings!.firstStepMs!.toFixed(0)} ms first step, ${Math.round(r.timings!.tokensPerSecond!)} tokens/s`,
  );
  expect(r.leakedTensors).toBe(0);
});
