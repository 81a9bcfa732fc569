import { z } from 'zod';
import { BACKEND_CHOICES, ConfigError } from '@tarm/core';
import { configDefiner } from '@tarm/core/internal';
import { EVAL_DEFAULTS as E } from '@tarm/eval';
import { TRAIN_DEFAULTS as T } from '@tarm/train';
import {
  defineModelConfig,
  RUNG_NAMES,
  RUNGS,
  solveBudget,
  type ModelConfig,
  type RungSwitches,
} from '@tarm/recursion';
import { RungSwitchesSchema } from '@tarm/recursion/internal';
import { FLAG_OF, renameFlags, UsageError } from './errors.js';
import { TASK_NAMES, CONTEXT_LENGTH, DECODE_STRATEGIES, getTask } from '@tarm/tasks';
import { sequenceLength } from '@tarm/tasks/internal';

const intFlag = z.coerce.number().int();
/** The model's defaults, declared by @tarm/recursion (the training's by @tarm/train, the evaluation's by @tarm/eval). */
const M = defineModelConfig({});
const numFlag = z.coerce.number();

/** Flags of `tarm train`, as commander hands them over (strings); defaults are the paper's, from the packages that use them. */
export const TrainFlagsSchema = z.strictObject({
  model: z.enum(RUNG_NAMES).default('dense'),
  /** Structural switches over --model: `halting=binary,tied=false` (the design space, packages/recursion/src/rungs.ts). */
  switches: z
    .string()
    .optional()
    .transform((s, ctx) => {
      if (s === undefined) return undefined;
      const pairs = s
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean)
        .map((p) => p.split('='));
      if (pairs.length === 0 || pairs.some((p) => p.length !== 2 || !p[0] || !p[1])) {
        ctx.addIssue({
          code: 'custom',
          message: `comma-separated switch=value pairs, e.g. halting=binary,tied=false (switches: ${Object.keys(RungSwitchesSchema.shape).join(', ')})`,
        });
        return z.NEVER;
      }
      const value = (v: string) => (v === 'true' ? true : v === 'false' ? false : v);
      return Object.fromEntries(pairs.map(([k, v]) => [k!, value(v!)])) as Partial<RungSwitches>;
    }),
  task: z.enum(TASK_NAMES as [string, ...string[]]).default('addition'),
  length: intFlag.min(1).default(T.length),
  evalLengths: z
    .string()
    .default(E.lengths.join(','))
    .transform((s, ctx) => {
      const xs = s.split(',').map((v) => Number(v.trim()));
      if (xs.length === 0 || xs.some((v) => !Number.isInteger(v) || v < 1)) {
        ctx.addIssue({ code: 'custom', message: 'a comma-separated list of positive integers, e.g. 10,20' });
        return z.NEVER;
      }
      return xs;
    }),
  budget: intFlag.min(1).default(M.budget),
  dModel: intFlag.min(1).default(M.dModel),
  nHeads: intFlag.min(1).default(M.nHeads),
  steps: intFlag.min(1).default(T.steps),
  batchSize: intFlag.min(1).default(T.batchSize),
  lr: numFlag.gt(0).default(T.lr),
  weightDecay: numFlag.min(0).default(T.weightDecay),
  dropout: numFlag.min(0).max(0.99).default(M.dropout),
  seed: intFlag.min(0).default(T.seed),
  backend: z.enum(BACKEND_CHOICES).default('auto'),
  decode: z.enum(DECODE_STRATEGIES).default(E.decode),
  temperature: numFlag.gt(0).default(E.temperature),
  evalEvery: intFlag.min(1).default(T.evalEvery),
  evalN: intFlag.min(1).default(E.n),
  ponderWeight: numFlag.min(0).default(M.ponderWeight),
  outer: intFlag.min(1).optional(),
  inner: intFlag.min(1).optional(),
  haltExploration: numFlag.min(0).max(1).default(M.haltExploration),
  deepSupervision: intFlag.min(0).optional(),
  haltLoss: z.enum(['on', 'off']).optional(),
  gradCycles: z.enum(['last', 'all']).optional(),
  ema: numFlag.min(0).lt(1).optional(),
  microBatch: z
    .string()
    .default('auto')
    .transform((v, ctx) => {
      if (v === 'auto') return 'auto' as const;
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) {
        ctx.addIssue({ code: 'custom', message: 'auto, or an integer from 1 to batchSize' });
        return z.NEVER;
      }
      return n;
    }),
  out: z.string().min(1).optional(),
  /** Extra log besides metrics.jsonl: TensorBoard event files in the run folder (not part of the run config). */
  log: z.enum(['tensorboard']).optional(),
  json: z.boolean().default(false),
  resume: z.boolean().default(false),
});

export type TrainFlags = z.output<typeof TrainFlagsSchema>;

/** Every flag's default (what `tarm train --help` shows): the schema above is their one declaration in the CLI. */
export const TRAIN_FLAG_DEFAULTS: Readonly<TrainFlags> = Object.freeze(TrainFlagsSchema.parse({}));

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
  const flags = parseFlags(renameFlags(raw) as never);
  const model = defineModelConfig({
    model: flags.model,
    ...(flags.switches && { switches: flags.switches }),
    dModel: flags.dModel,
    nHeads: flags.nHeads,
    budget: flags.budget,
    dropout: flags.dropout,
    outer: flags.outer,
    inner: flags.inner,
    ponderWeight: flags.ponderWeight,
    haltExploration: flags.haltExploration,
    deepSupervision: flags.deepSupervision,
    haltLoss: flags.haltLoss === undefined ? undefined : flags.haltLoss === 'on',
    gradCycles: flags.gradCycles,
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

/** The parts of a run folder's config.json (as `tarm train` writes it) that flags set. */
export interface SavedTrainConfig {
  readonly model: Record<string, unknown>;
  readonly train: {
    task: string;
    length: number;
    batchSize: number;
    steps: number;
    evalEvery: number;
    microBatch?: number;
    optimizer?: { lr?: number; weightDecay?: number; ema?: number };
  };
  readonly seed: number;
  readonly eval?: { lengths?: number[]; n?: number; decode?: string; temperature?: number };
  readonly backend?: string;
}

/** The `tarm train` flags (commander's keys) that reproduce a run folder's config.json. */
export function flagsOfRun(c: SavedTrainConfig): Record<string, unknown> {
  const m = c.model;
  const t = c.train;
  const o = t.optimizer ?? {};
  const raw: Record<string, unknown> = {
    model: m.model,
    switches: switchesFlag(m.switches as Partial<RungSwitches> | undefined),
    task: t.task,
    length: t.length,
    evalLengths: (c.eval?.lengths ?? [t.length]).join(','),
    budget: m.budget,
    dModel: m.dModel,
    heads: m.nHeads,
    steps: t.steps,
    batch: t.batchSize,
    lr: o.lr,
    weightDecay: o.weightDecay,
    dropout: m.dropout,
    seed: c.seed,
    backend: c.backend,
    decode: c.eval?.decode,
    temperature: c.eval?.temperature,
    evalEvery: t.evalEvery,
    evalN: c.eval?.n,
    ponderWeight: m.ponderWeight,
    outer: m.outer,
    inner: m.inner,
    haltExploration: m.haltExploration,
    deepSupervision: m.deepSupervision,
    haltLoss: m.haltLoss === undefined ? undefined : m.haltLoss ? 'on' : 'off',
    gradCycles: m.gradCycles,
    ema: o.ema,
    microBatch: String(t.microBatch ?? t.batchSize), // what the run trained with: never re-sized on resume
  };
  return Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined));
}

/** A config's `switches` object as the --switches flag (`halting=binary,tied=false`); undefined when none. */
export function switchesFlag(s: Partial<RungSwitches> | undefined): string | undefined {
  const set = Object.entries(s ?? {}).filter(([, v]) => v !== undefined);
  return set.length ? set.map(([k, v]) => `${k}=${String(v)}`).join(',') : undefined;
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
  const field = (k: string) => renameFlags({ [k]: 0 });
  const differing = typed
    .filter((k) => !RESUME_FREE.has(k))
    .map((k) => Object.keys(field(k))[0]!)
    .filter(
      (f) =>
        JSON.stringify((run.flags as Record<string, unknown>)[f]) !==
        JSON.stringify((asked.flags as Record<string, unknown>)[f]),
    );
  if (differing.length > 0) {
    const show = (v: unknown) => (Array.isArray(v) ? v.join(',') : String(v));
    const list = differing.map(
      (f) =>
        `${FLAG_OF[f] ?? `--${f}`} ${show((asked.flags as Record<string, unknown>)[f])} (the run has ${show((run.flags as Record<string, unknown>)[f])})`,
    );
    throw new UsageError(
      `cannot resume ${out}: ${list.join(', ')}; --resume reads every setting from ${out}/config.json: drop ${differing.length === 1 ? 'that flag' : 'those flags'}, or start a new run with another --out`,
    );
  }
  return asked;
}
