import * as tf from '@tensorflow/tfjs-core';
import { ParamStore, Rng, mixSeeds, type BackendName, type TensorBatch, type TrainableLM } from '@tarm/core';

/**
 * Conformance harness: a case runs on the cpu backend (the reference) and on the backend under test, returns
 * named arrays, and the two sets are compared within a tolerance. Every read is asynchronous (`await t.data()`)
 * because `dataSync()` does not work on webgpu in Node.
 */

/** |got - ref| <= atol + rtol * |ref|, elementwise. */
export interface Tolerance {
  readonly atol: number;
  readonly rtol: number;
}

/** What a case run hands back: named results, plus timings (ms) for the report. */
export interface CaseResult {
  readonly outputs: Record<string, Float32Array>;
  readonly timings?: Record<string, number>;
  /** Problems that fail the case (printed): e.g. a tensor count that grows across training steps. */
  readonly notes?: string[];
  /** One informative line for the report (e.g. the loss going down). */
  readonly summary?: string;
}

export interface ConformanceCase {
  readonly name: string;
  /** Backends that skip this case, with the reason (also listed at the top of the suite). */
  readonly skip?: Partial<Record<BackendName, string>>;
  /** Tolerance per output name prefix; `default` for the rest. */
  readonly tolerance: { readonly default: Tolerance } & Readonly<Record<string, Tolerance>>;
  /**
   * Creates what the code under test keeps on purpose between calls (the causal-mask cache of attention), so
   * the leak check does not count it. Called before each measured run.
   */
  prepare?(): void;
  /**
   * Runs on the active backend. Must dispose every tensor it creates (the harness checks the tensor count),
   * must be deterministic given `seed`, and may only read tensors asynchronously.
   */
  run(seed: number): Promise<CaseResult>;
}

export const SEED = 20240607;

// ---------------------------------------------------------------------------------------------------------------
// Comparison

export interface Mismatch {
  readonly output: string;
  readonly detail: string;
}

export interface Comparison {
  /** Largest |got - ref| / max|ref| over all outputs (a readable summary of the agreement). */
  readonly worstScaled: number;
  readonly worstOutput: string;
  readonly mismatches: Mismatch[];
}

export function toleranceFor(c: ConformanceCase, output: string): Tolerance {
  let best: Tolerance = c.tolerance.default;
  let bestLen = -1;
  for (const [prefix, tol] of Object.entries(c.tolerance)) {
    if (prefix !== 'default' && output.startsWith(prefix) && prefix.length > bestLen) {
      best = tol;
      bestLen = prefix.length;
    }
  }
  return best;
}

export function compareResults(c: ConformanceCase, ref: CaseResult, got: CaseResult): Comparison {
  const mismatches: Mismatch[] = [];
  let worstScaled = 0;
  let worstOutput = '';
  for (const [name, r] of Object.entries(ref.outputs)) {
    const g = got.outputs[name];
    if (!g) {
      mismatches.push({ output: name, detail: 'missing' });
      continue;
    }
    if (g.length !== r.length) {
      mismatches.push({ output: name, detail: `length ${g.length} != ${r.length}` });
      continue;
    }
    const tol = toleranceFor(c, name);
    let maxRef = 0;
    let maxDiff = 0;
    let bad = -1;
    let badCount = 0;
    for (let i = 0; i < r.length; i++) {
      const d = Math.abs(g[i]! - r[i]!);
      maxRef = Math.max(maxRef, Math.abs(r[i]!));
      if (!(d <= tol.atol + tol.rtol * Math.abs(r[i]!))) {
        badCount++;
        if (bad < 0) bad = i;
      }
      if (d > maxDiff || Number.isNaN(d)) maxDiff = Number.isNaN(d) ? Infinity : d;
    }
    const scaled = maxDiff / Math.max(maxRef, 1e-30);
    if (scaled > worstScaled || worstOutput === '') {
      worstScaled = scaled;
      worstOutput = name;
    }
    if (badCount > 0) {
      mismatches.push({
        output: name,
        detail: `${badCount}/${r.length} values off (first [${bad}]: got ${g[bad]} want ${r[bad]}); max |diff| ${maxDiff.toExponential(2)}, max |ref| ${maxRef.toExponential(2)}, tolerance atol ${tol.atol} rtol ${tol.rtol}`,
      });
    }
  }
  for (const name of Object.keys(got.outputs))
    if (!(name in ref.outputs)) mismatches.push({ output: name, detail: 'unexpected output' });
  return { worstScaled, worstOutput, mismatches };
}

// ---------------------------------------------------------------------------------------------------------------
// Running a case with a tensor-leak check

export interface Measured extends CaseResult {
  /** Tensors alive after the run minus before (0 when the case cleaned up). */
  readonly leakedTensors: number;
  readonly ms: number;
}

export async function runMeasured(c: ConformanceCase, seed = SEED): Promise<Measured> {
  c.prepare?.();
  const before = tf.memory().numTensors;
  const t0 = performance.now();
  const res = await c.run(seed);
  const ms = performance.now() - t0;
  return { ...res, ms, leakedTensors: tf.memory().numTensors - before };
}

// ---------------------------------------------------------------------------------------------------------------
// Random data (plain JS from a seeded Rng: the same numbers on every backend)

export function normalArray(rng: Rng, n: number, std = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u1 = Math.max(rng.next(), 1e-12);
    const u2 = rng.next();
    const r = Math.sqrt(-2 * Math.log(u1)) * std;
    out[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

export function intArray(rng: Rng, n: number, max: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.int(max);
  return out;
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Adds N(0, std) noise (from `rng`, in parameter order) to every parameter, so LayerNorm gains are not all 1. */
export function perturb(store: ParamStore, rng: Rng, std: number): void {
  for (const [, v] of store.entries()) {
    tf.tidy(() => v.assign(tf.add(v, tf.tensor(normalArray(rng, v.size, std), v.shape))));
  }
}

async function readAll(
  prefix: string,
  named: [string, tf.Tensor][],
  into: Record<string, Float32Array>,
): Promise<void> {
  for (const [name, t] of named) into[`${prefix}${name}`] = Float32Array.from(await t.data());
}

// ---------------------------------------------------------------------------------------------------------------
// Case builders

export type InputSpec =
  | { readonly name: string; readonly shape: readonly number[]; readonly dtype: 'float32'; readonly std?: number }
  | { readonly name: string; readonly shape: readonly number[]; readonly dtype: 'int32'; readonly max: number };

export interface ParitySpec<P> {
  readonly name: string;
  readonly inputs: readonly InputSpec[];
  /** Creates the parameters through the store (a case may create none). */
  build(store: ParamStore): P;
  /** The computation under test; `inputs` in the order of the specs. Called inside the gradient tape. */
  forward(p: P, inputs: tf.Tensor[]): tf.Tensor;
  /** Noise added to every parameter after build (default 0.1). */
  readonly perturb?: number;
  readonly tolerance?: ConformanceCase['tolerance'];
  readonly skip?: ConformanceCase['skip'];
  readonly prepare?: ConformanceCase['prepare'];
}

export const DEFAULT_PARITY_TOLERANCE = {
  default: { atol: 1e-5, rtol: 1e-4 },
  'grad.': { atol: 1e-5, rtol: 1e-3 },
} as const;

/**
 * Forward and gradient parity of one function. Outputs: `forward` (y), `loss` (sum(y * R) for a fixed random R),
 * and `grad.<param>` / `grad.input.<name>` for every parameter and float input.
 */
export function parityCase<P>(spec: ParitySpec<P>): ConformanceCase {
  return {
    name: spec.name,
    skip: spec.skip,
    prepare: spec.prepare,
    tolerance: spec.tolerance ?? DEFAULT_PARITY_TOLERANCE,
    async run(seed) {
      const rng = new Rng(seed);
      const store = new ParamStore(new Rng(mixSeeds(seed, 1)));
      const p = spec.build(store);
      perturb(store, rng, spec.perturb ?? 0.1);
      const inputVars: [string, tf.Variable][] = [];
      const inputs: tf.Tensor[] = spec.inputs.map((s) => {
        if (s.dtype === 'int32') return tf.tensor(intArray(rng, size(s.shape), s.max), [...s.shape], 'int32');
        const init = tf.tensor(normalArray(rng, size(s.shape), s.std ?? 1), [...s.shape]);
        const v = tf.variable(init, true);
        init.dispose();
        inputVars.push([s.name, v]);
        return v;
      });
      const outputs: Record<string, Float32Array> = {};
      const y = tf.tidy(() => spec.forward(p, inputs));
      outputs.forward = Float32Array.from(await y.data());
      // The loss is sum(y * R) with a fixed random R, so every output element gets its own upstream gradient.
      const weights = tf.tensor(normalArray(new Rng(mixSeeds(seed, 2)), y.size), y.shape);
      y.dispose();
      const f = () => tf.sum(tf.mul(spec.forward(p, inputs), weights)) as tf.Scalar;
      const params: [string, tf.Variable][] = store.entries();
      const varList = [...params.map(([, v]) => v), ...inputVars.map(([, v]) => v)];
      const { value, grads } = tf.variableGrads(f, varList);
      outputs.loss = Float32Array.from(await value.data());
      const named: [string, tf.Tensor][] = [
        ...params.map(([n, v]) => [n, grads[v.name]!] as [string, tf.Tensor]),
        ...inputVars.map(([n, v]) => [`input.${n}`, grads[v.name]!] as [string, tf.Tensor]),
      ];
      for (const [n, g] of named) if (!g) throw new Error(`no gradient for ${n}`);
      await readAll('grad.', named, outputs);
      value.dispose();
      tf.dispose(Object.values(grads));
      weights.dispose();
      tf.dispose(inputs);
      store.dispose();
      return { outputs };
    },
  };
}

/** One training batch as plain arrays (row-major [B, T]). */
export interface BatchData {
  readonly B: number;
  readonly T: number;
  readonly inputs: Int32Array;
  readonly targets: Int32Array;
  readonly mask: Float32Array;
}

export interface TrainSpec {
  readonly name: string;
  /** A fresh model from a seed: anything that fulfils TrainableLM (the layer stack here, the ladder later). */
  model(seed: number): TrainableLM & { dispose?(): void };
  batch(rng: Rng, step: number): BatchData;
  readonly steps: number;
  /** Plain SGD: w -= lr * g. */
  readonly lr: number;
  readonly tolerance?: ConformanceCase['tolerance'];
  readonly skip?: ConformanceCase['skip'];
  readonly prepare?: ConformanceCase['prepare'];
  /** Compare the final parameters as well as the losses (default true). */
  readonly compareParams?: boolean;
}

export const DEFAULT_TRAIN_TOLERANCE = {
  default: { atol: 1e-4, rtol: 1e-3 },
  'loss.': { atol: 1e-5, rtol: 1e-4 },
} as const;

/**
 * A few plain-SGD steps. Outputs: `loss.<step>` and `param.<name>` after the last step. Timings: `msPerStep`
 * (median over the steps after the first, each ending with an awaited loss read) and `tokensPerSecond`. Also
 * checks that the tensor count stays flat from step to step.
 */
export function trainCase(spec: TrainSpec): ConformanceCase {
  return {
    name: spec.name,
    skip: spec.skip,
    prepare: spec.prepare,
    tolerance: spec.tolerance ?? DEFAULT_TRAIN_TOLERANCE,
    async run(seed) {
      const model = spec.model(seed);
      const params = model.params.entries();
      const varList = params.map(([, v]) => v);
      const outputs: Record<string, Float32Array> = {};
      const counts: number[] = [];
      const stepMs: number[] = [];
      let tokens = 0;
      for (let step = 0; step < spec.steps; step++) {
        const d = spec.batch(Rng.derive(seed, step, 3), step);
        tokens = d.B * d.T;
        const t0 = performance.now();
        const batch: TensorBatch = {
          inputs: tf.tensor2d(d.inputs, [d.B, d.T], 'int32'),
          targets: tf.tensor2d(d.targets, [d.B, d.T], 'int32'),
          mask: tf.tensor2d(d.mask, [d.B, d.T], 'float32'),
        };
        const { value, grads } = tf.variableGrads(() => model.loss(batch, mixSeeds(seed, step, 4)).loss, varList);
        tf.tidy(() => {
          for (const v of varList) v.assign(tf.sub(v, tf.mul(grads[v.name]!, spec.lr)));
        });
        const loss = (await value.data())[0]!;
        stepMs.push(performance.now() - t0);
        outputs[`loss.${step}`] = Float32Array.of(loss);
        value.dispose();
        tf.dispose(Object.values(grads));
        tf.dispose([batch.inputs, batch.targets, batch.mask]);
        counts.push(tf.memory().numTensors);
      }
      if (spec.compareParams ?? true) await readAll('param.', params, outputs);
      if (model.dispose) model.dispose();
      else model.params.dispose();
      const notes: string[] = [];
      if (counts.some((n) => n !== counts[0])) notes.push(`tensor count changed across steps: ${counts.join(', ')}`);
      const timed = (stepMs.length > 1 ? stepMs.slice(1) : stepMs).sort((a, b) => a - b);
      const msPerStep = timed[Math.floor((timed.length - 1) / 2)]!;
      const losses = Object.keys(outputs)
        .filter((k) => k.startsWith('loss.'))
        .map((k) => outputs[k]![0]!);
      const summary = `loss ${losses[0]!.toFixed(4)} -> ${losses[losses.length - 1]!.toFixed(4)} over ${spec.steps} steps`;
      return {
        outputs,
        notes,
        summary,
        timings: { msPerStep, firstStepMs: stepMs[0]!, tokensPerSecond: (1000 * tokens) / msPerStep },
      };
    },
  };
}
