import { z } from 'zod';
import { BACKEND_CHOICES, ConfigError } from '@tarm/core';
import { configDefiner, flagName, pickSettings, setting, settingsShape } from '@tarm/core/internal';
import { EVAL_SETTINGS, type EVAL_DEFAULTS } from '@tarm/eval';
import { TRAIN_SETTINGS } from '@tarm/train';
import type { RunRequest } from '@tarm/train/node';
import { defineModelConfig, MODEL_SETTINGS, RUNGS, solveBudget, type ModelConfig } from '@tarm/recursion';
import { UsageError } from './errors.js';
import { flagText, readFlags } from './flags.js';
import { CONTEXT_LENGTH, getTask } from '@tarm/tasks';
import { sequenceLength } from '@tarm/tasks/internal';

/**
 * The settings `tarm train` takes as flags, in the order of its help: the model's, the training's and the
 * evaluation's from the tables that declare them (MODEL_SETTINGS, TRAIN_SETTINGS, EVAL_SETTINGS), and the few
 * that say where and how a run goes rather than what it trains. vocabSize and contextLength are the tasks'.
 */
export const TRAIN_FLAGS = {
  ...pickSettings(MODEL_SETTINGS, ['model', 'switches']),
  ...pickSettings(TRAIN_SETTINGS, ['task', 'length']),
  ...pickSettings(EVAL_SETTINGS, ['evalLengths']),
  ...pickSettings(MODEL_SETTINGS, ['budget', 'dModel', 'nHeads']),
  ...pickSettings(TRAIN_SETTINGS, ['steps', 'batchSize', 'lr', 'weightDecay']),
  ...pickSettings(MODEL_SETTINGS, ['dropout']),
  ...pickSettings(TRAIN_SETTINGS, ['seed']),
  backend: setting({
    schema: z.enum(BACKEND_CHOICES).default('auto'),
    doc: 'the tfjs backend (auto: node when @tensorflow/tfjs-node loads, else wasm)',
    arg: 'name',
  }),
  ...pickSettings(EVAL_SETTINGS, ['decode', 'temperature']),
  ...pickSettings(TRAIN_SETTINGS, ['evalEvery']),
  ...pickSettings(EVAL_SETTINGS, ['evalN']),
  ...pickSettings(MODEL_SETTINGS, [
    'ponderWeight',
    'actThreshold',
    'outer',
    'inner',
    'haltExploration',
    'deepSupervision',
    'haltLoss',
    'haltLossWeight',
    'gradCycles',
  ]),
  ...pickSettings(TRAIN_SETTINGS, ['ema', 'microBatch']),
  out: setting({
    schema: z.string().min(1).optional(),
    doc: 'run folder (default runs/<model>-<task>-L<length>-s<seed>)',
    arg: 'dir',
  }),
  /** Extra log besides metrics.jsonl: TensorBoard event files in the run folder (not part of the run config). */
  log: setting({
    schema: z.enum(['tensorboard']).optional(),
    doc: 'also log to: tensorboard (event files in the run folder, docs/interop.md)',
    arg: 'sink',
  }),
};

/** Flags of `tarm train`, as read from commander's strings (readFlags) or taken from a run config. */
export const TrainFlagsSchema = z.strictObject({
  ...settingsShape(TRAIN_FLAGS),
  json: z.boolean().default(false),
  resume: z.boolean().default(false),
});

export type TrainFlags = z.output<typeof TrainFlagsSchema>;

const parseFlags = configDefiner(TrainFlagsSchema);

export interface ResolvedTrain {
  readonly flags: TrainFlags;
  readonly model: ModelConfig;
  readonly out: string;
  /** EMA decay of the weights used for evaluation (0: none); trm-faithful defaults to 0.999. */
  readonly ema: number;
}

/** Validates every flag (and their combinations) before anything is created or written. */
export function resolveTrain(raw: Record<string, unknown>): ResolvedTrain {
  const flags = parseFlags(readFlags(raw, TRAIN_FLAGS) as never);
  const model = defineModelConfig({
    ...Object.fromEntries(Object.keys(MODEL_SETTINGS).map((k) => [k, (flags as Record<string, unknown>)[k]])),
    contextLength: CONTEXT_LENGTH,
    vocabSize: 14,
  });
  solveBudget(model); // budget that the rung cannot split -> ConfigError('budget', ...)
  if (typeof flags.microBatch === 'number' && flags.microBatch > flags.batchSize) {
    throw new ConfigError(
      'microBatch',
      `auto, or an integer from 1 to batchSize (${flags.batchSize})`,
      flags.microBatch,
    );
  }
  const task = getTask(flags.task);
  for (const L of [flags.length, ...flags.evalLengths]) {
    const need = sequenceLength(task, L);
    if (need > CONTEXT_LENGTH) {
      throw new ConfigError(
        L === flags.length ? 'length' : 'evalLengths',
        `lengths whose sequences fit the context of ${CONTEXT_LENGTH} positions (${flags.task} at L needs ${sequenceLength(task, 1)}+ positions; got ${need})`,
        L,
      );
    }
  }
  const ema = flags.ema ?? RUNGS[flags.model].defaults?.ema ?? 0;
  const out = flags.out ?? `runs/${flags.model}-${flags.task}-L${flags.length}-s${flags.seed}`;
  return { flags, model, out, ema };
}

/** A run config as `tarm train --config` reads it: a run folder's config.json, or what a study hands its runs. */
export type SavedTrainConfig = RunRequest<Record<string, unknown>, Partial<EvalSettings>>;
type EvalSettings = { -readonly [K in keyof typeof EVAL_DEFAULTS]: (typeof EVAL_DEFAULTS)[K] };

/** The `tarm train` flags (values, by key) that reproduce a run folder's config.json. */
export function flagsOfRun(c: SavedTrainConfig): Record<string, unknown> {
  const t = c.train;
  const o = t.optimizer ?? {};
  const raw: Record<string, unknown> = {
    ...Object.fromEntries(Object.keys(MODEL_SETTINGS).map((k) => [k, c.model[k]])),
    task: t.task,
    length: t.length,
    evalLengths: c.eval?.lengths ?? [t.length],
    steps: t.steps,
    batchSize: t.batchSize,
    lr: o.lr,
    weightDecay: o.weightDecay,
    seed: c.seed,
    backend: c.backend,
    decode: c.eval?.decode,
    temperature: c.eval?.temperature,
    evalEvery: t.evalEvery,
    evalN: c.eval?.n,
    ema: o.ema,
    microBatch: t.microBatch ?? t.batchSize, // what the run trained with: never re-sized on resume
  };
  const fromTasks = new Set(['vocabSize', 'contextLength']);
  return Object.fromEntries(Object.entries(raw).filter(([k, v]) => v !== undefined && !fromTasks.has(k)));
}

/** Flags that may differ from the run's on resume: where it goes, how it logs, and how many steps it trains to. */
const RESUME_FREE = new Set(['out', 'resume', 'json', 'log', 'steps']);

/**
 * `tarm train --resume`: the run's flags come from `<out>/config.json`; the flags given (`given`: commander's keys
 * the user typed) may only repeat them, except --steps (continue to more, or stop short), --out, --json and --log.
 * Every flag that differs is named at once. `--backend auto` and `--micro-batch auto` mean "as the run did".
 */
export function resolveResume(
  raw: Record<string, unknown>,
  given: ReadonlySet<string>,
  saved: SavedTrainConfig,
  out: string,
): ResolvedTrain {
  const typed = [...given].filter((k) => !((k === 'backend' || k === 'microBatch') && raw[k] === 'auto'));
  const fromRun = flagsOfRun(saved);
  const merged = { ...fromRun, ...Object.fromEntries(typed.map((k) => [k, raw[k]])), out };
  const run = resolveTrain({ ...fromRun, out });
  const asked = resolveTrain(merged); // every flag given is still checked on its own
  const differing = typed
    .filter((k) => !RESUME_FREE.has(k))
    .filter(
      (f) =>
        JSON.stringify((run.flags as Record<string, unknown>)[f]) !==
        JSON.stringify((asked.flags as Record<string, unknown>)[f]),
    );
  if (differing.length > 0) {
    const list = differing.map(
      (f) =>
        `${flagName(f)} ${flagText((asked.flags as Record<string, unknown>)[f])} (the run has ${flagText((run.flags as Record<string, unknown>)[f])})`,
    );
    throw new UsageError(
      `cannot resume ${out}: ${list.join(', ')}; --resume reads every setting from ${out}/config.json: drop ${differing.length === 1 ? 'that flag' : 'those flags'}, or start a new run with another --out`,
    );
  }
  return asked;
}
