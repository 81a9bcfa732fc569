/**
 * @tarm/recursion/internal: what the CLI, @tarm/study and the benchmarks share with this package besides its
 * public API. Not part of the public API; may change in any release.
 */
export { RungSwitchesSchema } from './config.js';
export { maskedCrossEntropy } from './loss.js';
