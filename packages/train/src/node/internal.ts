/**
 * @tarm/train/node/internal: the Node-only helpers the CLI and the tests share with @tarm/train/node (how two run
 * configs differ, reading metrics.jsonl, the TensorBoard file's name and scalars). Not part of the public API; may
 * change in any release.
 */
export { differences } from './run-config.js';
export { readJsonLines } from './jsonl.js';
export { lineScalars, EVENTS_FILE_MARK } from './tensorboard.js';
