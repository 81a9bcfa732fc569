import type { Command } from 'commander';
import { z } from 'zod';
import { BACKEND_CHOICES, ConfigError } from '@tarm/core';
import { configDefiner, resolveBackend } from '@tarm/core/internal';
import { CONTEXT_LENGTH, decodeAnswers, encode } from '@tarm/tasks';
import { loadRunModel, unfinishedNote } from '../run-model.js';

const GenerateFlags = z.strictObject({
  run: z.string().min(1),
  prompt: z.string().min(1),
  decode: z.enum(['greedy', 'sample']).default('greedy'),
  temperature: z.coerce.number().gt(0).default(1),
  seed: z.coerce.number().int().min(0).default(1337),
  maxTokens: z.coerce.number().int().min(1).optional(),
  backend: z.enum(BACKEND_CHOICES).default('auto'),
});

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description("decode the answer a trained run gives to a prompt, e.g. --prompt '0317|'")
    .requiredOption('--run <dir>', 'run folder written by tarm train')
    .requiredOption('--prompt <text>', 'the prompt, e.g. 0317| or 123+456=')
    .option('--decode <how>', 'greedy | sample', 'greedy')
    .option('--temperature <T>', 'sampling temperature', '1')
    .option('--seed <n>', 'sampling seed', '1337')
    .option('--max-tokens <n>', 'stop after this many tokens (default: until newline or the context is full)')
    .option(
      '--backend <name>',
      `${BACKEND_CHOICES.join(' | ')} (auto: node when @tensorflow/tfjs-node loads, else wasm)`,
      'auto',
    )
    .action(async (raw: Record<string, unknown>) => {
      const f = configDefiner(GenerateFlags)(raw as never);
      try {
        encode(f.prompt);
      } catch {
        throw new ConfigError('prompt', 'digits and the characters | + = only', f.prompt);
      }
      const room = CONTEXT_LENGTH - f.prompt.length; // positions left for the answer
      if (room < 1)
        throw new ConfigError(
          'prompt',
          `at most ${CONTEXT_LENGTH - 1} characters (the context is ${CONTEXT_LENGTH} positions)`,
          `${f.prompt.length} characters`,
        );
      if (f.maxTokens !== undefined && f.maxTokens > room)
        throw new ConfigError(
          'maxTokens',
          `at most ${room} for this prompt (the context is ${CONTEXT_LENGTH} positions)`,
          f.maxTokens,
        );
      await resolveBackend(f.backend);
      const { model, config, step } = await loadRunModel(f.run);
      const note = unfinishedNote(f.run, config, step);
      if (note) console.error(note);
      const max = f.maxTokens ?? room;
      const [answer] = await decodeAnswers(model, [f.prompt], max, {
        strategy: f.decode,
        temperature: f.temperature,
        seed: f.seed,
      });
      console.log(answer);
      model.dispose();
    });
}
