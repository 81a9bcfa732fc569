/**
 * @tarm/layers: the paper's GPT-2 style pre-LayerNorm block (attention + MLP), the token and position embeddings
 * and the readout (final LayerNorm + linear to logits), as parameters in a `ParamStore` and functions over them. The sub-layers they are
 * made of (linear, LayerNorm, GELU, attention, MLP, dropout) and the KV-cache slots are in `@tarm/layers/internal`
 * (not part of the public API).
 */
export { createBlock, block, type BlockParams } from './block.js';
export type { AttentionParams, KvSlot } from './attention.js';
export type { LinearParams } from './linear.js';
export type { LayerNormParams } from './norm.js';
export type { MlpParams } from './mlp.js';
export { createEmbedding, embed, type EmbeddingParams } from './embedding.js';
export { createHead, readout, type HeadParams } from './head.js';
export type { DropoutSource } from './types.js';
