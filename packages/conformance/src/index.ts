export * from './harness.js';
export { CASES } from './cases/index.js';
export {
  LAYER_CASES,
  TINY_STACK,
  layerStack,
  shiftBatch,
  maskedCrossEntropy,
  type StackConfig,
} from './cases/layers.js';
export { LADDER_CASES } from './cases/ladder.js';
export { OPTIMIZER_CASES } from './cases/optimizer.js';
