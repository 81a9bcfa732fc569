import { blockParamCount } from '@tarm/layers/internal';
import { defineModelConfig, type ModelConfig, type ModelConfigInput } from './config.js';
import { PAPER_RUNGS, rungOf, type RungName } from './rungs.js';
import { solveBudget } from './budget.js';

/**
 * Analytic parameter count (docs/compute.md):
 *   V C + P C                      token + position embeddings
 * + n_blocks (12 C^2 + 10 C)       n_blocks = 1 (tied), else one per block pass (dense: N)
 * + 2 C + C V                      final LayerNorm + readout (no bias)
 * + S C                            step embeddings, S = steps (rungs with step embeddings)
 * + (C + 1)                        ACT halting unit (ut, dual-ut, dual-nested-ut) or binary head (ar-trm)
 * + 2 C                            learned y0, z0 (dual and nested streams)
 */
export function analyticParamCount(input: ModelConfigInput | ModelConfig): number {
  const c = defineModelConfig(input);
  const rung = rungOf(c);
  const s = solveBudget(c);
  const C = c.dModel;
  const V = c.vocabSize;
  let n = V * C + c.contextLength * C;
  n += (rung.tied ? 1 : s.blockPasses) * blockParamCount(C);
  n += 2 * C + C * V;
  if (rung.stepEmbedding) n += s.steps * C;
  if (rung.halting !== 'none') n += C + 1;
  if (rung.dualStream) n += 2 * C;
  return n;
}

/**
 * Training FLOPs per token (multiply-adds count 2), nanoGPT's convention: a block pass costs 24 C^2 (the four
 * weight matmuls: qkv 3C^2, proj C^2, MLP 8C^2) + 4 T C (scores and weighted sum over T positions); the readout
 * 2 C V. Backward costs twice the forward of the passes that carry gradient; passes run off the tape (the
 * first H-1 cycles, non-terminal ar-trm steps) cost forward only. Embeddings and norms are ignored.
 */
export function flopsPerToken(
  input: ModelConfigInput | ModelConfig,
  seqLen: number,
): { forward: number; backward: number } {
  const c = defineModelConfig(input);
  const s = solveBudget(c);
  const C = c.dModel;
  const perPass = 24 * C * C + 4 * seqLen * C;
  const head = 2 * C * c.vocabSize * s.segments; // one readout per deep-supervision segment
  return { forward: s.blockPasses * perPass + head, backward: 2 * (s.gradPasses * perPass + head) };
}

/**
 * Floats one token keeps alive per block pass that carries gradient: the activations the tape saves plus the
 * transient ones of the backward pass, per channel (x C) and per attention score (x heads x T). Fitted to
 * tf.profile's peakBytes of a training step (cpu backend, C 32-64, 2-4 heads, T 18-33, every rung; within
 * ~10%): `node tools/bench/memory-fit.mjs`.
 */
const FLOATS_PER_CHANNEL = 135;
const FLOATS_PER_SCORE = 12;

/**
 * The estimated peak memory of one training step (float32), for sizing micro-batches. Measured / estimated is
 * 0.77-1.04 over every rung (tied single-stream rungs keep less than estimated): see the fit script above.
 */
export interface TrainingMemory {
  /** Weights, their gradients and AdamW's two moments: 16 bytes a parameter. */
  readonly residentBytes: number;
  /** Activations of one batch row of `seqLen` tokens over the passes that carry gradient. */
  readonly bytesPerRow: number;
  /** residentBytes + rows x bytesPerRow. */
  bytes(rows: number): number;
}

export function trainingMemory(input: ModelConfigInput | ModelConfig, seqLen: number): TrainingMemory {
  const c = defineModelConfig(input);
  const s = solveBudget(c);
  const perPass = FLOATS_PER_CHANNEL * c.dModel + FLOATS_PER_SCORE * c.nHeads * seqLen; // floats per token
  const head = 4 * c.vocabSize * s.segments; // logits, softmax and its gradient, per token
  const residentBytes = 16 * analyticParamCount(c);
  const passesAtOnce = Math.max(1, s.gradPasses / s.segments); // deep supervision: one segment's tape at a time
  const bytesPerRow = 4 * seqLen * (passesAtOnce * perPass + head);
  return { residentBytes, bytesPerRow, bytes: (rows) => residentBytes + rows * bytesPerRow };
}

/**
 * The micro-batch for a memory limit: the batch itself when its estimate fits in `fraction` of `limitBytes`,
 * else the largest divisor of the batch size that does (pieces of equal size), else undefined (not even one
 * row fits). The fraction leaves room for the allocator's fragmentation and the estimate's error.
 */
export function fitMicroBatch(
  memory: TrainingMemory,
  batchSize: number,
  limitBytes: number,
  fraction = 0.75,
): number | undefined {
  for (let rows = batchSize; rows >= 1; rows--) {
    if (batchSize % rows === 0 && memory.bytes(rows) <= fraction * limitBytes) return rows;
  }
  return undefined;
}

/** One row of `tarm models`: a rung's compute at a given budget and width. */
export interface LadderRow {
  readonly model: RungName;
  readonly blockPasses: number;
  readonly params: number;
  readonly steps: number;
  readonly H: number;
  readonly L: number;
  readonly fwdFlopsPerToken: number;
  readonly bwdFlopsPerToken: number;
  /** Estimated bytes of one training step at `batchSize` rows ({@link trainingMemory}). */
  readonly trainBytes: number;
}

export function ladderTable(
  base: Omit<ModelConfigInput, 'model'>,
  seqLen: number,
  models: readonly RungName[] = PAPER_RUNGS,
  batchSize = 64,
): LadderRow[] {
  return models.map((model) => {
    const cfg = defineModelConfig({ ...base, model });
    const s = solveBudget(cfg);
    const f = flopsPerToken(cfg, seqLen);
    const memory = trainingMemory(cfg, seqLen);
    return {
      model,
      blockPasses: s.blockPasses,
      params: analyticParamCount(cfg),
      steps: s.steps,
      H: s.H,
      L: s.L,
      fwdFlopsPerToken: f.forward,
      bwdFlopsPerToken: f.backward,
      trainBytes: memory.bytes(batchSize),
    };
  });
}
