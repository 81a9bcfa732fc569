import { z } from 'zod';
import { configDefiner } from '@tarm/core';
import { RUNG_NAMES, RUNGS } from './rungs.js';

/**
 * Model configuration. Defaults are the paper's (C = 384, 6 heads, budget 24 block passes, dropout 0.1).
 * `defineModelConfig` validates, rejects unknown keys and freezes; the result is JSON and is saved with every run.
 */
export const ModelConfigSchema = z
  .strictObject({
    model: z.enum(RUNG_NAMES).default('dense'),
    /** Characters in the vocabulary (the paper's tasks use 14). */
    vocabSize: z.int().min(2).default(14),
    /** Learned absolute positions (the paper: 180, enough for addition at length 50). */
    contextLength: z.int().min(1).default(180),
    /** C, the residual width. */
    dModel: z.int().min(1).default(384),
    nHeads: z.int().min(1).default(6),
    /** Compute budget (the paper's B) in block passes: applications of f per forward pass, at most. */
    budget: z.int().min(1).default(24),
    dropout: z.number().min(0).max(0.99).default(0.1),
    /** The nested rungs' H (Schedule.H): cycles per step; overrides the budget solver (with `inner`). */
    outer: z.int().min(1).optional(),
    /** The nested rungs' L (Schedule.L): latent (z) updates per cycle, not the problem length; overrides the budget
     *  solver (with `outer`). */
    inner: z.int().min(1).optional(),
    /** ACT ponder-cost weight (the paper's runs: 0). */
    ponderWeight: z.number().min(0).default(0),
    /** ACT halting threshold (Graves): a position halts once its cumulative halting probability exceeds it. */
    actThreshold: z.number().gt(0).max(1).default(1 - 1e-6),
    /** ar-trm: probability, in training, of forcing a random minimum number of steps (TRM's exploration). */
    haltExploration: z.number().min(0).max(1).default(0.25),
    /**
     * Nested rungs: TRM's deep supervision. The steps are split into this many supervised segments; after each
     * segment a loss and an optimizer step, with (y, z) carried detached into the next. 1 = off (the paper).
     * 0 = one segment per step (trm-faithful's default).
     */
    deepSupervision: z.int().min(0).optional(),
    /** Binary-halting rungs: train the halting head, read at every position, with BCE against "this position's
     *  prediction is correct" (weight haltLossWeight). Off in the paper: its head never learns. */
    haltLoss: z.boolean().optional(),
    haltLossWeight: z.number().min(0).default(0.5),
    /** Nested rungs: gradient through the last cycle of a supervised step only (the paper) or through all H. */
    gradCycles: z.enum(['last', 'all']).optional(),
  })
  .refine((c) => c.dModel % c.nHeads === 0, { path: ['nHeads'], message: 'a divisor of dModel' })
  .refine((c) => (c.outer === undefined) === (c.inner === undefined), { path: ['outer'], message: 'outer and inner given together' })
  .refine((c) => RUNGS[c.model].nested || (c.deepSupervision ?? 1) === 1, { path: ['deepSupervision'], message: '1 for rungs that are not nested (dual-nested-ut, ar-trm, trm-faithful)' })
  .refine((c) => RUNGS[c.model].nested || (c.gradCycles ?? 'last') === 'last', { path: ['gradCycles'], message: '"last" for rungs that are not nested' })
  .refine((c) => RUNGS[c.model].halting === 'binary' || !c.haltLoss, { path: ['haltLoss'], message: 'false for rungs without a binary halting head (ar-trm, trm-faithful)' })
  .transform((c) => {
    // fill the rung's defaults for switches the user left unset ('steps' is resolved by the budget solver)
    const d = RUNGS[c.model].defaults ?? {};
    return {
      ...c,
      deepSupervision: c.deepSupervision ?? (d.deepSupervision === 'steps' ? 0 : (d.deepSupervision ?? 1)),
      haltLoss: c.haltLoss ?? d.haltLoss ?? false,
      gradCycles: c.gradCycles ?? d.gradCycles ?? 'last',
    };
  });

export type ModelConfigInput = z.input<typeof ModelConfigSchema>;
/** deepSupervision 0 means "one segment per step" (resolved by solveBudget). */
export type ModelConfig = Readonly<z.output<typeof ModelConfigSchema>>;

const parseModelConfig = configDefiner(ModelConfigSchema);
/** Validates a model config (a resolved config passes through unchanged: defining is idempotent). */
export function defineModelConfig(input: ModelConfigInput | ModelConfig): ModelConfig {
  return parseModelConfig(input as ModelConfigInput);
}
