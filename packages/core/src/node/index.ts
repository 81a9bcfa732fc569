/**
 * @tarm/core/node: the Node-only half of @tarm/core: the CPU a run is on, and checkpoints on disk. Atomic file
 * helpers the tarm packages share are in `@tarm/core/node/internal` (not part of the public API).
 */
export { describeCpu } from './host.js';
export { saveCheckpoint, loadCheckpoint } from './fs.js';
