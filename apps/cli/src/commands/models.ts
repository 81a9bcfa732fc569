import type { Command } from 'commander';
import { z } from 'zod';
import { configDefiner } from '@tarm/core/internal';
import { ladderTable, RUNG_NAMES } from '@tarm/recursion';
import { gib, human, table } from '@tarm/eval/internal';
import { renameFlags } from '../errors.js';

const ModelsFlags = z.strictObject({
  budget: z.coerce.number().int().min(1).default(24),
  dModel: z.coerce.number().int().min(1).default(384),
  nHeads: z.coerce.number().int().min(1).default(6),
  seqLen: z.coerce.number().int().min(1).default(32),
  batchSize: z.coerce.number().int().min(1).default(64),
  json: z.boolean().default(false),
});

export function registerModels(program: Command): void {
  program
    .command('models')
    .description(
      'print every model at one budget: block passes, parameters, schedule, FLOPs per token and training memory',
    )
    .option('--budget <B>', 'block passes per forward pass', '24')
    .option('--d-model <C>', 'residual width', '384')
    .option('--heads <n>', 'attention heads', '6')
    .option('--seq-len <T>', 'sequence length used for the attention FLOPs and the memory estimate', '32')
    .option('--batch <n>', 'batch rows for the training-memory estimate', '64')
    .option('--json', 'print a JSON array')
    .action((raw: Record<string, unknown>) => {
      const f = configDefiner(ModelsFlags)(renameFlags(raw) as never);
      const rows = ladderTable(
        { budget: f.budget, dModel: f.dModel, nHeads: f.nHeads },
        f.seqLen,
        RUNG_NAMES,
        f.batchSize,
      );
      if (f.json) {
        process.stdout.write(JSON.stringify(rows) + '\n');
        return;
      }
      console.log(
        table(
          [
            'model',
            'blockPasses',
            'params',
            'steps',
            'H',
            'L',
            'fwd FLOPs/token',
            'bwd FLOPs/token',
            `train memory (batch ${f.batchSize})`,
          ],
          rows.map((r) => [
            r.model,
            r.blockPasses,
            human(r.params),
            r.steps,
            r.H,
            r.L,
            human(r.fwdFlopsPerToken),
            human(r.bwdFlopsPerToken),
            gib(r.trainBytes),
          ]),
        ),
      );
    });
}
