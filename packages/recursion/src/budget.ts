import { ConfigError } from '@tarm/core';
import { rungOf } from './rungs.js';
import type { ModelConfig } from './config.js';

/** How a rung spends its budget of block passes. */
export interface Schedule {
  /** Outer iterations: blocks (dense), applications (single stream), or ACT / halting steps (dual, nested). */
  readonly steps: number;
  /** H, cycles per step (nested stream; config `outer`), else 1. */
  readonly H: number;
  /** L, latent z updates per cycle (nested rungs; config `inner`), else 0 (dual-ut: 1 z update per step). Not the
   *  problem length, which the tasks also call L. */
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
 * The budget solver (the paper's "Budget solver (budget B)"; `budget` here, B being the batch in shapes).
 * Single stream (dense / iterative / iterative-step / ut): N = budget. Dual stream (dual-ut): budget / 2 steps of
 * two passes. Nested stream: steps x H x (L + 1) = budget, from (H, L) = (2, 2), falling back as above; config
 * `outer` = H and `inner` = L override.
 */
export function solveBudget(
  config: Pick<ModelConfig, 'model' | 'budget' | 'outer' | 'inner'> &
    Partial<Pick<ModelConfig, 'switches' | 'deepSupervision' | 'gradCycles'>>,
): Schedule {
  const rung = rungOf(config);
  const { budget } = config;
  const name = config.switches ? `${config.model} with stream "${rung.stream}"` : config.model;
  if (rung.stream === 'single')
    return { steps: budget, H: 1, L: 0, passesPerStep: 1, blockPasses: budget, gradPasses: budget, segments: 1 };
  if (rung.stream === 'dual') {
    if (budget % 2 !== 0) throw new ConfigError('budget', `an even number for ${name} (2 passes per step)`, budget);
    return { steps: budget / 2, H: 1, L: 1, passesPerStep: 2, blockPasses: budget, gradPasses: budget, segments: 1 };
  }
  const candidates: readonly [number, number][] =
    config.outer !== undefined && config.inner !== undefined ? [[config.outer, config.inner]] : NESTED_FALLBACK;
  for (const [H, L] of candidates) {
    const per = H * (L + 1);
    if (budget % per === 0) {
      const steps = budget / per;
      const ds = config.deepSupervision ?? 1;
      const segments = ds === 0 ? steps : ds;
      if (steps % segments !== 0) {
        throw new ConfigError(
          'deepSupervision',
          `a divisor of the ${steps} steps the budget gives ${name} (or 0: one segment per step)`,
          ds,
        );
      }
      // passes with gradient in a supervised step: its last cycle, or all H cycles with gradCycles 'all'
      const perGradStep = config.gradCycles === 'all' ? per : L + 1;
      // ACT (dual-nested-ut): every step's y is on the tape (its halting probability, its weight in the sum);
      // binary or no halting (ar-trm): only the terminal step of each segment, as every step starts from a detached (y, z)
      const gradPasses = (rung.halting === 'act' ? steps : segments) * perGradStep;
      return { steps, H, L, passesPerStep: per, blockPasses: budget, gradPasses, segments };
    }
  }
  const allowed =
    config.outer !== undefined
      ? `a multiple of outer x (inner + 1) = ${config.outer * ((config.inner ?? 0) + 1)}`
      : 'a multiple of 6, 3 or 2 for the nested stream';
  throw new ConfigError('budget', allowed, budget);
}
