export { createLinear, linear, matMulExplicitT, sumRows, type LinearParams } from './linear.js';
export { createLayerNorm, layerNorm, LAYER_NORM_EPS, type LayerNormParams } from './norm.js';
export { dropout, dropoutKeep, dropoutKeepValues } from './dropout.js';
export { gelu } from './gelu.js';
export {
  createAttention,
  causalSelfAttention,
  causalMask,
  causalMaskAt,
  disposeKvSlot,
  kvLength,
  type AttentionParams,
  type KvSlot,
} from './attention.js';
export { createMlp, mlp, type MlpParams } from './mlp.js';
export { createBlock, block, blockParamCount, type BlockParams } from './block.js';
export { createEmbedding, embed, type EmbeddingParams } from './embedding.js';
export { createHead, readout, type HeadParams } from './head.js';
export type { DropoutSource } from './types.js';
