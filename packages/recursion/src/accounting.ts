import { blockParamCount } from '@tarm/layers';
import { defineModelConfig, type ModelConfig, type ModelConfigInput } from './config.js';
import { PAPER_RUNGS, RUNGS, type RungName } from './rungs.js';
import { solveBudget } from './budget.js';

/**
 * Analytic parameter count (docs/compute.md):
 *   V C + P C                      token + position embeddings
 * + n_blocks (12 C^2 + 10 C)       n_blocks = N (dense) or 1 (tied)
 * + 2 C + C V                      final LayerNorm + readout (no bias)
 * + S C                            step embeddings, S = steps (rungs with step embeddings)
 * + (C + 1)                        ACT halting unit (ut, dual-ut, dual-nested-ut) or binary head (ar-trm)
 * + 2 C                            learned y0, z0 (two-stream rungs)
 */
export function analyticParamCount(input: ModelConfigInput | ModelConfig): number {
  const c = defineModelConfig(input);
  const rung = RUNGS[c.model];
  const s = solveBudget(c);
  const C = c.dModel;
  const V = c.vocabSize;
  let n = V * C + c.contextLength * C;
  n += (rung.tied ? 1 : s.steps) * blockParamCount(C);
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
export function flopsPerToken(input: ModelConfigInput | ModelConfig, seqLen: number): { forward: number; backward: number } {
  const c = defineModelConfig(input);
  const s = solveBudget(c);
  const C = c.dModel;
  const perPass = 24 * C * C + 4 * seqLen * C;
  const head = 2 * C * c.vocabSize * s.segments; // one readout per deep-supervision segment
  return { forward: s.blockPasses * perPass + head, backward: 2 * (s.gradPasses * perPass + head) };
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
}

export function ladderTable(base: Omit<ModelConfigInput, 'model'>, seqLen: number, models: readonly RungName[] = PAPER_RUNGS): LadderRow[] {
  return models.map((model) => {
    const cfg = defineModelConfig({ ...base, model });
    const s = solveBudget(cfg);
    const f = flopsPerToken(cfg, seqLen);
    return {
      model,
      blockPasses: s.blockPasses,
      params: analyticParamCount(cfg),
      steps: s.steps,
      H: s.H,
      L: s.L,
      fwdFlopsPerToken: f.forward,
      bwdFlopsPerToken: f.backward,
    };
  });
}
