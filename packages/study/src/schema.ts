import { z } from 'zod';
import { ConfigError } from '@tarm/core';
import {
  deepFreeze,
  pickSettings,
  renameAliases,
  settingAliases,
  settingsShape,
  unsetSettings,
} from '@tarm/core/internal';
import { defineModelConfig, MODEL_SETTINGS, RUNG_NAMES, solveBudget, type RungName } from '@tarm/recursion';
import { CONTEXT_LENGTH, getTask, TASK_NAMES } from '@tarm/tasks';
import { sequenceLength } from '@tarm/tasks/internal';
import { EVAL_DEFAULTS, EVAL_SETTINGS } from '@tarm/eval';
import { TRAIN_DEFAULTS, TRAIN_SETTINGS } from '@tarm/train';
import { StudyError } from './errors.js';

/**
 * What every run of a study shares: settings of the model (@tarm/recursion's MODEL_SETTINGS), the training
 * (@tarm/train's TRAIN_SETTINGS) and the evaluation (@tarm/eval's EVAL_SETTINGS), each with its one declaration's
 * schema, default (the paper's) and meaning; a key is the same name as in those tables and as `tarm train`'s flag.
 */
export const STUDY_CONFIG_SETTINGS = {
  ...pickSettings(TRAIN_SETTINGS, ['length']),
  ...pickSettings(EVAL_SETTINGS, ['evalLengths']),
  ...pickSettings(MODEL_SETTINGS, ['budget', 'dModel', 'nHeads']),
  ...pickSettings(TRAIN_SETTINGS, ['steps', 'batchSize', 'lr']),
  ...pickSettings(MODEL_SETTINGS, ['dropout']),
  ...pickSettings(EVAL_SETTINGS, ['decode']),
  ...pickSettings(TRAIN_SETTINGS, ['evalEvery']),
  ...pickSettings(EVAL_SETTINGS, ['evalN']),
};

/**
 * What an arm may set over its rung; unset, the rung's own value applies (the model's and training's defaults are
 * the rung's, the decoding the study's).
 */
const ARM_SETTINGS = unsetSettings({
  ...pickSettings(MODEL_SETTINGS, ['switches', 'deepSupervision', 'haltLoss', 'gradCycles']),
  ...pickSettings(TRAIN_SETTINGS, ['ema']),
  ...pickSettings(MODEL_SETTINGS, ['ponderWeight', 'haltExploration', 'outer', 'inner']),
  ...pickSettings(EVAL_SETTINGS, ['decode']),
});

/** The aliases a study file's `config` accepts (`batch` for `batchSize`), alias -> key. */
const CONFIG_ALIASES = settingAliases(STUDY_CONFIG_SETTINGS);

const Name = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and hyphens');

/**
 * What every run of a study shares (STUDY_CONFIG_SETTINGS). An alias (`batch`) is read as its key, so files written
 * before one name per setting keep working; both names at once are refused.
 */
export const ConfigSchema = z.preprocess(
  (v, ctx) =>
    renameAliases(v, CONFIG_ALIASES, (alias, key) =>
      ctx.issues.push({ code: 'custom', path: [alias], message: `${key} or its alias ${alias}, not both`, input: v }),
    ),
  z.strictObject({
    ...settingsShape(STUDY_CONFIG_SETTINGS),
    /** Every run also logs to TensorBoard event files in its folder (docs/interop.md); unset: metrics.jsonl only. */
    log: z.enum(['tensorboard']).optional(),
  }),
);

/**
 * The paper's configuration (paper.md, "Training and evaluation"): every default of a study file, in its words,
 * with the training and evaluation defaults a study does not set (weight decay, sampling temperature, seed).
 */
export const PAPER_DEFAULTS = deepFreeze({
  ...ConfigSchema.parse({}),
  weightDecay: TRAIN_DEFAULTS.weightDecay,
  temperature: EVAL_DEFAULTS.temperature,
  seed: TRAIN_DEFAULTS.seed,
});

/** One arm: a rung and the model / training switches it flips (unset: the rung's defaults). */
export const ArmSchema = z.strictObject({
  /** The arm's name in run folders (`<arm>-<task>-s<seed>`) and the report. */
  name: Name,
  rung: z.enum(RUNG_NAMES),
  /** Row label of the report (default: the name). */
  label: z.string().min(1).optional(),
  /** What the arm changes, in words. */
  change: z.string().optional(),
  ...settingsShape(ARM_SETTINGS),
});

/** A task of the study; each may set its own training length, steps and evaluation lengths. */
export const TaskSchema = z.strictObject({
  name: z.enum(TASK_NAMES as [string, ...string[]]),
  length: z.int().min(1).optional(),
  steps: z.int().min(1).optional(),
  /**
   * Train past `steps` while the run is still moving, up to this many steps (see extension.ts): one evaluation
   * interval at a time, until its last two evaluations agree within 2 points and it is not climbing below the
   * study's success level. Default: `steps` (no extension).
   */
  maxSteps: z.int().min(1).optional(),
  evalLengths: z.array(z.int().min(1)).min(1).optional(),
});

/** A study file: arms x tasks x seeds with one shared configuration. */
export const StudySchema = z.strictObject({
  /** Editors read the JSON Schema from here (`node_modules/@tarm/study/study.schema.json`). */
  $schema: z.string().optional(),
  name: Name,
  description: z.string().default(''),
  arms: z.array(ArmSchema).min(1),
  tasks: z.array(TaskSchema).min(1),
  seeds: z.array(z.int().min(0)).min(1),
  config: ConfigSchema.default(ConfigSchema.parse({})),
  /** Arm-vs-arm comparisons of the report (difference with a 95% Welch interval). */
  compare: z.array(z.strictObject({ arm: Name, vs: Name })).default([]),
  /** A seed "succeeds" when its character accuracy at the training length reaches this fraction. */
  success: z.number().min(0).max(1).default(0.9),
  /**
   * Claims are judged on the longest prefix of `seeds` that every arm has finished on a task, and only when that
   * prefix has at least this many seeds (fewer: "not testable").
   */
  minSeeds: z.int().min(2).default(2),
  /** What differs from the paper's configuration, one change per line. */
  notes: z.array(z.string()).default([]),
});

export type StudyInput = z.input<typeof StudySchema>;
export type Study = Readonly<z.output<typeof StudySchema>>;
export type Arm = Readonly<z.output<typeof ArmSchema>>;
export type StudyTask = Readonly<z.output<typeof TaskSchema>>;
export type StudyConfig = Readonly<z.output<typeof ConfigSchema>>;

/** The settings of a task after its own fields override the shared ones. */
export interface TaskSettings {
  readonly name: string;
  readonly length: number;
  readonly steps: number;
  /** The most steps a still-moving run trains (>= steps; equal when the task sets no `maxSteps`). */
  readonly maxSteps: number;
  readonly evalLengths: readonly number[];
}

export function taskSettings(study: Pick<Study, 'config'>, task: StudyTask): TaskSettings {
  const c = study.config;
  const steps = task.steps ?? c.steps;
  return {
    name: task.name,
    length: task.length ?? c.length,
    steps,
    maxSteps: Math.max(steps, task.maxSteps ?? steps),
    evalLengths: task.evalLengths ?? c.evalLengths,
  };
}

/** The JSON Schema of a study file (what `study.schema.json` holds). */
export function studyJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(StudySchema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
}

function describe(issue: z.core.$ZodIssue, input: unknown): string {
  const i = issue as unknown as Record<string, unknown>;
  if (issue.code === 'unrecognized_keys') return `unknown key (remove it; see study.schema.json)`;
  const got = issue.path.reduce<unknown>(
    (v, k) => (v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined),
    input,
  );
  const allowed =
    issue.code === 'invalid_value' ? (i.values as unknown[]).map((v) => JSON.stringify(v)).join(', ') : issue.message;
  return `${got === undefined ? 'missing' : `got ${JSON.stringify(got)}`}; allowed: ${allowed}`;
}

/** `arms.1.rung` -> `arms[1].rung`. */
const fieldName = (path: readonly PropertyKey[]) =>
  path.map((k, j) => (typeof k === 'number' ? `[${k}]` : `${j ? '.' : ''}${String(k)}`)).join('');

function fail(source: string, field: string, message: string): never {
  throw new StudyError(`${source}: ${field}: ${message}`, field);
}

/**
 * Validates a study (unknown keys, rungs and tasks rejected), checks what the schema cannot (unique names,
 * comparisons that name arms, a budget every arm can split, lengths that fit the context) and returns a deeply
 * frozen copy with every default filled. `source` names the file in errors.
 */
export function defineStudy(input: unknown, source = 'study'): Study {
  const parsed = StudySchema.safeParse(input);
  if (!parsed.success) {
    // an unknown key first: a misspelt one (`sedds`) also leaves its field missing, and the typo is what to fix
    const issue = parsed.error.issues.find((i) => i.code === 'unrecognized_keys') ?? parsed.error.issues[0]!;
    const keys = issue.code === 'unrecognized_keys' ? (issue as unknown as { keys: string[] }).keys : [];
    fail(source, fieldName([...issue.path, ...keys.slice(0, 1)]) || '(file)', describe(issue, input));
  }
  const { $schema: _editorsOnly, ...s } = parsed.data;
  const unique = (what: string, names: string[]) =>
    names.forEach(
      (n, i) => names.indexOf(n) !== i && fail(source, `${what}[${i}].name`, `${JSON.stringify(n)} appears twice`),
    );
  unique(
    'arms',
    s.arms.map((a) => a.name),
  );
  unique(
    'tasks',
    s.tasks.map((t) => t.name),
  );
  const arms = s.arms.map((a) => a.name);
  s.compare.forEach((c, i) => {
    for (const k of ['arm', 'vs'] as const)
      if (!arms.includes(c[k]))
        fail(source, `compare[${i}].${k}`, `${JSON.stringify(c[k])} is not an arm (arms: ${arms.join(', ')})`);
    if (c.arm === c.vs) fail(source, `compare[${i}].vs`, 'an arm other than compare.arm');
  });
  if (s.config.dModel % s.config.nHeads !== 0)
    fail(source, 'config.nHeads', `a divisor of config.dModel (${s.config.dModel}); got ${s.config.nHeads}`);
  s.tasks.forEach((t, i) => {
    const ts = taskSettings(s, t);
    const where = (f: 'length' | 'evalLengths') => (t[f] !== undefined ? `tasks[${i}].${f}` : `config.${f}`);
    if (t.maxSteps !== undefined && t.maxSteps < ts.steps)
      fail(source, `tasks[${i}].maxSteps`, `at least the task's steps (${ts.steps}); got ${t.maxSteps}`);
    if (!ts.evalLengths.includes(ts.length))
      fail(source, where('evalLengths'), `must include the training length ${ts.length} of ${t.name}`);
    for (const L of [ts.length, ...ts.evalLengths]) {
      const need = sequenceLength(getTask(t.name), L);
      if (need > CONTEXT_LENGTH)
        fail(
          source,
          where(L === ts.length ? 'length' : 'evalLengths'),
          `${t.name} at L = ${L} needs ${need} positions; the context has ${CONTEXT_LENGTH}`,
        );
    }
  });
  s.arms.forEach((a, i) => {
    try {
      solveBudget(defineModelConfig(armModelConfig(a, s.config)));
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      const field = e.field === 'budget' ? 'config.budget' : `arms[${i}].${e.field}`;
      fail(source, field, `arm ${a.name} (${a.rung}): ${e.allowed}; got ${JSON.stringify(e.got)}`);
    }
  });
  return deepFreeze(structuredClone(s));
}

/** The `@tarm/recursion` model config of an arm under a study's configuration. */
export function armModelConfig(arm: Arm, config: StudyConfig) {
  return {
    model: arm.rung as RungName,
    ...(arm.switches && { switches: arm.switches }),
    dModel: config.dModel,
    nHeads: config.nHeads,
    budget: config.budget,
    dropout: config.dropout,
    outer: arm.outer,
    inner: arm.inner,
    deepSupervision: arm.deepSupervision,
    haltLoss: arm.haltLoss,
    gradCycles: arm.gradCycles,
    ...(arm.ponderWeight !== undefined && { ponderWeight: arm.ponderWeight }),
    ...(arm.haltExploration !== undefined && { haltExploration: arm.haltExploration }),
  };
}

/** The arm fields that change its rung (everything but its name, label, change and rung). */
const SETTINGS = Object.keys(ARM_SETTINGS) as (keyof typeof ARM_SETTINGS)[];

/** What an arm sets over its rung, in the study file's own words (`deepSupervision 0`, `switches.halting "binary"`). */
export function armSettings(arm: Arm): string[] {
  return SETTINGS.flatMap((k) => {
    const v = arm[k];
    if (v === undefined) return [];
    if (k === 'switches') return Object.entries(v as object).map(([s, x]) => `switches.${s} ${JSON.stringify(x)}`);
    return [`${k} ${JSON.stringify(v)}`];
  });
}

/** Whether an arm is its rung as published (no setting changed): only such arms are compared with the paper. */
export const isPlainRung = (arm: Arm): boolean => armSettings(arm).length === 0;
