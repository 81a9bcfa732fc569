import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { useBackend } from '@tarm/core';
import { configDefiner } from '@tarm/core/internal';
import { writeFileAtomic } from '@tarm/core/node/internal';
import { defineModelConfig, solveBudget } from '@tarm/recursion';
import { exportRunWeights } from '@tarm/train/node';
import { UsageError } from '../errors.js';

const ExportFlags = z.strictObject({
  run: z.string().min(1),
  format: z.enum(['safetensors']).default('safetensors'),
  out: z.string().min(1),
  ema: z.boolean().default(false),
});

/** The resolved schedule, so a reader needs no budget solver of its own (tools/torch/load_tarm.py checks it). */
function describeSchedule(model: unknown): Record<string, string> {
  const s = solveBudget(defineModelConfig(model as never));
  return { 'tarm.schedule': JSON.stringify({ steps: s.steps, H: s.H, L: s.L, passesPerStep: s.passesPerStep }) };
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .description(
      "write a run's model weights (no optimizer state) with its model config for other tools, e.g. PyTorch (docs/interop.md)",
    )
    .requiredOption('--run <dir>', 'run folder written by tarm train')
    .option('--format <name>', 'safetensors', 'safetensors')
    .requiredOption('--out <file>', 'file to write, e.g. model.safetensors')
    .option('--ema', 'export the EMA of the weights (runs trained with --ema) instead of the trained weights')
    .action(async (raw: Record<string, unknown>) => {
      const f = configDefiner(ExportFlags)(raw as never);
      if (existsSync(f.out) && statSync(f.out).isDirectory())
        throw new UsageError(
          `invalid --out: ${f.out} is a folder; give a file name, e.g. ${join(f.out, 'model.safetensors')}`,
        );
      if (!existsSync(join(f.run, 'config.json')))
        throw new UsageError(
          `${f.run} is not a run folder (no config.json); pass --run with a folder written by tarm train`,
        );
      await useBackend('cpu'); // only decodes the checkpoint
      const { bytes, names, step, metadata } = await exportRunWeights(f.run, {
        weights: f.ema ? 'ema' : 'trained',
        describe: describeSchedule,
      });
      await writeFileAtomic(f.out, bytes);
      const model = (JSON.parse(metadata['tarm.model']!) as { model?: string }).model;
      console.log(
        `wrote ${f.out}: ${model} at step ${step}, ${f.ema ? 'EMA' : 'trained'} weights, ${names.length} tensors, ${bytes.length} bytes (${f.format})`,
      );
    });
}
