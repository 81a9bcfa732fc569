/**
 * `tarm export`: a run's weights as safetensors, and the round trip into PyTorch.
 *
 * The round trip: tools/torch/make_export_fixtures.py trained dense, dual-ut and ar-trm for a few steps with the
 * CLI, exported them (fixtures/export/*.safetensors), loaded each file into the float64 PyTorch reference with
 * tools/torch/load_tarm.py and stored the reference's logits on fixed ids. Here the same files are loaded into
 * tarm models: tarm's logits must equal the reference's to 1e-5. No Python needed. With the next block (the file
 * holds the checkpoint's parameters bit for bit) this is "the trained tarm model's logits = PyTorch's on the export".
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError, decodeSafetensors, useBackend } from '@tarm/core';
import { loadCheckpoint } from '@tarm/core/node';
import { createModel, defineModelConfig } from '@tarm/recursion';
import { exportRunWeights, runTraining } from '../src/node/index.js';
import { EXPORT_METADATA } from '../src/node/export.js';
import { createFromConfig, tinyRunConfig } from './helpers/tiny-run.js';

interface Enc {
  shape: number[];
  data: number[];
}
interface Fixture {
  torch_version: string;
  ids: Enc;
  cases: { name: string; file: string; steps_run: number; logits: Enc }[];
}
const FIXTURES = new URL('./fixtures/export/', import.meta.url);
const fx = JSON.parse(await readFile(new URL('export-parity.json', FIXTURES), 'utf8')) as Fixture;
const TOL = 1e-5;

let root: string;
beforeAll(async () => {
  await useBackend('cpu');
  root = await mkdtemp(join(tmpdir(), 'tarm-export-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe.each(['cpu', 'wasm'] as const)(
  'round trip on %s: tarm logits = PyTorch reference logits on the exported weights',
  (backend) => {
    beforeAll(async () => {
      await useBackend(backend);
    });
    afterAll(async () => {
      await useBackend('cpu');
    });

    it.each(fx.cases.map((c) => [c.name, c] as const))('%s', async (name, c) => {
      const { tensors, metadata } = decodeSafetensors(
        new Uint8Array(await readFile(new URL(c.file, FIXTURES))),
        c.file,
      );
      const config = defineModelConfig(JSON.parse(metadata[EXPORT_METADATA.model]!));
      expect(config.model).toBe(name);
      expect(metadata[EXPORT_METADATA.weights]).toBe('trained');
      const model = createModel(config, 1); // seed irrelevant: every parameter is overwritten
      try {
        expect(Object.keys(tensors).sort(), 'the file holds exactly the model parameters').toEqual(
          model.params.names().sort(),
        );
        for (const [n, v] of model.params.entries()) {
          expect(tensors[n]!.shape, n).toEqual(v.shape);
          tf.tidy(() => v.assign(tf.tensor(tensors[n]!.data, v.shape)));
        }
        const d = tf.tidy(() => {
          const ids = tf.tensor2d(fx.ids.data, fx.ids.shape as [number, number], 'int32');
          const out = model.forward(ids, { training: false });
          expect(out.stepsRun).toBe(c.steps_run);
          expect(out.logits.shape).toEqual(c.logits.shape);
          const got = out.logits.dataSync();
          return got.reduce((m, x, i) => Math.max(m, Math.abs(x - c.logits.data[i]!)), 0);
        });
        console.log(
          `[export round trip ${backend}] ${name}: max |tarm - torch ${fx.torch_version} float64| = ${d.toExponential(2)}`,
        );
        expect(d).toBeLessThanOrEqual(TOL);
      } finally {
        model.dispose();
      }
    });
  },
);

describe('exportRunWeights', () => {
  const config = tinyRunConfig({ steps: 4, evalEvery: 4, checkpointEvery: 4, optimizer: { lr: 3e-3, ema: 0.9 } });
  let dir: string;
  beforeAll(async () => {
    dir = join(root, 'run');
    const res = await runTraining({ outDir: dir, config, createModel: () => createFromConfig(config) });
    res.model.params.dispose();
  });

  it('writes the model parameters only, bit for bit, with the run config in the metadata', async () => {
    const out = await exportRunWeights(dir, { describe: (m) => ({ 'test.kind': (m as { kind: string }).kind }) });
    const { tensors, metadata } = decodeSafetensors(out.bytes, 'export');
    const ckpt = await loadCheckpoint(join(dir, 'checkpoint'));
    try {
      const params = Object.keys(ckpt.tensors).filter((n) => !n.startsWith('optimizer.'));
      expect(params.length).toBeGreaterThan(0);
      expect(Object.keys(tensors).sort()).toEqual(params.sort());
      for (const n of params) expect(Array.from(tensors[n]!.data), n).toEqual(Array.from(ckpt.tensors[n]!.dataSync()));
    } finally {
      tf.dispose(Object.values(ckpt.tensors));
    }
    expect(out.step).toBe(4);
    expect(JSON.parse(metadata[EXPORT_METADATA.model]!)).toEqual(config.model);
    expect(JSON.parse(metadata[EXPORT_METADATA.train]!)).toEqual(config.train);
    expect(metadata).toMatchObject({
      format: 'pt',
      [EXPORT_METADATA.weights]: 'trained',
      [EXPORT_METADATA.step]: '4',
      [EXPORT_METADATA.seed]: '1337',
      'test.kind': 'tiny',
    });
  });

  it('--ema exports the EMA copy of every parameter under the parameter names', async () => {
    const { tensors, metadata } = decodeSafetensors((await exportRunWeights(dir, { weights: 'ema' })).bytes, 'export');
    const trained = decodeSafetensors((await exportRunWeights(dir)).bytes, 'export').tensors;
    const ckpt = await loadCheckpoint(join(dir, 'checkpoint'));
    try {
      expect(Object.keys(tensors).sort()).toEqual(Object.keys(trained).sort());
      for (const n of Object.keys(tensors))
        expect(Array.from(tensors[n]!.data), n).toEqual(Array.from(ckpt.tensors[`optimizer.ema.${n}`]!.dataSync()));
      expect(tensors['head.out.weight']!.data).not.toEqual(trained['head.out.weight']!.data); // really another set
    } finally {
      tf.dispose(Object.values(ckpt.tensors));
    }
    expect(metadata[EXPORT_METADATA.weights]).toBe('ema');
  });

  it('refuses --ema for a run without an EMA, and a folder that is no run', async () => {
    const plain = tinyRunConfig({ steps: 2, evalEvery: 2, checkpointEvery: 2 });
    const plainDir = join(root, 'plain');
    (
      await runTraining({ outDir: plainDir, config: plain, createModel: () => createFromConfig(plain) })
    ).model.params.dispose();
    await expect(exportRunWeights(plainDir, { weights: 'ema' })).rejects.toThrow(
      /invalid ema: got true; allowed: a folder trained with an EMA of its weights \(train with an EMA decay\); this one keeps none/,
    );
    await expect(exportRunWeights(join(root, 'nothing'))).rejects.toThrow(CheckpointError);
  });
});
