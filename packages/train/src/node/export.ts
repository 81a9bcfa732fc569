import { join } from 'node:path';
import { CheckpointError, ConfigError, encodeSafetensors, type SafetensorsTensor } from '@tarm/core';
import { loadCheckpoint } from '@tarm/core/node';
import { readJsonIfExists } from '@tarm/core/node/internal';
import { OPTIMIZER_PREFIX } from '../adamw.js';
import type { RunConfig } from './run-config.js';
import { RUN_FILES, type CheckpointMeta } from './run.js';

const EMA_PREFIX = `${OPTIMIZER_PREFIX}ema.`;

/** Which weights to export: the trained ones, or the optimizer's EMA of them (runs trained with an EMA). */
export type ExportWeights = 'trained' | 'ema';

/** Metadata keys every export carries (safetensors metadata is string -> string; JSON values are strings). */
export const EXPORT_METADATA = Object.freeze({
  /** The run's `config.model` as JSON: everything needed to rebuild the model. */
  model: 'tarm.model',
  weights: 'tarm.weights',
  step: 'tarm.step',
  /** The run's `config.train` as JSON (task, length, steps, optimizer). */
  train: 'tarm.train',
  seed: 'tarm.seed',
  codeVersion: 'tarm.codeVersion',
  layout: 'tarm.layout',
});

export const WEIGHT_LAYOUT =
  'float32; linear weights are [in, out] (y = x @ W + b), the transpose of torch.nn.Linear.weight';

/**
 * The model weights of a run folder's checkpoint, by parameter name, with the run's model config in the
 * metadata; the optimizer's moments are left out. `ema` takes the optimizer's EMA copy of every parameter
 * instead (a ConfigError on `ema` when the run keeps none). `metadata` adds entries (e.g. the resolved schedule).
 * Needs a tfjs backend (the checkpoint is decoded with tf.io).
 */
export async function exportRunWeights(
  runDir: string,
  opts: { weights?: ExportWeights; describe?: (model: unknown) => Record<string, string> } = {},
): Promise<{ bytes: Uint8Array; names: string[]; step: number; metadata: Record<string, string> }> {
  const configPath = join(runDir, RUN_FILES.config);
  const config = await readJsonIfExists<RunConfig>(configPath).catch((e: Error) => {
    throw new CheckpointError(configPath, `not valid JSON (${e.message})`);
  });
  if (!config) throw new CheckpointError(configPath, `file not found: ${runDir} is not a run folder`);
  const { json, tensors } = await loadCheckpoint(join(runDir, RUN_FILES.checkpoint));
  try {
    const weights = opts.weights ?? 'trained';
    const picked: Record<string, SafetensorsTensor> = {};
    for (const [name, t] of Object.entries(tensors)) {
      const param =
        weights === 'ema'
          ? name.startsWith(EMA_PREFIX)
            ? name.slice(EMA_PREFIX.length)
            : undefined
          : name.startsWith(OPTIMIZER_PREFIX)
            ? undefined
            : name;
      if (param !== undefined) picked[param] = { shape: t.shape, data: Float32Array.from(t.dataSync()) };
    }
    const where = join(runDir, RUN_FILES.checkpoint, 'model.json');
    if (weights === 'ema') {
      const params = Object.keys(tensors).filter((n) => !n.startsWith(OPTIMIZER_PREFIX));
      if (Object.keys(picked).length === 0)
        throw new ConfigError(
          'ema',
          'a folder trained with an EMA of its weights (train with an EMA decay); this one keeps none: export its trained weights',
          true,
        );
      const missing = params.filter((n) => !(n in picked));
      if (missing.length > 0) throw new CheckpointError(where, `has no EMA copy of ${missing.join(', ')}`);
    }
    const meta = json.meta as Partial<CheckpointMeta>;
    const step = typeof meta.step === 'number' ? meta.step : 0;
    const metadata: Record<string, string> = {
      format: 'pt',
      [EXPORT_METADATA.model]: JSON.stringify(config.model),
      [EXPORT_METADATA.weights]: weights,
      [EXPORT_METADATA.step]: String(step),
      [EXPORT_METADATA.train]: JSON.stringify(config.train),
      [EXPORT_METADATA.seed]: String(config.seed),
      [EXPORT_METADATA.codeVersion]: String(config.codeVersion),
      [EXPORT_METADATA.layout]: WEIGHT_LAYOUT,
      ...opts.describe?.(config.model),
    };
    return { bytes: encodeSafetensors(picked, metadata), names: Object.keys(picked).sort(), step, metadata };
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
}
