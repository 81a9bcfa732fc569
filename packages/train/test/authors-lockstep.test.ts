import { readFileSync, readdirSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '@tarm/core';
import { createModel, type RungName } from '@tarm/recursion';
import { decode, encodeExamples, getTask, sequenceLength } from '@tarm/tasks';
import { AdamW, trainStep } from '../src/index.js';

/**
 * Lockstep against the authors' implementation (github.com/pauliusrauba/autoregressive-TRM), without their code:
 * each fixture, written by tools/crosscheck/lockstep.py from their model classes and data module, holds their
 * initial weights (in our names and layouts; their lm_head bias removed, as our readout has none), their first
 * 30 training batches and the loss of each of their optimizer steps (torch AdamW from their configure_optimizers).
 * Our model and optimizer, started from those weights on those batches, must reproduce every loss to float32
 * rounding: the target mask, the nested step (no-gradient cycle, detach, step embedding, y0/z0), the readout,
 * the loss normalisation, which parameters are updated and decayed, and AdamW itself all enter these numbers.
 * Regenerate: docs/parity.md, "Lockstep with the authors' code".
 */
interface Fixture {
  readonly rung: RungName;
  readonly task: string;
  readonly length: number;
  readonly config: { dModel: number; nHeads: number; budget: number; contextLength: number; lr: number; batch: number; seqLen: number };
  readonly weights: Record<string, { shape: number[]; data: number[] }>;
  readonly batches: readonly { inputs: number[]; targets: number[]; mask: number[] }[];
  readonly losses: readonly number[];
}

const dir = new URL('./fixtures/authors-lockstep/', import.meta.url);
const fixtures = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => [f, JSON.parse(readFileSync(new URL(f, dir), 'utf8')) as Fixture] as const);

beforeAll(() => useBackend('cpu'));

describe('lockstep with the authors implementation (committed fixtures)', () => {
  it('covers ar-trm at one and two ACT steps, ut (ACT) and dual-nested-ut', () => {
    expect(fixtures.map(([, f]) => `${f.rung}/${f.config.budget}`)).toEqual(['ar-trm/12', 'ar-trm/6', 'ut/6', 'dual-nested-ut/12']);
  });

  for (const [name, fx] of fixtures) {
    const { batch: B, seqLen: T } = fx.config;

    it(`${name}: our encoding of their examples gives their inputs, targets and mask (answer + end newline)`, () => {
      const task = getTask(fx.task);
      expect(sequenceLength(task, fx.length)).toBe(T);
      const P = task.promptLength(fx.length);
      const A = task.answerLength(fx.length);
      for (const b of fx.batches.slice(0, 5)) {
        // their rows: prompt + answer, then newline padding; our example: the same prompt and answer
        const rows = Array.from({ length: B }, (_, r) => decode(b.inputs.slice(r * T, (r + 1) * T)));
        const ours = encodeExamples(rows.map((s) => ({ prompt: s.slice(0, P), answer: s.slice(P, P + A) })), T);
        expect(Array.from(ours.inputs)).toEqual(b.inputs);
        expect(Array.from(ours.mask)).toEqual(b.mask);
        expect(Array.from(ours.targets).map((t, i) => (ours.mask[i] ? t : -1))).toEqual(b.targets.map((t, i) => (b.mask[i] ? t : -1)));
        expect(b.mask.reduce((s, m) => s + m, 0)).toBe(B * (A + 1)); // every answer character and one newline
      }
    });

    it(`${name}: training from their initial weights on their batches reproduces their loss at every step`, async () => {
      const c = fx.config;
      const model = createModel({ model: fx.rung, dModel: c.dModel, nHeads: c.nHeads, budget: c.budget, contextLength: c.contextLength, dropout: 0 }, 1);
      expect(model.params.names().sort()).toEqual(Object.keys(fx.weights).sort());
      for (const n of model.params.names()) tf.tidy(() => model.params.get(n).assign(tf.tensor(fx.weights[n]!.data, fx.weights[n]!.shape)));
      const optimizer = new AdamW(model.params, { lr: c.lr });
      const ours: number[] = [];
      for (let s = 0; s < fx.batches.length; s++) {
        const b = fx.batches[s]!;
        const batch = { inputs: tf.tensor2d(b.inputs, [B, T], 'int32'), targets: tf.tensor2d(b.targets, [B, T], 'int32'), mask: tf.tensor2d(b.mask, [B, T], 'float32') };
        ours.push((await trainStep(model, optimizer, batch, 1000 + s)).loss);
        tf.dispose([batch.inputs, batch.targets, batch.mask]);
      }
      const worst = Math.max(...ours.map((l, i) => Math.abs(l - fx.losses[i]!)));
      expect(fx.losses[fx.losses.length - 1]).toBeLessThan(fx.losses[0]! - 0.3); // the steps do train
      expect(worst, `worst |loss difference| over ${ours.length} steps`).toBeLessThan(1e-5);
      optimizer.dispose();
      model.dispose();
    });
  }
});
