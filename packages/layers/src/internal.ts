/**
 * @tarm/layers/internal: the sub-layers and helpers that @tarm/recursion, the conformance suite, the benchmarks
 * and the tests use. Not part of the public API; may change in any release.
 */
export { createLinear, linear, matMulExplicitT } from './linear.js';
export { createLayerNorm, layerNorm } from './norm.js';
export { dropout, dropoutKeepValues } from './dropout.js';
export { gelu } from './gelu.js';
export { createAttention, causalSelfAttention, causalMask, disposeKvSlot, kvLength } from './attention.js';
export { mlp } from './mlp.js';
export { blockParamCount } from './block.js';
