#!/usr/bin/env node
// Why node's elementwise work costs more than PyTorch's: one op through tfjs, through tfjs-node's raw binding
// (libtensorflow's eager call alone), and the same op in PyTorch (2 threads), on a tiny and a bench-sized tensor.
//   node tools/bench/prototypes/node-op-overhead.mjs [--python .venv/bin/python]
import { execFileSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '@tarm/core';

const pyArg = process.argv.indexOf('--python');
const python = pyArg > 0 ? process.argv[pyArg + 1] : '.venv/bin/python';
await useBackend('node');
const backend = tf.backend();
const binding = backend.binding;
const T = { name: 'T', type: binding.TF_ATTR_TYPE, value: binding.TF_FLOAT };

function time(f, n) {
  for (let i = 0; i < Math.min(500, n); i++) f();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) f();
  return ((performance.now() - t0) / n) * 1000;
}
const rows = [];
for (const [label, shape, n] of [
  ['[4]', [4], 20000],
  ['[2112, 128]', [2112, 128], 3000],
]) {
  const a = tf.ones(shape);
  const ids = backend.getInputTensorIds([a, a]);
  rows.push({
    label,
    tfjs: time(() => tf.add(a, a).dispose(), n),
    raw: time(() => binding.deleteTensor(binding.executeOp('AddV2', [T], ids, 1)[0].id), n),
  });
  a.dispose();
}
let torch = {};
try {
  const code = `import torch,time,json
torch.set_num_threads(2)
out={}
for label,shape,n in [('[4]',(4,),20000),('[2112, 128]',(2112,128),3000)]:
  a=torch.ones(*shape)
  for i in range(500): a+a
  t=time.perf_counter()
  for i in range(n): a+a
  out[label]=(time.perf_counter()-t)/n*1e6
print(json.dumps(out))`;
  torch = JSON.parse(
    execFileSync(python, ['-c', code], { encoding: 'utf8', env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' } }),
  );
} catch (e) {
  console.error(`PyTorch not measured (${python}): ${e.message.split('\n')[0]}`);
}
console.log('| a + a, float32 | tfjs tf.add (us) | raw libtensorflow call (us) | PyTorch x2 (us) |');
console.log('|---|---:|---:|---:|');
for (const r of rows)
  console.log(`| ${r.label} | ${r.tfjs.toFixed(1)} | ${r.raw.toFixed(1)} | ${torch[r.label]?.toFixed(1) ?? '-'} |`);
