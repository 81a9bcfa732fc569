import { ConfigError } from '@tarm/core';
import { RUNGS } from './rungs.js';
import type { ModelConfig } from './config.js';

/** How a rung spends its budget of block passes. */
export interface Schedule {
  /** Outer iterations: blocks (dense), applications (tied single-stream), or ACT / halting steps (dual, nested). */
  readonly steps: number;
  /** Cycles per step (nested rungs), else 1. */
  readonly H: number;
  /** Latent z updates per cycle (nested rungs), else 0 (dual-ut: 1 z update per step). */
  readonly L: number;
  /** Block passes per step. */
  readonly passesPerStep: number;
  /** Block passes per forward pass at most: steps x passesPerStep. */
  readonly blockPasses: number;
  /** Passes that carry gradient when every step runs (the rest are forward-only). */
  readonly gradPasses: number;
  /** Deep-supervision segments (a loss and an optimizer step after each); 1 = off. */
  readonly segments: number;
}

/** Nested (H, L) candidates, tried in order: start from H = 2, L = 2, then smaller H, then smaller L. */
const NESTED_FALLBACK: readonly [number, number][] = [
  [2, 2],
  [1, 2],
  [1, 1],
];

/**
 * The budget solver. dense / iterative / iterative-step / ut: N = B. dual-ut: B / 2 steps of two passes.
 * Nested rungs: steps x H x (L + 1) = B, from (H, L) = (2, 2), falling back as above; `outer`/`inner` override.
 */
export function solveBudget(
  config: Pick<ModelConfig, 'model' | 'budget' | 'outer' | 'inner'> & Partial<Pick<ModelConfig, 'deepSupervision' | 'gradCycles'>>,
): Schedule {
  const rung = RUNGS[config.model];
  const B = config.budget;
  if (!rung.dualStream) return { steps: B, H: 1, L: 0, passesPerStep: 1, blockPasses: B, gradPasses: B, segments: 1 };
  if (!rung.nested) {
    if (B % 2 !== 0) throw new ConfigError('budget', `an even number for ${config.model} (2 passes per step)`, B);
    return { steps: B / 2, H: 1, L: 1, passesPerStep: 2, blockPasses: B, gradPasses: B, segments: 1 };
  }
  const candidates: readonly [number, number][] = config.outer !== undefined && config.inner !== undefined ? [[config.outer, config.inner]] : NESTED_FALLBACK;
  for (const [H, L] of candidates) {
    const per = H * (L + 1);
    if (B % per === 0) {
      const steps = B / per;
      const ds = config.deepSupervision ?? 1;
      const segments = ds === 0 ? steps : ds;
      if (steps % segments !== 0) {
        throw new ConfigError('deepSupervision', `a divisor of the ${steps} steps the budget gives ${config.model} (or 0: one segment per step)`, ds);
      }
      // passes with gradient in a supervised step: its last cycle, or all H cycles with gradCycles 'all'
      const perGradStep = config.gradCycles === 'all' ? per : L + 1;
      // dual-nested-ut: every step's readout enters the ACT sum; binary halting: the terminal step of each segment
      const gradPasses = (rung.halting === 'binary' ? segments : steps) * perGradStep;
      return { steps, H, L, passesPerStep: per, blockPasses: B, gradPasses, segments };
    }
  }
  const allowed =
    config.outer !== undefined
      ? `a multiple of outer x (inner + 1) = ${config.outer * ((config.inner ?? 0) + 1)}`
      : 'a multiple of 6, 3 or 2 for the nested rungs';
  throw new ConfigError('budget', allowed, B);
}
