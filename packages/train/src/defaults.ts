import { deepFreeze } from '@tarm/core/internal';
import { ADAMW_DEFAULTS } from './adamw-config.js';

/**
 * The paper's training (paper.md, "Training and evaluation"): L = 10, 5,000 steps of batch 64, AdamW (lr 3e-4,
 * weight decay 0.01: ADAMW_DEFAULTS), an evaluation every 250 steps, seed 1337.
 */
export const TRAIN_DEFAULTS = deepFreeze({
  length: 10,
  steps: 5000,
  batchSize: 64,
  lr: ADAMW_DEFAULTS.lr,
  weightDecay: ADAMW_DEFAULTS.weightDecay,
  evalEvery: 250,
  seed: 1337,
});
