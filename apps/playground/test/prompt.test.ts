import { describe, expect, it } from 'vitest';
import { Rng } from '@tarm/core';
import { CONTEXT_LENGTH as TASKS_CONTEXT, getTask, VOCAB } from '@tarm/tasks';
import { checkPrompt, CONTEXT_LENGTH, examplePrompt, expectedAnswer, PROMPT_ALPHABET } from '../src/prompt.js';
import type { TaskName } from '../src/protocol.js';

describe('prompt helpers', () => {
  it('mirror the vocabulary and context of @tarm/tasks', () => {
    expect([...PROMPT_ALPHABET, '\n']).toEqual([...VOCAB]);
    expect(CONTEXT_LENGTH).toBe(TASKS_CONTEXT);
  });

  it('give the same answers as the tasks themselves', () => {
    const rng = new Rng(7);
    for (const name of ['copy', 'reverse', 'addition'] as TaskName[]) {
      for (const L of [1, 4, 10]) {
        for (let i = 0; i < 20; i++) {
          const ex = getTask(name).sample(rng, L);
          expect(expectedAnswer(name, ex.prompt)).toBe(ex.answer);
        }
      }
    }
    expect(expectedAnswer('addition', '123+456=')).toBe('0579');
    expect(expectedAnswer('addition', '123+45=')).toBe('0168');
    expect(expectedAnswer('addition', '123|')).toBeUndefined();
  });

  it('check prompts: vocabulary, context, task shape, tokens to decode', () => {
    expect(checkPrompt('addition', '12+34=')).toEqual({ ok: true, expected: '046', maxTokens: 4 });
    expect(checkPrompt('addition', '12a')).toMatchObject({ ok: false });
    expect(checkPrompt('copy', '')).toMatchObject({ ok: false });
    expect(checkPrompt('copy', '1'.repeat(180))).toMatchObject({ ok: false });
    expect(checkPrompt('copy', '12+3=')).toMatchObject({ ok: true, maxTokens: 24 });
    expect(examplePrompt('addition', 4)).toBe('1234+6789=');
    expect(examplePrompt('reverse', 3)).toBe('123|');
  });
});
