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
export { ModelConfigSchema, defineModelConfig, type ModelConfig, type ModelConfigInput } from './config.js';
export { solveBudget, type Schedule } from './budget.js';
export { analyticParamCount, flopsPerToken, ladderTable, trainingMemory, fitMicroBatch, type LadderRow, type TrainingMemory } from './accounting.js';
export { createModel, type LadderModel, type ModelParams } from './model.js';
export { KvCache, createKvCache } from './kv-cache.js';
export { forward, type ForwardOptions, type ForwardResult, type PassInfo, type Carry } from './forward.js';
export { maskedCrossEntropy, haltingLoss } from './loss.js';
export { offTape, detach } from './tape.js';
export { ActAccumulator } from './act.js';
