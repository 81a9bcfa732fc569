/**
 * @tarm/recursion: the seven-rung model ladder from dense Transformer to Autoregressive TRM as one model with
 * structural switches (`createModel`, `defineModelConfig`, `RUNGS`, `SWITCH_VALUES`), the budget solver and the
 * compute accounting (parameters, FLOPs, training memory). What the other tarm packages share besides (the zod
 * schema of the switches, the masked loss) is in `@tarm/recursion/internal` (not part of the public API).
 */
export {
  RUNGS,
  RUNG_NAMES,
  PAPER_RUNGS,
  SWITCH_VALUES,
  type Rung,
  type RungName,
  type RungSwitches,
  type Stream,
  type HaltingKind,
  type Readout,
} from './rungs.js';
export { defineModelConfig, MODEL_SETTINGS, type ModelConfig, type ModelConfigInput } from './config.js';
export { solveBudget, type Schedule } from './budget.js';
export {
  analyticParamCount,
  flopsPerToken,
  ladderTable,
  trainingMemory,
  fitMicroBatch,
  type LadderRow,
  type TrainingMemory,
} from './accounting.js';
export { createModel } from './model.js';
export type { LadderModel, ModelParams, ForwardOptions, ForwardResult, PassInfo, Carry } from './types.js';
