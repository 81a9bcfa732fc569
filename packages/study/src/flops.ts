import { defineModelConfig, flopsPerToken } from '@tarm/recursion';
import { getTask } from '@tarm/tasks';
import { sequenceLength } from '@tarm/tasks/internal';
import { armModelConfig, type Arm, type StudyConfig } from './schema.js';

/**
 * Training FLOPs per optimizer step of an arm on a task at training length L: tokens per step (batch x T) x
 * (forward + backward FLOPs per token), T = the task's sequence length minus the one token inputs drop. For the
 * halting rungs this counts every step of the budget (an upper bound: ACT may stop early).
 */
export function flopsPerStep(arm: Arm, task: string, length: number, config: StudyConfig): number {
  const T = sequenceLength(getTask(task), length) - 1;
  const f = flopsPerToken(defineModelConfig(armModelConfig(arm, config)), T);
  return config.batchSize * T * (f.forward + f.backward);
}
