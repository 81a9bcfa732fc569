#!/usr/bin/env node
// Training-stream draws, tarm's side (for data_compare.py): the first --batches batches of `trainingBatch(task, L,
// batch, seed, step)`, step 0, 1, ..., exactly as a training run reads them, written as raw little-endian arrays
// DIR/inputs.i32, DIR/targets.i32 (int32) and DIR/mask.f32 (float32), each [examples, T], with DIR/index.json.
// `npm run build` first.
//   node tools/crosscheck/data-draws.mjs --task addition --length 4 --batch 32 --batches 1000 --seed 1 --out DIR
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getTask, trainingBatch } from '@tarm/tasks';
import { sequenceLength } from '@tarm/tasks/internal';

const args = process.argv.slice(2);
const opt = (k, d) => (args.includes(`--${k}`) ? args[args.indexOf(`--${k}`) + 1] : d);
const task = getTask(opt('task', 'addition'));
const L = +opt('length', 4);
const B = +opt('batch', 32);
const batches = +opt('batches', 1000);
const seed = +opt('seed', 1);
const out = opt('out');
if (!out) throw new Error('--out DIR is required');
const T = sequenceLength(task, L);
const inputs = new Int32Array(batches * B * T);
const targets = new Int32Array(batches * B * T);
const mask = new Float32Array(batches * B * T);
for (let step = 0; step < batches; step++) {
  const b = trainingBatch(task, L, B, seed, step);
  inputs.set(b.inputs, step * B * T);
  targets.set(b.targets, step * B * T);
  mask.set(b.mask, step * B * T);
}
mkdirSync(out, { recursive: true });
for (const [name, a] of [
  ['inputs.i32', inputs],
  ['targets.i32', targets],
  ['mask.f32', mask],
])
  writeFileSync(join(out, name), Buffer.from(a.buffer));
writeFileSync(
  join(out, 'index.json'),
  JSON.stringify({
    task: task.name,
    L,
    T,
    examples: batches * B,
    batch: B,
    seed,
    prompt: task.promptLength(L),
    answer: task.answerLength(L),
  }),
);
