import { readFileSync, readdirSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '@tarm/core';
import { createModel, PAPER_RUNGS, type RungName } from '@tarm/recursion';
import { decode, getTask } from '@tarm/tasks';
import { encodeExamples, sequenceLength } from '@tarm/tasks/internal';
import { AdamW, trainStep } from '../src/index.js';

/**
 * Lockstep against the authors' implementation (github.com/pauliusrauba/autoregressive-TRM), without their code:
 * each fixture, written by tools/crosscheck/lockstep.py from their model classes and data module, holds their
 * initial weights (in our names and layouts; their lm_head bias removed, as our readout has none), their first
 * 30 training batches (24 for ut_level2-b18, whose float32 drift passes 1e-5 after that) and the loss of each of their optimizer steps (torch AdamW from their configure_optimizers),
 * and for the halting rungs their ponder cost (ACT) or ACT steps run (trm) at every step.
 * Our model and optimizer, started from those weights on those batches, must reproduce every loss to float32
 * rounding: the target mask, the schedule (N blocks, N applications, ACT steps, nested cycles), the step embedding,
 * the ACT weighting and halting, y0/z0 and which rungs give them a gradient, the readout, the loss normalisation,
 * which parameters are updated and decayed, and AdamW itself all enter these numbers.
 * Regenerate: docs/parity.md, "Lockstep with the authors' code".
 */
interface Fixture {
  readonly model: string;
  readonly rung: RungName;
  readonly task: string;
  readonly length: number;
  readonly config: {
    dModel: number;
    nHeads: number;
    budget: number;
    contextLength: number;
    lr: number;
    batch: number;
    seqLen: number;
  };
  readonly weights: Record<string, { shape: number[]; data: number[] }>;
  readonly batches: readonly { inputs: number[]; targets: number[]; mask: number[] }[];
  readonly losses: readonly number[]; // one a step: 30 (24 for ut_level2-b18)
  /** ACT rungs: their ponder cost after each step's forward, as their ACTController computes it. */
  readonly ponder?: readonly number[];
  /** The same ACT state read in our (Graves') definition: mean over the T positions we see of N + R, R = 1 - the
   *  sum of p before the last step at a forced halt (theirs also counts the padding position and the last p). */
  readonly ponderGraves?: readonly number[];
  /** trm: the ACT steps their forward ran at each step. */
  readonly steps?: readonly number[];
}

const dir = new URL('./fixtures/authors-lockstep/', import.meta.url);
const fixtures = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => [f, JSON.parse(readFileSync(new URL(f, dir), 'utf8')) as Fixture] as const);
const byName = new Map(fixtures);

/** Trains our model from the fixture's weights on its batches; returns our loss and stats at every step. */
async function train(fx: Fixture, weightDecay?: number) {
  const c = fx.config;
  const { batch: B, seqLen: T } = c;
  const model = createModel(
    {
      model: fx.rung,
      dModel: c.dModel,
      nHeads: c.nHeads,
      budget: c.budget,
      contextLength: c.contextLength,
      dropout: 0,
    },
    1,
  );
  expect(model.params.names().sort()).toEqual(Object.keys(fx.weights).sort());
  for (const n of model.params.names())
    tf.tidy(() => model.params.get(n).assign(tf.tensor(fx.weights[n]!.data, fx.weights[n]!.shape)));
  const optimizer = new AdamW(model.params, weightDecay === undefined ? { lr: c.lr } : { lr: c.lr, weightDecay });
  const losses: number[] = [];
  const stats: Record<string, number>[] = [];
  for (let s = 0; s < fx.batches.length; s++) {
    const b = fx.batches[s]!;
    const batch = {
      inputs: tf.tensor2d(b.inputs, [B, T], 'int32'),
      targets: tf.tensor2d(b.targets, [B, T], 'int32'),
      mask: tf.tensor2d(b.mask, [B, T], 'float32'),
    };
    const r = await trainStep(model, optimizer, batch, 1000 + s);
    losses.push(r.loss);
    stats.push(r.stats);
    tf.dispose([batch.inputs, batch.targets, batch.mask]);
  }
  const schedule = model.schedule;
  optimizer.dispose();
  model.dispose();
  return { losses, stats, schedule, worst: Math.max(...losses.map((l, i) => Math.abs(l - fx.losses[i]!))) };
}

beforeAll(() => useBackend('cpu'));

describe('lockstep with the authors implementation (committed fixtures)', () => {
  it('covers all seven rungs, each recurrent one at two budgets (the halting ones at one ACT step and at two or more)', () => {
    expect(fixtures.map(([f]) => f)).toEqual([
      'gpt-b3.json', // dense: 3 distinct blocks
      'gpt_level1-b3.json', // iterative: 3 applications
      'gpt_level1-b6.json', // 6
      'gpt_level2-b3.json', // iterative-step: 3 applications
      'gpt_level2-b6.json', // 6
      'trm-b12.json', // ar-trm: 2 ACT steps of H = 2, L = 2
      'trm-b6.json', // 1 ACT step
      'ut-b1.json', // ut: 1 ACT step
      'ut-b6.json', // up to 6 ACT steps (positions halt at the second and third)
      'ut_level1-b2.json', // dual-ut: 1 ACT step of 2 passes
      'ut_level1-b6.json', // up to 3 ACT steps (positions halt at the second)
      'ut_level2-b12.json', // dual-nested-ut: 2 ACT steps of H = 2, L = 2
      'ut_level2-b18.json', // 3 ACT steps (positions halt at the second)
      'ut_level2-b6.json', // 1 ACT step
    ]);
    expect(new Set(fixtures.map(([, f]) => f.rung))).toEqual(new Set(PAPER_RUNGS));
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
        const ours = encodeExamples(
          rows.map((s) => ({ prompt: s.slice(0, P), answer: s.slice(P, P + A) })),
          T,
        );
        expect(Array.from(ours.inputs)).toEqual(b.inputs);
        expect(Array.from(ours.mask)).toEqual(b.mask);
        expect(Array.from(ours.targets).map((t, i) => (ours.mask[i] ? t : -1))).toEqual(
          b.targets.map((t, i) => (b.mask[i] ? t : -1)),
        );
        expect(b.mask.reduce((s, m) => s + m, 0)).toBe(B * (A + 1)); // every answer character and one newline
      }
    });

    it(`${name}: training from their initial weights on their batches reproduces their loss (and halting) at every step`, async () => {
      const r = await train(fx);
      expect(fx.losses[fx.losses.length - 1]).toBeLessThan(fx.losses[0]! - 0.3); // the steps do train
      expect(r.worst, `worst |loss difference| over ${r.losses.length} steps`).toBeLessThan(1e-5);
      if (fx.ponderGraves) {
        // the same ACT halting, position by position: their ponder cost read in our definition, step by step
        const worstPonder = Math.max(...r.stats.map((s, i) => Math.abs(s.ponder! - fx.ponderGraves![i]!)));
        expect(worstPonder, 'worst |ponder difference|').toBeLessThan(1e-3); // one flipped decision moves it by ~1 / (B T)
        // at three or more ACT steps the rung does halt: mean N + R < steps only if some position stopped early
        // (at two, halting after the first step needs p > 1 - 1e-6: it happens on neither side)
        if (r.schedule.steps >= 3) expect(Math.min(...fx.ponderGraves)).toBeLessThan(r.schedule.steps);
        else if (r.schedule.steps === 1) expect(fx.ponderGraves.every((p) => p === 2)).toBe(true); // one step: N = 1, R = 1
      }
      if (fx.steps) {
        // trm: the same number of ACT steps at every training step (as published the q head never fires early)
        expect(r.stats.map((s) => s.passes! / r.schedule.passesPerStep)).toEqual(fx.steps);
      }
    });
  }

  // Weight decay enters every step's update (torch AdamW: 0.01 on every parameter with a gradient): without it
  // the losses leave their curve. One fixture per kind of rung (flat, ACT, nested) keeps this cheap.
  for (const name of ['gpt_level2-b3.json', 'ut_level1-b6.json', 'trm-b6.json']) {
    it(`${name}: fails without weight decay (the check can see a 0.01 decay)`, async () => {
      const r = await train(byName.get(name)!, 0);
      expect(r.worst).toBeGreaterThan(1e-4);
    });
  }
});
