/**
 * The design space, checked (issue 29, part 1): every combination of the structural switches (stream, tied,
 * stepEmbedding, halting, readout) and the training switches (deepSupervision, gradCycles, haltLoss) either works
 * (builds with the analytic parameter count, trains a step, is causal, decodes through a KV cache) or is refused when
 * the config is defined, with a ConfigError naming the switch and the reason. The eight named rungs are rows.
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@tarm/core';
import { describeOnBackends } from '@tarm/test-utils/vitest';
import {
  analyticParamCount,
  createModel,
  defineModelConfig,
  RUNG_NAMES,
  RUNGS,
  SWITCH_VALUES,
  type LadderModel,
  type ModelConfigInput,
  type PassInfo,
  type RungSwitches,
} from '../src/index.js';
import { rungConflict, switchesOf } from '../src/rungs.js';
import { randomIds, setParam } from './helpers.js';

type Training = { deepSupervision: number; gradCycles: 'last' | 'all'; ponderWeight: number; haltLoss: boolean };

const STRUCTURAL: RungSwitches[] = SWITCH_VALUES.stream.flatMap((stream) =>
  SWITCH_VALUES.tied.flatMap((tied) =>
    SWITCH_VALUES.stepEmbedding.flatMap((stepEmbedding) =>
      SWITCH_VALUES.halting.flatMap((halting) =>
        SWITCH_VALUES.readout.map((readout) => ({ stream, tied, stepEmbedding, halting, readout })),
      ),
    ),
  ),
);
const TRAINING: Training[] = [1, 2].flatMap((deepSupervision) =>
  (['last', 'all'] as const).flatMap((gradCycles) =>
    [0, 0.01].flatMap((ponderWeight) =>
      [false, true].map((haltLoss) => ({ deepSupervision, gradCycles, ponderWeight, haltLoss })),
    ),
  ),
);

/** A tiny config: budget 12 is 12 single-stream steps, 6 dual steps, 2 nested steps of (H, L) = (2, 2). */
const config = (s: RungSwitches, t: Training): ModelConfigInput => ({
  model: 'dense',
  switches: s,
  ...t,
  vocabSize: 14,
  contextLength: 10,
  dModel: 8,
  nHeads: 2,
  budget: 12,
  dropout: 0.1,
});
const label = (s: RungSwitches, t: Training) =>
  `${s.stream} ${s.tied ? 'tied' : 'untied'} ${s.stepEmbedding ? 'step-emb' : 'no-step-emb'} halting ${s.halting} readout ${s.readout} | ds ${t.deepSupervision} grad ${t.gradCycles} ponder ${t.ponderWeight} haltLoss ${t.haltLoss}`;

/**
 * The refusals, written independently of the code: the first rule a combination breaks, as the field the error
 * names and the reason it gives (checked in this order: structural switches, then the training switches).
 */
const REFUSALS: { field: string; applies: (s: RungSwitches, t: Training) => boolean; reason: RegExp }[] = [
  {
    field: 'switches.readout',
    applies: (s) => s.readout === 'act-weighted' && s.halting !== 'act',
    reason: /ACT-weighted sum weighs the states by ACT's halting probabilities/,
  },
  {
    field: 'deepSupervision',
    applies: (s, t) => t.deepSupervision !== 1 && s.stream !== 'nested',
    reason: /only nested steps start from a detached \(y, z\)/,
  },
  {
    field: 'gradCycles',
    applies: (s, t) => t.gradCycles !== 'last' && s.stream !== 'nested',
    reason: /only nested steps have H cycles/,
  },
  {
    field: 'ponderWeight',
    applies: (s, t) => t.ponderWeight !== 0 && s.halting !== 'act',
    reason: /the ponder cost is ACT's/,
  },
  {
    field: 'haltLoss',
    applies: (s, t) => t.haltLoss && s.halting !== 'binary',
    reason: /trains the binary halting head/,
  },
];

const SPACE = STRUCTURAL.flatMap((s) =>
  TRAINING.map((t) => ({ s, t, refusal: REFUSALS.find((r) => r.applies(s, t)) })),
);
const ACCEPTED = SPACE.filter((c) => !c.refusal);
const REFUSED = SPACE.filter((c) => c.refusal);

/** Halting active mid-budget: a random binary head (no bias: some sequences / positions halt early). ACT's init
 *  already halts positions after about two steps. */
function build(cfg: ModelConfigInput): LadderModel {
  const m = createModel(cfg, 7);
  if (m.p.halt) {
    const w = m.params.get('halt.weight');
    w.assign(tf.randomNormal(w.shape, 0, 3, 'float32', 1));
    setParam(m, 'halt.bias', 0);
  }
  return m;
}

const [B, T] = [3, 8];
const batch = () => ({
  inputs: tf.tensor2d(randomIds(B, T, 21), [B, T], 'int32'),
  targets: tf.tensor2d(randomIds(B, T, 22), [B, T], 'int32'),
  mask: tf.ones([B, T]) as tf.Tensor2D,
});

/** One training step as the trainer takes it (every deep-supervision segment, (y, z) carried), plain SGD: the loss
 *  of each segment and the parameters that received a gradient in any. */
function trainStep(m: LadderModel): { losses: number[]; learned: Set<string> } {
  const data = batch();
  const losses: number[] = [];
  const learned = new Set<string>();
  let carry: readonly tf.Tensor[] | undefined;
  for (let index = 0; index < (m.segments ?? 1); index++) {
    let next: readonly tf.Tensor[] | undefined;
    const { value, grads } = tf.variableGrads(() => {
      const r = m.loss(data, 3, { index, carry });
      next = r.carry;
      return r.loss;
    });
    losses.push(value.dataSync()[0]!);
    for (const [name, g] of Object.entries(grads)) {
      expect(Array.from(g.dataSync()).every(Number.isFinite), `gradient of ${name}`).toBe(true);
    }
    for (const [name, v] of m.params.entries()) {
      const g = grads[v.name];
      if (g && tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0]!) > 0) learned.add(name);
      if (g) tf.tidy(() => v.assign(tf.sub(v, tf.mul(g, 0.1))));
    }
    tf.dispose([value, ...Object.values(grads), ...(carry ?? [])]);
    carry = next;
  }
  tf.dispose([...(carry ?? []), data.inputs, data.targets, data.mask]);
  return { losses, learned };
}

/** Perturbs the token at position t: logits before t must not move, some after must. */
function expectCausal(m: LadderModel, training: boolean) {
  const ids = randomIds(B, T, 3);
  const run = (rows: number[][]) =>
    tf.tidy(
      () => m.forward(tf.tensor2d(rows, [B, T], 'int32'), { training, seed: 11 }).logits.arraySync() as number[][][],
    );
  const base = run(ids);
  const t = 5;
  const out = run(ids.map((row) => row.map((v, i) => (i === t ? (v + 5) % 14 : v))));
  let past = 0;
  let future = 0;
  for (let b = 0; b < B; b++)
    for (let i = 0; i < T; i++)
      for (let v = 0; v < 14; v++) {
        const d = Math.abs(out[b]![i]![v]! - base[b]![i]![v]!);
        if (i < t) past = Math.max(past, d);
        else future = Math.max(future, d);
      }
  expect(past, `${training ? 'training' : 'evaluation'}: positions < ${t} moved`).toBeLessThanOrEqual(1e-6);
  expect(future, 'the perturbation changes something').toBeGreaterThan(1e-6);
}

/** Prefill of 3 tokens, then one token at a time: the logits equal the full forward pass's at every position. */
function expectDecodes(m: LadderModel) {
  const ids = tf.tensor2d(randomIds(B, T, 5), [B, T], 'int32');
  const full = tf.tidy(() => m.forward(ids, {}).logits.arraySync() as number[][][]);
  const session = m.startDecoding(B);
  const parts: number[][][][] = [];
  for (const [a, b] of [[0, 3], ...Array.from({ length: T - 3 }, (_, i) => [3 + i, 4 + i])] as [number, number][]) {
    parts.push(
      tf.tidy(() => session.append(tf.slice(ids, [0, a], [B, b - a]) as tf.Tensor2D).arraySync() as number[][][]),
    );
  }
  session.dispose();
  ids.dispose();
  let worst = 0;
  for (let b = 0; b < B; b++) {
    const row = parts.flatMap((p) => p[b]!);
    for (let i = 0; i < T; i++)
      for (let v = 0; v < 14; v++) worst = Math.max(worst, Math.abs(row[i]![v]! - full[b]![i]![v]!));
  }
  expect(worst, 'KV-cache decoding vs the full forward pass').toBeLessThan(1e-5);
}

describe('the design space', () => {
  it('is 72 structural x 16 training combinations, 168 accepted; the eight named rungs are rows of it', () => {
    expect(STRUCTURAL).toHaveLength(72);
    expect(SPACE).toHaveLength(1152);
    expect(ACCEPTED).toHaveLength(168);
    for (const name of RUNG_NAMES) {
      const s = switchesOf(RUNGS[name]);
      expect(
        ACCEPTED.some((c) => JSON.stringify(switchesOf(c.s)) === JSON.stringify(s)),
        name,
      ).toBe(true);
    }
  });

  it.each(REFUSED.map((c) => [label(c.s, c.t), c] as const))('refuses %s', (_, { s, t, refusal }) => {
    let error: unknown;
    try {
      defineModelConfig(config(s, t));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).field).toBe(refusal!.field);
    expect((error as ConfigError).message).toMatch(refusal!.reason);
  });

  it('switches are validated like every config key, and a resolved config defines to itself (JSON round trip)', () => {
    expect(() => defineModelConfig({ model: 'ut', switches: { halting: 'sometimes' as 'act' } })).toThrow(
      /invalid switches\.halting: got "sometimes"; allowed: "none", "act", "binary"/,
    );
    expect(() => defineModelConfig({ model: 'ut', switches: { recurse: true } as never })).toThrow(
      /invalid switches\.recurse: got true; allowed: a known key/,
    );
    for (const { s, t } of ACCEPTED) {
      const c = defineModelConfig(config(s, t));
      expect(defineModelConfig(JSON.parse(JSON.stringify(c)))).toEqual(c);
    }
  });

  it('a named rung whose recipe no longer fits a switched stream or halting is refused naming that switch', () => {
    expect(() => defineModelConfig({ model: 'trm-faithful', switches: { stream: 'dual' } })).toThrow(
      /invalid switches\.stream: got "dual"; allowed: "nested" for trm-faithful, whose recipe sets deepSupervision 0/,
    );
    expect(() => defineModelConfig({ model: 'trm-faithful', switches: { halting: 'act' } })).toThrow(
      /invalid switches\.halting: got "act"; allowed: "binary" for trm-faithful, whose recipe sets haltLoss true/,
    );
    // the recipe's parts set back by hand: accepted
    expect(defineModelConfig({ model: 'trm-faithful', switches: { halting: 'act' }, haltLoss: false })).toMatchObject({
      deepSupervision: 0,
      gradCycles: 'all',
    });
  });

  it("a halting setting on a rung without that halting is refused, not ignored (ACT's threshold, binary halting's exploration)", () => {
    expect(() => defineModelConfig({ model: 'dense', actThreshold: 0.9 })).toThrow(
      /invalid actThreshold: got 0\.9; allowed: 1 - 1e-6 unless halting is "act"/,
    );
    expect(() => defineModelConfig({ model: 'ar-trm', actThreshold: 0.9 })).toThrow(/invalid actThreshold/);
    expect(defineModelConfig({ model: 'ut', actThreshold: 0.9 }).actThreshold).toBe(0.9);
    expect(() => defineModelConfig({ model: 'ut', haltExploration: 0.5 })).toThrow(
      /invalid haltExploration: got 0\.5; allowed: 0\.25 \(the default\) or 0 unless halting is "binary"/,
    );
    expect(
      defineModelConfig({ model: 'ut', switches: { halting: 'binary' }, haltExploration: 0.5 }).haltExploration,
    ).toBe(0.5);
    expect(defineModelConfig({ model: 'dense', haltExploration: 0.25 }).haltExploration).toBe(0.25); // the default is no setting
    expect(defineModelConfig({ model: 'dense', haltExploration: 0 }).haltExploration).toBe(0); // nor is "no exploration"
  });
});

describeOnBackends('every accepted combination', ['cpu'], () => {
  it.each(ACCEPTED.map((c) => [label(c.s, c.t), c] as const))(
    '%s: parameter count, one training step, causal',
    (_, { s, t }) => {
      const cfg = config(s, t);
      const m = build(cfg);
      expect(m.params.count()).toBe(analyticParamCount(cfg));
      const { losses, learned } = trainStep(m);
      expect(losses).toHaveLength(t.deepSupervision);
      for (const l of losses) expect(Number.isFinite(l)).toBe(true);
      // every switch is honoured: the blocks always learn; the ACT unit through its weighted readout or its ponder cost,
      // when a segment has two steps or more (ACT over one step halts there by force: weight 1, N + R = 2, constants);
      // the binary head only with haltLoss (the paper's head never learns)
      expect(
        [...learned].some((n) => n.startsWith('block')),
        'a block parameter learns',
      ).toBe(true);
      const stepsPerSegment = m.schedule.steps / m.schedule.segments;
      if (s.halting === 'act')
        expect(learned.has('act.weight'), 'act.weight learns').toBe(
          (s.readout === 'act-weighted' || t.ponderWeight > 0) && stepsPerSegment > 1,
        );
      if (s.halting === 'binary') expect(learned.has('halt.weight'), 'halt.weight learns').toBe(t.haltLoss);
      if (s.stepEmbedding) expect(learned.has('step.embedding'), 'step.embedding learns').toBe(true);
      // y0, z0 learn on the dual stream only: a nested step starts from (y, z) detached, the first one included (the paper)
      if (s.stream !== 'single') expect(learned.has('init.y'), 'init.y learns').toBe(s.stream === 'dual');
      expectCausal(m, false);
      expectCausal(m, true);
      m.dispose();
    },
  );

  // decoding does not depend on the training switches except haltLoss (per-position halting)
  const decodable = ACCEPTED.filter(
    (c) => c.t.deepSupervision === 1 && c.t.gradCycles === 'last' && c.t.ponderWeight === 0,
  );
  it.each(decodable.map((c) => [label(c.s, c.t), c] as const))(
    '%s: KV-cache decoding equals the full forward pass',
    (_, { s, t }) => {
      const m = build(config(s, t));
      expectDecodes(m);
      m.dispose();
    },
  );
});

/**
 * Which block passes receive gradient (a zero probe added to every pass's output; nonzero d loss / d probe), with
 * halting held off so every step runs (ACT bias -10; the binary head's init, bias -5). Expected, from the paper:
 * single and dual streams backpropagate through every pass; a nested step starts detached, so only its cycles on the
 * tape (the last, or all with gradCycles 'all') of the steps the readout reads: every step for the ACT-weighted sum,
 * else the last.
 */
function gradientPasses(
  s: RungSwitches,
  gradCycles: 'last' | 'all',
): { withGrad: number[]; expected: number[]; gradPasses: number } {
  const m = createModel(
    { ...config(s, { deepSupervision: 1, gradCycles, ponderWeight: 0, haltLoss: false }), dropout: 0 },
    7,
  );
  if (m.p.act) setParam(m, 'act.bias', -10);
  const ids = tf.tensor2d(randomIds(2, 6, 9), [2, 6], 'int32');
  const probes = Array.from({ length: 12 }, (_, i) =>
    tf.variable(
      tf.zeros([1, 1, 8]),
      true,
      `ds_probe_${label(s, { deepSupervision: 1, gradCycles, ponderWeight: 0, haltLoss: false })}_${i}`,
    ),
  );
  const onPass = (info: PassInfo, h: tf.Tensor3D) => tf.add(h, probes[info.index]!) as tf.Tensor3D;
  const { grads, value } = tf.variableGrads(
    () => tf.sum(tf.square(m.forward(ids, { training: true, seed: 3, onPass }).logits)) as tf.Scalar,
    probes,
  );
  const withGrad = probes.flatMap((v, i) => {
    const g = grads[v.name]; // null: the probe is on no path to the loss
    return g && tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0]!) > 0 ? [i] : [];
  });
  tf.dispose([value, ...Object.values(grads).filter((g) => g), ids, ...probes]);
  const gradPasses = m.schedule.gradPasses;
  m.dispose();
  const all = Array.from({ length: 12 }, (_, i) => i);
  let expected = all;
  if (s.stream === 'nested') {
    const [steps, per] = [2, 6]; // (H, L) = (2, 2): 6 passes a step, cycle 1 = passes 3..5 of the step
    const gradSteps = s.readout === 'act-weighted' ? [0, 1] : [steps - 1];
    expected = gradSteps.flatMap((k) =>
      all.filter((i) => Math.floor(i / per) === k && (gradCycles === 'all' || i % per >= 3)),
    );
  }
  return { withGrad, expected, gradPasses };
}

describeOnBackends('gradient paths of every accepted structure', ['cpu'], () => {
  const rows = STRUCTURAL.filter((s) => !rungConflict(s)).flatMap((s) =>
    (s.stream === 'nested' ? (['last', 'all'] as const) : (['last'] as const)).map((g) => [s, g] as const),
  );
  it.each(
    rows.map(
      ([s, g]) =>
        [`${label(s, { deepSupervision: 1, gradCycles: g, ponderWeight: 0, haltLoss: false })}`, s, g] as const,
    ),
  )('%s', (_, s, g) => {
    const r = gradientPasses(s, g);
    expect(r.withGrad).toEqual(r.expected);
    // the accounting (FLOPs, memory) counts these passes; with ACT every step stays on the tape, an upper bound when
    // the readout is terminal and the ponder cost is off
    if (s.halting === 'act' && s.readout === 'terminal' && s.stream === 'nested')
      expect(r.gradPasses).toBeGreaterThanOrEqual(r.expected.length);
    else expect(r.gradPasses).toBe(r.expected.length);
  });
});

describeOnBackends('named rungs as rows', ['cpu'], () => {
  it.each(RUNG_NAMES)('%s built as a combination (dense + its switches and recipe) is the same model', (name) => {
    const r = RUNGS[name];
    const d = r.defaults ?? {};
    const recipe = {
      ...(d.deepSupervision !== undefined && {
        deepSupervision: d.deepSupervision === 'steps' ? 0 : d.deepSupervision,
      }),
      ...(d.haltLoss !== undefined && { haltLoss: d.haltLoss }),
      ...(d.gradCycles !== undefined && { gradCycles: d.gradCycles }),
    };
    const base = { vocabSize: 14, contextLength: 10, dModel: 8, nHeads: 2, budget: 12, dropout: 0.1 };
    const named = createModel({ ...base, model: name }, 3);
    const combo = createModel({ ...base, model: 'dense', switches: switchesOf(r), ...recipe }, 3);
    expect(switchesOf(combo.rung)).toEqual(switchesOf(named.rung));
    expect(combo.schedule).toEqual(named.schedule);
    expect(combo.params.names()).toEqual(named.params.names());
    const data = batch();
    const lossOf = (m: LadderModel) => tf.tidy(() => m.loss(data, 5).loss.dataSync()[0]!);
    const logitsOf = (m: LadderModel) => tf.tidy(() => Array.from(m.forward(data.inputs, {}).logits.dataSync()));
    expect(lossOf(combo)).toBe(lossOf(named));
    expect(logitsOf(combo)).toEqual(logitsOf(named));
    tf.dispose([data.inputs, data.targets, data.mask]);
    named.dispose();
    combo.dispose();
  });

  it('a named rung with its own switches is that rung (no combination made)', () => {
    for (const name of RUNG_NAMES)
      expect(
        createModel({ model: name, budget: 12, dModel: 8, nHeads: 2, switches: switchesOf(RUNGS[name]) }, 1).rung,
      ).toBe(RUNGS[name]);
  });
});

describeOnBackends('the combinations issue 29 asks about', ['cpu'], () => {
  const tiny = { vocabSize: 14, contextLength: 10, dModel: 8, nHeads: 2, budget: 12, dropout: 0 };
  const ids = () => tf.tensor2d(randomIds(2, 6, 1), [2, 6], 'int32');

  it('binary halting on a single stream halts (it used to run with no halting)', () => {
    const m = createModel({ ...tiny, model: 'iterative-step', switches: { halting: 'binary' } }, 1);
    expect(m.rung).toMatchObject({ stream: 'single', halting: 'binary', readout: 'terminal' });
    const x = ids();
    expect(m.forward(x, {}).stepsRun).toBe(12); // the paper's init (bias -5): no sequence halts
    setParam(m, 'halt.bias', 5);
    const r = m.forward(x, {});
    expect([r.stepsRun, r.passesRun]).toEqual([1, 1]);
    tf.dispose([x]);
    m.dispose();
  });

  it('dual-ut with binary halting (it used to crash) and ar-trm with ACT', () => {
    const dual = createModel({ ...tiny, model: 'dual-ut', switches: { halting: 'binary' } }, 1);
    expect(dual.rung).toMatchObject({ stream: 'dual', halting: 'binary', readout: 'terminal' });
    expect(dual.p.act).toBeUndefined();
    setParam(dual, 'halt.bias', 5);
    const x = ids();
    expect(dual.forward(x, {}).passesRun).toBe(2);
    const arAct = createModel({ ...tiny, model: 'ar-trm', switches: { halting: 'act' } }, 1);
    expect(arAct.rung).toMatchObject({ stream: 'nested', halting: 'act', readout: 'act-weighted' });
    expect(arAct.p.halt).toBeUndefined();
    expect(arAct.forward(x, {}).ponderCost).toBeDefined();
    tf.dispose([x]);
    dual.dispose();
    arAct.dispose();
  });

  it('dual-ut and ar-trm with halting "none" run every step and hold no halting unit', () => {
    for (const model of ['dual-ut', 'ar-trm'] as const) {
      const m = createModel({ ...tiny, model, switches: { halting: 'none' } }, 1);
      expect([m.p.act, m.p.halt]).toEqual([undefined, undefined]);
      const x = ids();
      const r = m.forward(x, {});
      expect(r.passesRun).toBe(12);
      expect(r.ponderCost).toBeUndefined();
      tf.dispose([x]);
      m.dispose();
    }
  });
});
