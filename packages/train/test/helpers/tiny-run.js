// Plain JavaScript so the child-process fixture can import it under plain Node.
import * as tf from '@tensorflow/tfjs-core';
import { evaluationSet, getTask } from '@tarm/tasks';
import { encodeExamples, sequenceLength } from '@tarm/tasks/internal';
import { createTinyLM } from './tiny-model.js';

/**
 * A run configuration for the tiny model.
 * @param {Partial<import('../../src/node/index.js').TrainSettings>} [train]
 * @returns {import('../../src/node/index.js').RunConfig}
 */
export function tinyRunConfig(train = {}) {
  return {
    model: { kind: 'tiny', dModel: 16, nHeads: 2, dropout: 0.1 },
    train: {
      task: 'copy',
      length: 3,
      batchSize: 8,
      steps: 30,
      evalEvery: 10,
      checkpointEvery: 5,
      logEvery: 1,
      optimizer: { lr: 3e-3 },
      ...train,
    },
    seed: 1337,
    codeVersion: 'test',
  };
}

/** The model factory a caller would write: built from config.model and the run seed. */
export function createFromConfig(config) {
  return createTinyLM({ seed: config.seed, ...config.model });
}

/**
 * A deterministic stand-in for @tarm/eval: teacher-forced answer-character accuracy on the fixed evaluation set.
 * @returns {Promise<import('../../src/index.js').EvalRecord>}
 */
export async function tinyEvaluate(model, _step, taskName = 'copy', L = 3) {
  const task = getTask(taskName);
  const b = encodeExamples(evaluationSet(task, L, 20), sequenceLength(task, L));
  const acc = tf.tidy(() => {
    const ids = tf.tensor2d(b.inputs, [b.batchSize, b.seqLen], 'int32');
    const pred = tf.argMax(model.logits(ids), -1);
    const ok = tf.cast(tf.equal(pred, tf.tensor2d(b.targets, [b.batchSize, b.seqLen], 'int32')), 'float32');
    const mask = tf.tensor2d(b.mask, [b.batchSize, b.seqLen]);
    return tf.div(tf.sum(tf.mul(ok, mask)), tf.sum(mask));
  });
  const charAcc = (await acc.data())[0];
  acc.dispose();
  return {
    [String(L)]: {
      charAcc,
      exactMatch: 0,
      firstCharAcc: 0,
      lastCharAcc: 0,
      quartiles: [0, 0, 0, 0],
      n: b.batchSize,
      examples: [],
    },
  };
}
