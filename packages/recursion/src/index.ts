export { RUNGS, RUNG_NAMES, type Rung, type RungName } from './rungs.js';
export { ModelConfigSchema, defineModelConfig, type ModelConfig, type ModelConfigInput } from './config.js';
export { solveBudget, type Schedule } from './budget.js';
export { analyticParamCount, flopsPerToken, ladderTable, type LadderRow } from './accounting.js';
export { createModel, type LadderModel, type ModelParams } from './model.js';
export { forward, type ForwardOptions, type ForwardResult, type PassInfo } from './forward.js';
export { maskedCrossEntropy } from './loss.js';
export { offTape, detach } from './tape.js';
export { ActAccumulator } from './act.js';
