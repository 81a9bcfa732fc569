import * as tf from '@tensorflow/tfjs-core';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileInPath, UsageError } from './errors.js';
import { CheckpointError, TarmError } from '@tarm/core';
import { loadCheckpoint } from '@tarm/core/node';
import { readJsonIfExists } from '@tarm/core/node/internal';
import { createModel, defineModelConfig, type LadderModel } from '@tarm/recursion';

/** The JSON `tarm train` stores as config.json in a run folder. */
export interface CliRunConfig {
  readonly model: unknown;
  readonly train: { readonly task: string; readonly length: number };
  readonly seed: number;
  readonly eval?: {
    readonly lengths: number[];
    readonly n: number;
    readonly decode: string;
    readonly temperature: number;
  };
}

/** Loads the model of a run folder (config.json + checkpoint/) with its trained weights (the EMA when kept). */
export async function loadRunModel(
  runDir: string,
): Promise<{ model: LadderModel; config: CliRunConfig; step: number }> {
  const file = fileInPath(runDir);
  if (file !== undefined)
    throw new UsageError(
      `invalid --run: ${file} is a file, not a run folder; pass --run with a folder written by tarm train`,
    );
  if (!existsSync(runDir))
    throw new UsageError(`invalid --run: ${runDir} does not exist; pass --run with a folder written by tarm train`);
  const config = await readJsonIfExists<CliRunConfig>(join(runDir, 'config.json'));
  if (!config)
    throw new TarmError(
      `${runDir} is not a run folder (no config.json); pass --run with a folder written by tarm train`,
    );
  const model = createModel(defineModelConfig(config.model as never), config.seed);
  const { json, tensors } = await loadCheckpoint(join(runDir, 'checkpoint'));
  try {
    for (const [name, v] of model.params.entries()) {
      const t = tensors[`optimizer.ema.${name}`] ?? tensors[name]; // a run that kept an EMA is used with it
      if (!t) throw new CheckpointError(join(runDir, 'checkpoint'), `parameter ${name} is missing`);
      if (t.shape.join(',') !== v.shape.join(','))
        throw new CheckpointError(
          join(runDir, 'checkpoint'),
          `parameter ${name} has shape [${t.shape}], the model expects [${v.shape}]`,
        );
      v.assign(t);
    }
  } finally {
    tf.dispose(Object.values(tensors));
  }
  return { model, config, step: Number((json.meta as { step?: number }).step ?? 0) };
}

/** A line for stderr when the run's checkpoint is short of its steps (an interrupted run); undefined when finished. */
export function unfinishedNote(runDir: string, config: CliRunConfig, step: number): string | undefined {
  const steps = (config.train as { steps?: number }).steps;
  if (steps === undefined || step >= steps) return undefined;
  return `tarm: note: ${runDir} is at step ${step} of ${steps} (interrupted; continue it with: tarm train --out ${runDir} --resume)`;
}
