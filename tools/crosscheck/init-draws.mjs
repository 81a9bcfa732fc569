#!/usr/bin/env node
// Initialisation draws, tarm's side (for init_compare.py): builds `createModel(config, seed)` for seeds 1..N and
// writes every parameter, all seeds concatenated (seed-major), as raw little-endian float32 to DIR/<name>.f32,
// with DIR/index.json ({ name: shape }). `npm run build` first.
//   node tools/crosscheck/init-draws.mjs --rung dense --seeds 100 --d-model 16 --heads 2 --budget 6 --context 10 --out DIR
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const opt = (k, d) => (args.includes(`--${k}`) ? args[args.indexOf(`--${k}`) + 1] : d);
process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
const tf = await import('@tensorflow/tfjs-core');
const { useBackend } = await import('@tarm/core');
const { createModel } = await import('@tarm/recursion');
await useBackend(opt('backend', 'cpu'));
const config = {
  model: opt('rung', 'dense'),
  dModel: +opt('d-model', 16),
  nHeads: +opt('heads', 2),
  budget: +opt('budget', 6),
  contextLength: +opt('context', 10),
  dropout: 0,
};
const seeds = +opt('seeds', 100);
const out = opt('out');
if (!out) throw new Error('--out DIR is required');
mkdirSync(out, { recursive: true });
const values = new Map();
const shapes = {};
for (let seed = 1; seed <= seeds; seed++) {
  const model = createModel(config, seed);
  for (const name of model.params.names()) {
    const v = model.params.get(name);
    shapes[name] = v.shape;
    if (!values.has(name)) values.set(name, []);
    values.get(name).push(v.dataSync().slice());
  }
  model.dispose();
}
for (const [name, parts] of values) {
  const all = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  parts.forEach((p, i) => all.set(p, i * p.length)); // seed-major: every seed's draw has the same size
  writeFileSync(join(out, `${name}.f32`), Buffer.from(all.buffer));
}
writeFileSync(join(out, 'index.json'), JSON.stringify({ config, seeds, shapes }));
console.log(`${config.model}: ${values.size} parameters x ${seeds} seeds -> ${out} (${tf.getBackend()})`);
