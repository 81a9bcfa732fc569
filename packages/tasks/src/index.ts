/**
 * @tarm/tasks: the 14-symbol vocabulary, the character-level tasks (copy, reverse, addition; `getTask`), their
 * seeded training streams and fixed evaluation sets, and the batched greedy and sampling decoders. What the other
 * tarm packages share besides (the task objects, sequence lengths, raw example encoding) is in
 * `@tarm/tasks/internal` (not part of the public API).
 */
export { VOCAB, VOCAB_SIZE, NEWLINE, NEWLINE_ID, CONTEXT_LENGTH, encode, decode } from './vocab.js';
export type { Task, Example } from './task.js';
export { TASK_NAMES, getTask } from './registry.js';
export { trainingBatch, evaluationSet, SEED_PURPOSE, type Batch } from './batch.js';
export { decodeAnswers, DECODE_STRATEGIES, PAPER_DECODE, type DecodeOptions, type DecodeStrategy } from './decoders.js';
