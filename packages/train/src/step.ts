import * as tf from '@tensorflow/tfjs-core';
import type { SegmentInput, TensorBatch, TrainableLM } from '@tarm/core';
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
export async function trainStep(model: TrainableLM, optimizer: AdamW, batch: TensorBatch, seed: number): Promise<StepResult> {
  const segments = model.segments ?? 1;
  if (segments === 1) return segmentStep(model, optimizer, batch, seed);
  // Deep supervision: one loss and one optimizer step per segment, the state carried (detached) between them.
  // Reported: the mean loss and stats over segments, plus the last segment's loss (the final answer's).
  let carry: readonly tf.Tensor[] | undefined;
  let loss = 0;
  const stats: Record<string, number> = {};
  const reached = new Set<string>();
  try {
    for (let index = 0; index < segments; index++) {
      const r = await segmentStep(model, optimizer, batch, seed, { index, carry });
      tf.dispose(carry as tf.Tensor[] | undefined);
      carry = r.carry;
      loss += r.loss / segments;
      for (const [k, v] of Object.entries(r.stats)) stats[k] = (stats[k] ?? 0) + v / segments;
      stats.lastLoss = r.loss;
      for (const name of model.params.names()) if (!r.noGradient.includes(name)) reached.add(name);
    }
  } finally {
    tf.dispose(carry as tf.Tensor[] | undefined);
  }
  return { loss, stats, noGradient: model.params.names().filter((n) => !reached.has(n)) };
}

/** Gradients of one loss call and one AdamW update; returns the segment's carry (the caller disposes it). */
async function segmentStep(
  model: TrainableLM,
  optimizer: AdamW,
  batch: TensorBatch,
  seed: number,
  segment?: SegmentInput,
): Promise<StepResult & { carry?: readonly tf.Tensor[] }> {
  const entries = model.params.entries();
  const nameOf = new Map(entries.map(([name, v]) => [v.name, name]));
  let statTensors: Record<string, tf.Scalar> = {};
  let carry: readonly tf.Tensor[] | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const out = model.loss(batch, seed, segment);
    // variableGrads runs f inside a tidy that keeps only the returned loss: keep the stats explicitly
    // (the model keeps its carry itself).
    statTensors = out.stats ?? {};
    for (const t of Object.values(statTensors)) tf.keep(t);
    carry = out.carry;
    return out.loss;
  }, entries.map(([, v]) => v));
  const named: Record<string, tf.Tensor> = {};
  for (const [varName, g] of Object.entries(grads)) {
    const name = nameOf.get(varName);
    if (name !== undefined && g) named[name] = g;
  }
  try {
    optimizer.apply(named);
    const statNames = Object.keys(statTensors);
    const reads = await Promise.all([value.data(), ...statNames.map((k) => statTensors[k]!.data())]);
    const stats: Record<string, number> = {};
    statNames.forEach((k, i) => (stats[k] = reads[i + 1]![0]!));
    return { loss: reads[0]![0]!, stats, noGradient: entries.filter(([name]) => !(name in named)).map(([name]) => name), carry };
  } finally {
    value.dispose();
    for (const g of Object.values(grads)) g?.dispose();
    for (const t of Object.values(statTensors)) t.dispose();
  }
}
