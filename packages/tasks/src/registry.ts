import { ConfigError } from '@tarm/core';
import type { Task } from './task.js';
import { addition, copy, reverse } from './definitions.js';

export const TASKS: Readonly<Record<string, Task>> = Object.freeze({ copy, reverse, addition });
export const TASK_NAMES = Object.freeze(Object.keys(TASKS));

/** Looks a task up by name; unknown names get a ConfigError listing the known ones. */
export function getTask(name: string): Task {
  const t = TASKS[name];
  if (!t) throw new ConfigError('task', TASK_NAMES.join(', '), name);
  return t;
}
