import { z } from 'zod';
import { configDefiner } from '@tarm/core';
import { RUNG_NAMES } from './rungs.js';

/**
 * Model configuration. Defaults are the paper's (C = 384, 6 heads, budget 24 block passes, dropout 0.1).
 * `defineModelConfig` validates, rejects unknown keys and freezes; the result is JSON and is saved with every run.
 */
export const ModelConfigSchema = z
  .strictObject({
    model: z.enum(RUNG_NAMES).default('dense'),
    /** Characters in the vocabulary (the paper's tasks use 14). */
    vocabSize: z.int().min(2).default(14),
    /** Learned absolute positions (the paper: 180, enough for addition at L = 50). */
    contextLength: z.int().min(1).default(180),
    /** C, the residual width. */
    dModel: z.int().min(1).default(384),
    nHeads: z.int().min(1).default(6),
    /** Compute budget B in block passes (applications of f per forward pass, at most). */
    budget: z.int().min(1).default(24),
    dropout: z.number().min(0).max(0.99).default(0.1),
    /** H, outer cycles per step for the nested rungs; overrides the budget solver (with `inner`). */
    outer: z.int().min(1).optional(),
    /** L, latent (z) updates per cycle for the nested rungs; overrides the budget solver (with `outer`). */
    inner: z.int().min(1).optional(),
    /** ACT ponder-cost weight (the paper's runs: 0). */
    ponderWeight: z.number().min(0).default(0),
    /** ACT halting threshold (Graves): a position halts once its cumulative halting probability exceeds it. */
    actThreshold: z.number().gt(0).max(1).default(1 - 1e-6),
    /** ar-trm: probability, in training, of forcing a random minimum number of steps (TRM's exploration). */
    haltExploration: z.number().min(0).max(1).default(0.25),
  })
  .refine((c) => c.dModel % c.nHeads === 0, { path: ['nHeads'], message: 'a divisor of dModel' })
  .refine((c) => (c.outer === undefined) === (c.inner === undefined), { path: ['outer'], message: 'outer and inner given together' });

export type ModelConfigInput = z.input<typeof ModelConfigSchema>;
export type ModelConfig = Readonly<z.output<typeof ModelConfigSchema>>;

export const defineModelConfig = configDefiner(ModelConfigSchema);
