export { TarmError, ConfigError, CheckpointError, BackendError } from './errors.js';
export { Rng, mixSeeds, type RngState } from './rng.js';
export { configDefiner, deepFreeze } from './config.js';
export {
  useBackend,
  backendCapabilities,
  DEFAULT_CAPABILITIES,
  selectTfBackend,
  registerGradients,
  BACKEND_NAMES,
  BACKEND_CHOICES,
  resolveBackend,
  type BackendChoice,
  type ResolvedBackend,
  BACKEND_PACKAGES,
  DEFAULT_BACKEND,
  type BackendAdapter,
  type BackendCapabilities,
  type BackendName,
  type BackendOptions,
} from './backend.js';
export { ParamStore } from './params.js';
export { FUSED_KERNELS, hasKernel } from './kernels.js';
export { encodeCheckpoint, decodeCheckpoint, checkCheckpointJson, fnv1a, type CheckpointJson } from './checkpoint.js';
export { encodeSafetensors, decodeSafetensors, type SafetensorsTensor } from './safetensors.js';
export type { CausalLM, DecodingSession, TrainableLM, TensorBatch, StepStats, SegmentInput } from './lm.js';
