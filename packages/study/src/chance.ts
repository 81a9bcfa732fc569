import { getTask, TASK_NAMES } from '@tarm/tasks';
import { chanceAccuracy } from '@tarm/tasks/internal';
import { PAPER_CHANCE } from './paper.js';
import type { TaskSettings } from './schema.js';

const chanceCache = new Map<string, number>();

/**
 * Chance level (percent) of a task at its training length: the character accuracy of the best prompt-blind
 * predictor (chanceAccuracy in @tarm/tasks): 10% on copy and reverse, 18% on addition at L = 4, where the padded
 * sum's leading digit is 0 or 1. Unknown tasks fall back to the paper's "about 10%".
 */
export function taskChance(t: Pick<TaskSettings, 'name' | 'length'>): number {
  const key = `${t.name} ${t.length}`;
  if (!chanceCache.has(key))
    chanceCache.set(
      key,
      TASK_NAMES.includes(t.name as never) ? 100 * chanceAccuracy(getTask(t.name), t.length) : PAPER_CHANCE,
    );
  return chanceCache.get(key)!;
}
