export {
  RUNGS,
  RUNG_NAMES,
  PAPER_RUNGS,
  SWITCH_VALUES,
  rungOf,
  rungConflict,
  switchesOf,
  type Rung,
  type RungName,
  type RungSwitches,
  type Stream,
  type HaltingKind,
  type Readout,
} from './rungs.js';
export {
  ModelConfigSchema,
  RungSwitchesSchema,
  defineModelConfig,
  type ModelConfig,
  type ModelConfigInput,
} from './config.js';
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
export { KvCache, createKvCache } from './kv-cache.js';
export { forward } from './forward.js';
export { maskedCrossEntropy, haltingLoss } from './loss.js';
export { offTape, detach } from './tape.js';
export { ActAccumulator } from './act.js';
