/**
 * @tarm/tasks/internal: what the CLI, the playground, @tarm/eval, @tarm/study, @tarm/train and the tests share
 * with this package besides its public API. Not part of the public API; may change in any release.
 */
export { copy, reverse, addition, addDigitStrings } from './definitions.js';
export { chanceAccuracy } from './chance.js';
export { encodeExamples, sequenceLength } from './batch.js';
export { checkDecodeOptions } from './decoders.js';
