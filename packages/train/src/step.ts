import * as tf from '@tensorflow/tfjs-core';
import { mixSeeds, type SegmentInput, type TensorBatch, type TrainableLM } from '@tarm/core';
import type { AdamW } from './adamw.js';

/** What one optimizer step reports. */
export interface StepResult {
  /** The loss of the batch before the update. */
  readonly loss: number;
  /** The model's extra scalars (ponder cost, mean passes, ...), read after the step. */
  readonly stats: Record<string, number>;
  /** Parameters that received no gradient this step (and so were not updated at all). */
  readonly noGradient: readonly string[];
}

export interface StepOptions {
  /**
   * Rows per forward/backward pass (gradient accumulation). The batch is cut into pieces of this many rows (the
   * last may be smaller); each piece's gradient is weighted by its share of the rows and the sum is applied in
   * one update. Every task has the same number of answer tokens in every row, so this is the gradient of the
   * whole batch to float rounding. Piece i draws its randomness (dropout, halting exploration) from
   * `mixSeeds(seed, i)`, so its masks are not the full batch's masks: a micro-batched run is deterministic but
   * not bit-identical to an unsplit one unless dropout and exploration are off. Default: the whole batch.
   */
  readonly microBatch?: number;
}

/** One piece of a batch and its weight in the batch's loss. */
interface Piece {
  readonly batch: TensorBatch;
  readonly weight: number;
  readonly seed: number;
}

/**
 * One training step: gradients of `model.loss(batch, seed).loss` with respect to every parameter of the model's
 * ParamStore, then one AdamW update (one per segment for models with deep supervision).
 *
 * Parameters the loss does not reach get no gradient from `tf.variableGrads`; as torch skips parameters whose
 * `.grad` is None, the optimizer leaves them completely untouched (no weight decay either) and they are listed in
 * `noGradient`.
 *
 * The loss and stats are read with one batch of async reads (`data()`), so the step works on backends that cannot
 * read synchronously (webgpu). Every tensor the step creates is disposed before it returns; the batch stays the
 * caller's.
 */
export async function trainStep(
  model: TrainableLM,
  optimizer: AdamW,
  batch: TensorBatch,
  seed: number,
  opts: StepOptions = {},
): Promise<StepResult> {
  const pieces = splitBatch(batch, seed, opts.microBatch);
  try {
    const segments = model.segments ?? 1;
    if (segments === 1) return await segmentStep(model, optimizer, pieces);
    // Deep supervision: one loss and one optimizer step per segment, the state carried (detached) between them.
    // Reported: the mean loss and stats over segments, plus the last segment's loss (the final answer's).
    let carries: (readonly tf.Tensor[] | undefined)[] = pieces.map(() => undefined);
    let loss = 0;
    const stats: Record<string, number> = {};
    const reached = new Set<string>();
    try {
      for (let index = 0; index < segments; index++) {
        const r = await segmentStep(model, optimizer, pieces, index, carries);
        disposeCarries(carries);
        carries = r.carries;
        loss += r.loss / segments;
        for (const [k, v] of Object.entries(r.stats)) stats[k] = (stats[k] ?? 0) + v / segments;
        stats.lastLoss = r.loss;
        for (const name of model.params.names()) if (!r.noGradient.includes(name)) reached.add(name);
      }
    } finally {
      disposeCarries(carries);
    }
    return { loss, stats, noGradient: model.params.names().filter((n) => !reached.has(n)) };
  } finally {
    if (pieces.length > 1) for (const p of pieces) for (const t of Object.values(p.batch)) t.dispose();
  }
}

/** The batch as one piece (the caller's tensors, the step seed) or as row slices of `microBatch` rows. */
function splitBatch(batch: TensorBatch, seed: number, microBatch?: number): Piece[] {
  const [B] = batch.inputs.shape;
  if (microBatch !== undefined && (!Number.isInteger(microBatch) || microBatch < 1))
    throw new RangeError(`microBatch must be an integer >= 1, got ${microBatch}`);
  if (microBatch === undefined || microBatch >= B) return [{ batch, weight: 1, seed }];
  const pieces: Piece[] = [];
  for (let i = 0, start = 0; start < B; i++, start += microBatch) {
    const rows = Math.min(microBatch, B - start);
    const cut = (t: tf.Tensor2D) => tf.slice(t, [start, 0], [rows, -1]); // [rows, T]
    pieces.push({
      batch: { inputs: cut(batch.inputs), targets: cut(batch.targets), mask: cut(batch.mask) },
      weight: rows / B,
      seed: mixSeeds(seed, i),
    });
  }
  return pieces;
}

function disposeCarries(carries: readonly (readonly tf.Tensor[] | undefined)[]): void {
  for (const c of carries) tf.dispose(c as tf.Tensor[] | undefined);
}

/**
 * The weighted sum of the pieces' gradients of one loss call, and one AdamW update. Returns each piece's carry
 * (the caller disposes them) and the weighted loss and stats.
 */
async function segmentStep(
  model: TrainableLM,
  optimizer: AdamW,
  pieces: readonly Piece[],
  index?: number,
  carries?: readonly (readonly tf.Tensor[] | undefined)[],
): Promise<StepResult & { carries: (readonly tf.Tensor[] | undefined)[] }> {
  const entries = model.params.entries();
  const nameOf = new Map(entries.map(([name, v]) => [v.name, name]));
  const summed: Record<string, tf.Tensor> = {};
  const losses: tf.Scalar[] = [];
  const statTensors: Record<string, tf.Scalar>[] = [];
  const nextCarries: (readonly tf.Tensor[] | undefined)[] = [];
  try {
    pieces.forEach((piece, i) => {
      const segment: SegmentInput | undefined = index === undefined ? undefined : { index, carry: carries?.[i] };
      let stats: Record<string, tf.Scalar> = {};
      const { value, grads } = tf.variableGrads(
        () => {
          const out = model.loss(piece.batch, piece.seed, segment);
          // variableGrads runs f inside a tidy that keeps only the returned loss: keep the stats explicitly
          // (the model keeps its carry itself).
          stats = out.stats ?? {};
          for (const t of Object.values(stats)) tf.keep(t);
          nextCarries.push(out.carry);
          return out.loss;
        },
        entries.map(([, v]) => v),
      );
      losses.push(value);
      statTensors.push(stats);
      for (const [varName, g] of Object.entries(grads)) {
        const name = nameOf.get(varName);
        if (name === undefined || !g) {
          g?.dispose();
          continue;
        }
        if (pieces.length === 1) {
          summed[name] = g; // the unsplit step applies the gradient as it is (bit-identical to no accumulation)
          continue;
        }
        const weighted = tf.mul(g, piece.weight);
        g.dispose();
        const prev = summed[name];
        summed[name] = prev ? tf.add(prev, weighted) : weighted;
        if (prev) {
          prev.dispose();
          weighted.dispose();
        }
      }
    });
    optimizer.apply(summed);
    const statNames = Object.keys(statTensors[0] ?? {});
    const reads = await Promise.all([
      ...losses.map((l) => l.data()),
      ...statTensors.flatMap((s) => statNames.map((k) => s[k]!.data())),
    ]);
    const at = (i: number) => reads[i]![0]!;
    const stats: Record<string, number> = {};
    let loss = 0;
    pieces.forEach((p, i) => {
      loss += p.weight * at(i);
      statNames.forEach(
        (k, j) => (stats[k] = (stats[k] ?? 0) + p.weight * at(pieces.length + i * statNames.length + j)),
      );
    });
    return {
      loss,
      stats,
      noGradient: entries.filter(([name]) => !(name in summed)).map(([name]) => name),
      carries: nextCarries,
    };
  } finally {
    tf.dispose(losses);
    tf.dispose(Object.values(summed));
    for (const s of statTensors) tf.dispose(Object.values(s));
  }
}
