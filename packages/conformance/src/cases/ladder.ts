import * as tf from '@tensorflow/tfjs-core';
import { Rng, mixSeeds } from '@tarm/core';
import { causalMask } from '@tarm/layers/internal';
import {
  RUNGS,
  RUNG_NAMES,
  createModel,
  type LadderModel,
  type ModelConfigInput,
  type RungName,
} from '@tarm/recursion';
import { intArray, perturb, type ConformanceCase } from '../harness.js';

/** Small ladder models: dModel 16, 2 heads, budget 12 (nested rungs 18: 3 steps of H = 2, L = 2). */
const [B, T, P] = [3, 10, 4];
const CHUNKS = [3, 1, 4, 2];
const base = (model: RungName): ModelConfigInput => ({
  model,
  vocabSize: 11,
  contextLength: 16,
  dModel: 16,
  nHeads: 2,
  budget: RUNGS[model].nested ? 18 : 12,
  dropout: 0.1,
});

/**
 * Aims the ACT unit / halting head so that about half the halting units (positions; sequences for ar-trm's
 * position-0 head) halt after the first step: a random direction, signed so its projection grows with the step
 * (the states grow), the bias at the median first-step projection (ACT: + 14, where sigmoid passes 1 - 1e-6).
 * Reads asynchronously (webgpu).
 */
async function aimHalting(m: LadderModel, ids: tf.Tensor2D, seed: number): Promise<void> {
  const unit = m.p.act ?? m.p.halt;
  if (!unit) return;
  const C = m.config.dModel;
  tf.tidy(() => unit.weight.assign(tf.randomNormal([C, 1], 0, 1, 'float32', mixSeeds(seed, 8))));
  let proj: tf.Tensor | undefined;
  const last = m.schedule.passesPerStep - 1; // step 0's last pass: its output is h or y
  tf.tidy(() => {
    m.forward(ids, {
      earlyExit: false,
      onPass: (info, h) =>
        void (info.index === last && (proj = tf.keep(tf.matMul(tf.reshape(h, [-1, C]), unit.weight)))),
    });
  });
  const all = Array.from(await proj!.data());
  proj!.dispose();
  const units = m.p.halt && !m.config.haltLoss ? all.filter((_, r) => r % T === 0) : all;
  const s = [...units].sort((a, b) => a - b);
  // Between two neighbouring units, never on one: a unit exactly at the threshold (an odd count's middle, e.g.
  // ar-trm's 3 sequences) halts or not by float rounding, which differs between backends and between the full
  // pass and the cache.
  const i = (s.length - 1) >> 1;
  const median = s.length > 1 ? (s[i]! + s[i + 1]!) / 2 : s[0]!;
  tf.tidy(() => unit.weight.assign(tf.mul(unit.weight, median < 0 ? -1 : 1)));
  tf.tidy(() => unit.bias.assign(tf.fill([1], (m.p.act ? 14 : 0) - Math.abs(median))));
}

/** Logits of `ids` fed to a KV cache in chunks, concatenated [B, T, V]. */
function cached(m: LadderModel, ids: tf.Tensor2D, chunks: readonly number[]): tf.Tensor3D {
  const cache = m.createCache(ids.shape[0]);
  try {
    let t = 0;
    const parts = chunks.map((n) => {
      const out = tf.tidy(() => m.forward(tf.slice(ids, [0, t], [-1, n]) as tf.Tensor2D, { cache }).logits);
      t += n;
      return out;
    });
    const all = tf.concat(parts, 1) as tf.Tensor3D;
    tf.dispose(parts);
    return all;
  } finally {
    cache.dispose();
  }
}

/**
 * KV-cached decoding of one rung: `full` (the forward pass on [B, T]), `cached` (prefill P, then one token at a
 * time) and `chunks` (uneven chunks), each compared with cpu; on the backend itself, cached and chunked logits
 * must equal the full pass's (a note fails the case otherwise). No synchronous read anywhere (webgpu).
 */
function kvCase(label: string, model: RungName, extra: Partial<ModelConfigInput> = {}): ConformanceCase {
  return {
    name: `ladder ${label}: KV-cached decoding equals the full pass`,
    tolerance: { default: { atol: 1e-5, rtol: 1e-4 } },
    prepare: () => [T, P, CHUNKS[0]!].forEach((n) => causalMask(n)),
    async run(seed) {
      const m = createModel({ ...base(model), ...extra }, seed);
      perturb(m.params, new Rng(mixSeeds(seed, 7)), 0.2);
      const data = intArray(new Rng(mixSeeds(seed, 9)), B * T, 11);
      for (let b = 0; b < B; b++) data[b * T] = b; // distinct first tokens: ar-trm's sequences can halt apart
      const ids = tf.tensor2d(data, [B, T], 'int32');
      await aimHalting(m, ids, seed);
      let stepsRun = 0;
      const [full, perPosition] = tf.tidy(() => {
        const r = m.forward(ids, {});
        stepsRun = r.stepsRun;
        return [r.logits, r.stepsPerPosition ?? tf.zeros([0])];
      });
      const halts = Array.from(await perPosition.data());
      perPosition.dispose();
      const tokens = cached(m, ids, [P, ...Array.from({ length: T - P }, () => 1)]);
      const chunks = cached(m, ids, CHUNKS);
      const worst = tf.tidy(() =>
        tf.stack([tf.max(tf.abs(tf.sub(tokens, full))), tf.max(tf.abs(tf.sub(chunks, full)))]),
      );
      const [dTokens, dChunks] = Array.from(await worst.data());
      const outputs = {
        full: Float32Array.from(await full.data()),
        cached: Float32Array.from(await tokens.data()),
        chunks: Float32Array.from(await chunks.data()),
      };
      const steps = m.schedule.steps;
      tf.dispose([ids, full, tokens, chunks, worst]);
      m.dispose();
      const notes = [
        ...(dTokens! > 1e-5 ? [`token-by-token logits differ from the full pass by ${dTokens}`] : []),
        ...(dChunks! > 1e-5 ? [`chunked logits differ from the full pass by ${dChunks}`] : []),
      ];
      const halting = halts.length
        ? `; full pass: ${stepsRun} of ${steps} steps, halting steps ${[...new Set(halts)].sort().join('/')}`
        : '';
      return {
        outputs,
        notes,
        summary: `max |cached - full| ${dTokens!.toExponential(1)} (one token at a time), ${dChunks!.toExponential(1)} (chunks ${CHUNKS.join(', ')})${halting}`,
      };
    },
  };
}

/** Every rung's KV-cached decoding (ar-trm also with its halting head read per position). */
export const LADDER_CASES: ConformanceCase[] = [
  ...RUNG_NAMES.map((r) => kvCase(r, r)),
  kvCase('ar-trm with haltLoss', 'ar-trm', { haltLoss: true }),
];
