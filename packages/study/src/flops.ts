import type { ModelName, StudyConfig, TaskName } from './presets.js';

/** The model part of a study's configuration, in `@tarm/recursion`'s ModelConfig field names. */
export interface StudyModelConfig {
  readonly model: ModelName;
  readonly dModel: number;
  readonly nHeads: number;
  readonly budget: number;
  readonly dropout: number;
}

/**
 * Training FLOPs per token of a model at sequence length `seqLen`: `@tarm/recursion`'s `flopsPerToken` has
 * this signature, and the CLI passes it (this package does not depend on the model code).
 */
export type FlopsPerTokenFn = (model: StudyModelConfig, seqLen: number) => { forward: number; backward: number };

/**
 * Model sequence length T of a training example at length L (prompt + answer + end newline, minus the one
 * token inputs drop): copy and reverse `x|y\n` give 2L + 1, addition `a+b=c\n` with L + 1 answer digits gives
 * 3L + 3. Mirrors `@tarm/tasks`' sequenceLength for the paper's tasks.
 */
export function trainingSequenceLength(task: TaskName, L: number): number {
  return task === 'addition' ? 3 * L + 3 : 2 * L + 1;
}

export function studyModelConfig(model: ModelName, config: StudyConfig): StudyModelConfig {
  return { model, dModel: config.dModel, nHeads: config.nHeads, budget: config.budget, dropout: config.dropout };
}

/**
 * Training FLOPs per optimizer step: tokens per step (batch x T) x (forward + backward FLOPs per token).
 * For the halting rungs this counts every step of the budget (an upper bound: ACT may stop early).
 */
export function flopsPerStep(flops: FlopsPerTokenFn, model: ModelName, task: TaskName, config: StudyConfig): number {
  const T = trainingSequenceLength(task, config.length);
  const f = flops(studyModelConfig(model, config), T);
  return config.batch * T * (f.forward + f.backward);
}
