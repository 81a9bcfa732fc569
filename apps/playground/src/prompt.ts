/**
 * Prompt checks for the decode box. Pure string logic (no tfjs): the page validates as the user types and shows
 * the correct answer next to the model's.
 */
import { addDigitStrings } from '@tarm/tasks/internal';
import type { TaskName } from './protocol.js';

/** The paper's 14 characters (mirrors @tarm/tasks VOCAB; a test keeps the two in step). */
export const PROMPT_ALPHABET = '0123456789|+=';
/** Learned absolute positions of every model (mirrors @tarm/tasks CONTEXT_LENGTH). */
export const CONTEXT_LENGTH = 180;

const SHAPES: Record<TaskName, RegExp> = {
  copy: /^(\d+)\|$/,
  reverse: /^(\d+)\|$/,
  addition: /^(\d+)\+(\d+)=$/,
};

/** Example prompt of a task at length L, e.g. addition L 4: `1234+5678=`. */
export function examplePrompt(task: TaskName, L: number, digits = '1234567890'): string {
  const d = (offset: number) => Array.from({ length: L }, (_, i) => digits[(i + offset) % digits.length]).join('');
  return task === 'addition' ? `${d(0)}+${d(5)}=` : `${d(0)}|`;
}

/**
 * The task's answer to a well-formed prompt (the task's format: addition pads to max(len a, len b) + 1 digits),
 * or undefined when the prompt is not a problem of that task.
 */
export function expectedAnswer(task: TaskName, prompt: string): string | undefined {
  const m = SHAPES[task].exec(prompt);
  if (!m) return undefined;
  if (task === 'copy') return m[1];
  if (task === 'reverse') return [...m[1]!].reverse().join('');
  const [a, b] = [m[1]!, m[2]!];
  return addDigitStrings(a, b).padStart(Math.max(a.length, b.length) + 1, '0');
}

export interface PromptCheck {
  readonly ok: boolean;
  /** Why the prompt cannot be decoded (ok false), or a warning (ok true, e.g. not the task's format). */
  readonly message?: string;
  readonly expected?: string;
  /** New tokens to decode: the expected answer plus its newline, else what fits in the context (max 24). */
  readonly maxTokens: number;
}

export function checkPrompt(task: TaskName, prompt: string): PromptCheck {
  if (prompt.length === 0) return { ok: false, message: 'Type a prompt, e.g. 123+456=', maxTokens: 0 };
  const bad = [...prompt].find((c) => !PROMPT_ALPHABET.includes(c));
  if (bad !== undefined) {
    return { ok: false, message: `"${bad}" is not in the vocabulary: use digits and | + =`, maxTokens: 0 };
  }
  if (prompt.length >= CONTEXT_LENGTH)
    return {
      ok: false,
      message: `The prompt must be shorter than the context (${CONTEXT_LENGTH} characters)`,
      maxTokens: 0,
    };
  const room = CONTEXT_LENGTH - prompt.length;
  const expected = expectedAnswer(task, prompt);
  if (expected === undefined) {
    const shape = task === 'addition' ? 'a+b=' : 'digits|';
    return { ok: true, message: `Not a ${task} problem (${shape}): decoding anyway`, maxTokens: Math.min(room, 24) };
  }
  return { ok: true, expected, maxTokens: Math.min(room, expected.length + 1) };
}
