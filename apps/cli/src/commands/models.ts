import type { Command } from 'commander';
import { z } from 'zod';
import { configDefiner, pickSettings, setting, settingsShape } from '@tarm/core/internal';
import { ladderTable, MODEL_SETTINGS, RUNG_NAMES } from '@tarm/recursion';
import { TRAIN_SETTINGS } from '@tarm/train';
import { gib, human, table } from '@tarm/eval/internal';
import { addSettingFlags, readFlags, typedFlags } from '../flags.js';

/** The settings `tarm models` takes, from the tables that declare them, and its own sequence length. */
const MODELS_FLAGS = {
  ...pickSettings(MODEL_SETTINGS, ['budget', 'dModel', 'nHeads']),
  seqLen: setting({
    schema: z.int().min(1).default(32),
    doc: 'sequence length used for the attention FLOPs and the memory estimate',
    arg: 'T',
  }),
  ...pickSettings(TRAIN_SETTINGS, ['batchSize']),
};
const ModelsFlags = z.strictObject({ ...settingsShape(MODELS_FLAGS), json: z.boolean().default(false) });

export function registerModels(program: Command): void {
  const command = program
    .command('models')
    .description(
      'print every model at one budget: block passes, parameters, schedule, FLOPs per token and training memory',
    );
  addSettingFlags(command, MODELS_FLAGS)
    .option('--json', 'print a JSON array')
    .action((options: Record<string, unknown>, cmd: Command) => {
      const f = configDefiner(ModelsFlags)(
        readFlags(typedFlags(cmd, options, MODELS_FLAGS).raw, MODELS_FLAGS) as never,
      );
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
