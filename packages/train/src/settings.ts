import { z } from 'zod';
import { setting, settingDefaults } from '@tarm/core/internal';
import { TASK_NAMES } from '@tarm/tasks';
import { ADAMW_DEFAULTS } from './adamw-config.js';

const MICRO_BATCH = 'auto, or an integer from 1 to batchSize';

/**
 * A run's training settings, each declared once (schema, default, meaning; @tarm/core `Setting`): `tarm train`'s
 * flags and the study file's keys are made from this table. Defaults are the paper's (paper.md, "Training and
 * evaluation"): L = 10, 5,000 steps of batch 64, AdamW (lr 3e-4, weight decay 0.01: ADAMW_DEFAULTS), an evaluation
 * every 250 steps, seed 1337.
 */
export const TRAIN_SETTINGS = {
  task: setting({
    schema: z.enum(TASK_NAMES as [string, ...string[]]).default('addition'),
    doc: 'the task',
    arg: 'name',
  }),
  length: setting({ schema: z.int().min(1).default(10), doc: 'training problem length (L)', arg: 'L' }),
  steps: setting({ schema: z.int().min(1).default(5000), doc: 'optimizer steps', arg: 'n' }),
  batchSize: setting({ schema: z.int().min(1).default(64), doc: 'batch size', arg: 'n', alias: 'batch' }),
  lr: setting({ schema: z.number().gt(0).default(ADAMW_DEFAULTS.lr), doc: 'AdamW learning rate', arg: 'x' }),
  weightDecay: setting({
    schema: z.number().min(0).default(ADAMW_DEFAULTS.weightDecay),
    doc: 'AdamW decoupled weight decay',
    arg: 'x',
  }),
  evalEvery: setting({ schema: z.int().min(1).default(250), doc: 'evaluate every K steps (and at the end)', arg: 'K' }),
  seed: setting({ schema: z.int().min(0).default(1337), doc: 'run seed (weights, data, dropout, sampling)', arg: 'n' }),
  microBatch: setting({
    schema: z
      .union([z.literal('auto'), z.int()], { error: MICRO_BATCH })
      .refine((v) => v === 'auto' || v >= 1, MICRO_BATCH)
      .default('auto'),
    doc: "rows per forward/backward pass (gradient accumulation); auto: the whole batch unless the backend's memory limit needs pieces",
    arg: 'n|auto',
  }),
  ema: setting({
    schema: z.number().min(0).lt(1).optional(),
    doc: "evaluate with an EMA of the weights (0: off; unset: the rung's, trm-faithful 0.999)",
    arg: 'decay',
  }),
} as const;

/** The paper's training: every default of {@link TRAIN_SETTINGS}. */
export const TRAIN_DEFAULTS = settingDefaults(TRAIN_SETTINGS);
