import type { Command } from 'commander';
import { BACKEND_NAMES } from '@tarm/core';
import { rm } from 'node:fs/promises';
import { resolveTrain } from '../options.js';
import { flagName } from '@tarm/core/internal';
import { trainCommand } from './train.js';

/**
 * The README's first command: a small dense Transformer learns `reverse` at L = 10 on the wasm backend in about
 * a minute on two cores, then prints its accuracy and a few decoded examples.
 */
export const DEMO_FLAGS = Object.freeze({
  model: 'dense',
  task: 'reverse',
  length: '10',
  evalLengths: '10',
  budget: '2',
  dModel: '64',
  nHeads: '4',
  steps: '400',
  batchSize: '64',
  lr: '1e-3',
  dropout: '0',
  decode: 'greedy',
  evalEvery: '100',
  evalN: '100',
  out: 'runs/demo',
});

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('train a small dense model on reverse (L = 10) on wasm and show its accuracy and answers')
    .option('--backend <name>', BACKEND_NAMES.join(' | '), 'wasm')
    .option('--steps <n>', 'optimizer steps (fewer: a quicker, less accurate demo)', DEMO_FLAGS.steps)
    .action(async (raw: { backend: string; steps: string }) => {
      const resolved = resolveTrain({ ...DEMO_FLAGS, backend: raw.backend, steps: raw.steps });
      await rm(resolved.out, { recursive: true, force: true }); // the demo always starts afresh in its own folder
      console.log(
        `tarm demo: tarm train ${Object.entries({ ...DEMO_FLAGS, steps: raw.steps })
          .map(([k, v]) => `${flagName(k)} ${v}`)
          .join(' ')}`,
      );
      await trainCommand(resolved);
    });
}
