export { VOCAB, VOCAB_SIZE, NEWLINE, NEWLINE_ID, CONTEXT_LENGTH, encode, decode } from './vocab.js';
export { randomDigits, type Task, type Example } from './task.js';
export { copy, reverse, addition, addDigitStrings } from './definitions.js';
export { TASKS, TASK_NAMES, getTask } from './registry.js';
export { chanceAccuracy } from './chance.js';
export { encodeExamples, sequenceLength, trainingBatch, evaluationSet, SEED_PURPOSE, type Batch } from './batch.js';
export {
  decodeAnswers,
  checkDecodeOptions,
  DECODE_STRATEGIES,
  PAPER_DECODE,
  type DecodeOptions,
  type DecodeStrategy,
} from './decoders.js';
