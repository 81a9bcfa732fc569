import { Command, CommanderError } from 'commander';
import { TarmError } from '@tarm/core';
import { registerModels } from './commands/models.js';
import { registerTrain } from './commands/train.js';
import { registerGenerate } from './commands/generate.js';
import { registerDemo } from './commands/demo.js';
import { registerStudy } from './commands/study.js';
import { registerEval } from './commands/eval.js';
import { registerExport } from './commands/export.js';
import { registerWorker } from './commands/worker.js';
import { fsErrorMessage, toUsageError, UsageError } from './errors.js';
import { CODE_VERSION } from './version.js';

export function buildProgram(): Command {
  const program = new Command('tarm')
    .description('Tiny Autoregressive Recursive Models: the ladder from a dense Transformer to the Autoregressive TRM')
    .version(CODE_VERSION.replace(/^tarm@/, ''), '-V, --version', 'print the version of tarm')
    .showHelpAfterError(false)
    .exitOverride();
  registerTrain(program);
  registerGenerate(program);
  registerModels(program);
  registerDemo(program);
  registerStudy(program);
  registerEval(program);
  registerExport(program);
  registerWorker(program);
  for (const c of program.commands) c.exitOverride();
  return program;
}

/** Runs the CLI; resolves to the exit code (2 for usage errors, 1 for other failures). */
export async function run(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (raw) {
    if (raw instanceof CommanderError) {
      if (raw.code === 'commander.helpDisplayed' || raw.code === 'commander.version' || raw.exitCode === 0) return 0;
      return 2; // commander already printed "error: unknown option ..." etc.
    }
    const e = toUsageError(raw);
    if (e instanceof UsageError) {
      console.error(`tarm: ${e.message}`);
      return 2;
    }
    if (e instanceof TarmError) {
      console.error(`tarm: ${e.message}`);
      return 1;
    }
    const fs = fsErrorMessage(e);
    if (fs !== undefined) {
      console.error(`tarm: ${fs}`);
      return 1;
    }
    throw e;
  }
}
