/**
 * @tarm/core: the backend adapter contract and loader (`useBackend`), what a backend can do (`backendCapabilities`),
 * the seeded RNG, the parameter store, checkpoints and safetensors, the errors tarm throws, and the model contract
 * (`CausalLM`, `TrainableLM`) the other packages build on. Node-only file helpers live in `@tarm/core/node`;
 * helpers the tarm packages share with each other are in `@tarm/core/internal` (not part of the public API).
 */
export { TarmError, ConfigError, CheckpointError, BackendError } from './errors.js';
export { Rng, mixSeeds, type RngState } from './rng.js';
export {
  useBackend,
  backendCapabilities,
  DEFAULT_CAPABILITIES,
  selectTfBackend,
  BACKEND_NAMES,
  BACKEND_CHOICES,
  type BackendChoice,
  type BackendAdapter,
  type BackendCapabilities,
  type BackendName,
  type BackendOptions,
} from './backend.js';
export { ParamStore } from './params.js';
export { FUSED_KERNELS, hasKernel } from './kernels.js';
export { encodeCheckpoint, decodeCheckpoint, checkCheckpointJson, type CheckpointJson } from './checkpoint.js';
export { encodeSafetensors, decodeSafetensors, type SafetensorsTensor } from './safetensors.js';
export type { CausalLM, DecodingSession, TrainableLM, TensorBatch, StepStats, SegmentInput } from './lm.js';
