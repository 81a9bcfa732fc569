#!/usr/bin/env node
// Lockstep check, tarm's side: loads the file lockstep.py wrote (the authors' initial weights in tarm's names and
// their first batches), trains tarm's model with tarm's AdamW on exactly those batches, and prints both loss
// curves and their difference. `npm run build` first.
// For the ACT rungs it also prints the ponder cost of both sides (theirs read in tarm's definition, lockstep.py).
//   node tools/crosscheck/lockstep.mjs FILE [--backend node|cpu|wasm] [--weight-decay 0.01]
import { readFileSync } from 'node:fs';

const [file, ...rest] = process.argv.slice(2);
const opt = (k, d) => (rest.includes(`--${k}`) ? rest[rest.indexOf(`--${k}`) + 1] : d);
process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
const tf = await import('@tensorflow/tfjs-core');
const { useBackend } = await import('@tarm/core');
const { createModel } = await import('@tarm/recursion');
const { AdamW, trainStep } = await import('@tarm/train');
await useBackend(opt('backend', 'node'));
const ref = JSON.parse(readFileSync(file, 'utf8'));
const c = ref.config;
const model = createModel(
  { model: ref.rung, dModel: c.dModel, nHeads: c.nHeads, budget: c.budget, contextLength: c.contextLength, dropout: 0 },
  1,
);
for (const name of model.params.names()) {
  const w = ref.weights[name];
  if (!w) throw new Error(`no weight ${name} in ${file}`);
  tf.tidy(() => model.params.get(name).assign(tf.tensor(w.data, w.shape)));
}
const wd = opt('weight-decay');
const optimizer = new AdamW(model.params, wd === undefined ? { lr: c.lr } : { lr: c.lr, weightDecay: +wd });
const shape = [c.batch, c.seqLen];
const ponder = ref.ponderGraves;
console.log(`step  authors   tarm      diff${ponder ? '      ponder authors / tarm' : ''}`);
let worst = 0;
let worstPonder = 0;
for (let s = 0; s < ref.batches.length; s++) {
  const b = ref.batches[s];
  const batch = {
    inputs: tf.tensor2d(b.inputs, shape, 'int32'),
    targets: tf.tensor2d(b.targets, shape, 'int32'),
    mask: tf.tensor2d(b.mask, shape, 'float32'),
  };
  const r = await trainStep(model, optimizer, batch, 1000 + s);
  tf.dispose([batch.inputs, batch.targets, batch.mask]);
  const d = r.loss - ref.losses[s];
  worst = Math.max(worst, Math.abs(d));
  if (ponder) worstPonder = Math.max(worstPonder, Math.abs(r.stats.ponder - ponder[s]));
  const p = ponder ? `  ${ponder[s].toFixed(5)} / ${r.stats.ponder.toFixed(5)}` : '';
  if (s < 5 || (s + 1) % 10 === 0)
    console.log(
      String(s + 1).padEnd(5),
      ref.losses[s].toFixed(5).padEnd(9),
      r.loss.toFixed(5).padEnd(9),
      d.toExponential(2),
      p,
    );
}
console.log(
  `worst |diff| over ${ref.batches.length} steps: ${worst.toExponential(2)}${ponder ? `; ponder ${worstPonder.toExponential(2)}` : ''}`,
);
