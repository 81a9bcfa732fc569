import { z } from 'zod';
import { deepFreeze } from '@tarm/core';
import { StudyError } from './errors.js';

/**
 * Every model a study can train, as the `tarm train --model` flag takes them: the paper's seven rungs in the
 * paper's order, then `trm-faithful` (ours, not in the paper: ar-trm with TRM's training recipe switched on; it
 * has no published numbers).
 */
export const MODEL_NAMES = Object.freeze(['dense', 'iterative', 'iterative-step', 'ut', 'dual-ut', 'dual-nested-ut', 'ar-trm', 'trm-faithful'] as const);
export type ModelName = (typeof MODEL_NAMES)[number];

/** The seven rungs of the paper's ladder (the `paper` and `cpu` presets' models). */
export const PAPER_MODEL_NAMES: readonly ModelName[] = Object.freeze(MODEL_NAMES.slice(0, 7));

/** The paper's three tasks, in the order of its results table. */
export const TASK_NAMES = Object.freeze(['addition', 'copy', 'reverse'] as const);
export type TaskName = (typeof TASK_NAMES)[number];

export const PRESET_NAMES = Object.freeze(['smoke', 'cpu', 'paper', 'attribution'] as const);
export type PresetName = (typeof PRESET_NAMES)[number];

/** Backends `tarm train --backend` accepts. */
export const BACKEND_NAMES = Object.freeze(['wasm', 'cpu', 'node', 'webgpu'] as const);
export type BackendName = (typeof BACKEND_NAMES)[number];

/**
 * The configuration every run of a study shares: one `tarm train` invocation per (model, task, seed) with these
 * flags. Field names follow the train flags (`dModel` is `--d-model`, `nHeads` is `--heads`, ...).
 */
export const StudyConfigSchema = z
  .strictObject({
    /** Training length L (digits per operand). */
    length: z.int().min(1),
    /** Evaluation lengths; must include the training length (the headline number is read there). */
    evalLengths: z.array(z.int().min(1)).min(1),
    /** Compute budget B in block passes, the same for every rung (compute matching). */
    budget: z.int().min(1),
    /** C, the residual width. */
    dModel: z.int().min(1),
    nHeads: z.int().min(1),
    steps: z.int().min(1),
    batch: z.int().min(1),
    lr: z.number().positive(),
    dropout: z.number().min(0).max(0.99),
    /** Answer decoding at evaluation: the paper samples at temperature 1. */
    decode: z.enum(['sample', 'greedy']),
    evalEvery: z.int().min(1),
    /** Problems per (task, length) at each evaluation. */
    evalN: z.int().min(1),
  })
  .refine((c) => c.dModel % c.nHeads === 0, { path: ['nHeads'], message: 'nHeads must divide dModel' })
  .refine((c) => c.evalLengths.includes(c.length), { path: ['evalLengths'], message: 'evalLengths must include the training length' });

export type StudyConfig = Readonly<z.output<typeof StudyConfigSchema>>;

/** A named study: the grid (models x tasks x seeds) and the shared configuration. */
export const StudyPresetSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and hyphens'),
    description: z.string(),
    models: z.array(z.enum(MODEL_NAMES)).min(1),
    tasks: z.array(z.enum(TASK_NAMES)).min(1),
    seeds: z.array(z.int().min(0)).min(1),
    config: StudyConfigSchema,
    /** What differs from the paper's configuration, one change per line (empty for `paper`). */
    notes: z.array(z.string()),
  })
  .refine((p) => !p.models.includes('dual-ut') || p.config.budget % 2 === 0, {
    path: ['config', 'budget'],
    message: 'dual-ut spends 2 block passes per step: the budget must be even',
  });

export type StudyPresetInput = z.input<typeof StudyPresetSchema>;
export type StudyPreset = Readonly<z.output<typeof StudyPresetSchema>>;

/** Validates a preset (unknown keys rejected) and returns a deeply frozen copy. */
export function definePreset(input: StudyPresetInput): StudyPreset {
  const parsed = StudyPresetSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new StudyError(`invalid study preset ${JSON.stringify((input as { name?: unknown }).name)}: ${issue.path.join('.') || '(preset)'}: ${issue.message}`);
  }
  return deepFreeze(structuredClone(parsed.data));
}

/** The published configuration (paper.md, "Training and evaluation"): 7 rungs x 3 tasks, one seed. */
export const PAPER_PRESET: StudyPreset = definePreset({
  name: 'paper',
  description: "The paper's configuration: C 384, 6 heads, budget 24, 5000 steps, batch 64, sampling at T = 1.",
  models: [...PAPER_MODEL_NAMES],
  tasks: [...TASK_NAMES],
  seeds: [1337],
  config: {
    length: 10,
    evalLengths: [10, 20, 30, 40, 50],
    budget: 24,
    dModel: 384,
    nHeads: 6,
    steps: 5000,
    batch: 64,
    lr: 3e-4,
    dropout: 0.1,
    decode: 'sample',
    evalEvery: 250,
    evalN: 100,
  },
  notes: [],
});

/**
 * Scaled down so the whole grid (7 rungs x 3 tasks x 3 seeds = 63 runs) fits in about an hour on a 2-core
 * machine with 2 workers. The ladder and the compute matching are kept: budget 6 splits for every rung.
 * The numbers are placeholders to be tuned on the target machine.
 */
export const CPU_PRESET: StudyPreset = definePreset({
  name: 'cpu',
  description: 'The ladder at CPU scale: C 64, 4 heads, budget 6, 200 steps, 3 seeds, greedy evaluation.',
  models: [...PAPER_MODEL_NAMES],
  tasks: [...TASK_NAMES],
  seeds: [1337, 1, 2],
  config: {
    length: 10,
    evalLengths: [10, 15],
    budget: 6,
    dModel: 64,
    nHeads: 4,
    steps: 200,
    batch: 32,
    lr: 1e-3,
    dropout: 0,
    decode: 'greedy',
    evalEvery: 50,
    evalN: 50,
  },
  notes: [
    'width C 64 instead of 384 and 4 heads instead of 6 (head size 16 instead of 64): CPU time',
    'budget 6 block passes instead of 24: still divides for every rung (dual-ut 3 steps of 2; nested rungs 1 step of H = 2, L = 2), but the nested models get a single step',
    '200 training steps instead of 5000, batch 32 instead of 64: 2% of the paper\'s training tokens',
    'learning rate 1e-3 instead of 3e-4: to learn something in fewer steps',
    'dropout 0 instead of 0.1: short runs on an endless stream of fresh examples do not overfit',
    'evaluation lengths 10 and 15 instead of 10..50, every 50 steps instead of 250, on 50 problems instead of 100',
    'greedy decoding instead of sampling at temperature 1: removes sampling noise from the accuracy',
    '3 seeds (1337, 1, 2) instead of 1: mean and 95% confidence interval over seeds',
  ],
});

/** The whole pipeline in under 3 minutes on 2 cores: 2 rungs, copy, one seed. Checks plumbing, not science. */
export const SMOKE_PRESET: StudyPreset = definePreset({
  name: 'smoke',
  description: 'Pipeline check: dense and dual-ut on copy, C 32, budget 2, 20 steps.',
  models: ['dense', 'dual-ut'],
  tasks: ['copy'],
  seeds: [1337],
  config: {
    length: 10,
    evalLengths: [10],
    budget: 2,
    dModel: 32,
    nHeads: 2,
    steps: 20,
    batch: 16,
    lr: 1e-3,
    dropout: 0,
    decode: 'greedy',
    evalEvery: 10,
    evalN: 10,
  },
  notes: [
    'a pipeline check, not a result: 2 rungs (dense, dual-ut), copy only, 1 seed',
    'C 32, 2 heads, budget 2 (dual-ut: 1 step), 20 steps of batch 16, lr 1e-3, dropout 0',
    'evaluation at length 10 only, every 10 steps, on 10 problems, greedy decoding',
  ],
});

/**
 * The attribution study's shared configuration (run it with `runAttribution`, which trains every arm of
 * `ATTRIBUTION_ARMS` as its own sub-study with this preset): ar-trm and trm-faithful on addition at CPU scale.
 * Budget 12 gives ar-trm 2 steps of H = 2, L = 2, so deep supervision (one segment per step) has 2 segments.
 */
export const ATTRIBUTION_PRESET: StudyPreset = definePreset({
  name: 'attribution',
  description:
    "Which TRM fix explains ar-trm's collapse on addition: the paper's ar-trm with one fix switched on at a time, then all of them (trm-faithful), budget 12, C 64, 200 steps, 3 seeds, greedy evaluation.",
  models: ['ar-trm', 'trm-faithful'],
  tasks: ['addition'],
  seeds: [1337, 1, 2],
  // the cpu preset's scale, evaluated at the training length only, at a budget that gives ar-trm 2 steps
  config: { ...CPU_PRESET.config, evalLengths: [10], budget: 12 },
  notes: [
    'an attribution study, not the ladder: ar-trm as published, then one TRM fix at a time (deep supervision, halting loss, gradient through all cycles, EMA weights), then all of them (trm-faithful); addition only',
    'budget 12 block passes instead of 24: ar-trm makes 2 steps of H = 2 cycles of {L = 2 z-updates, 1 y-update}, so deep supervision (one segment per step) has 2 segments',
    'matched compute: every arm makes at most 12 block passes per forward pass; the fixes change which passes receive gradient (grad-all) and how many AdamW updates a batch makes (deep supervision: one per segment, 2 per batch)',
    'width C 64 instead of 384 and 4 heads instead of 6: CPU time',
    '200 training steps (batches) instead of 5000, batch 32 instead of 64',
    'learning rate 1e-3 instead of 3e-4 and dropout 0 instead of 0.1, as in the cpu preset',
    'evaluation at L = 10 only, every 50 steps instead of 250, on 50 problems instead of 100',
    'greedy decoding instead of sampling at temperature 1; two extra arms (paper-sampled, all-sampled) sample at T = 1 to check that the decoding does not change the conclusion',
    '3 seeds (1337, 1, 2) instead of 1: mean and 95% confidence interval over seeds per arm, Welch intervals for differences between arms',
  ],
});

/**
 * The attribution preset on another task: the same configuration, arms and seeds, `tasks` replaced by `[task]`
 * and the wording of its description and notes made to name it. The task is part of the preset saved in
 * attribution.json, so a folder made on one task refuses to resume on another. `addition` (the default) returns
 * ATTRIBUTION_PRESET itself.
 */
export function attributionPreset(task: string = 'addition'): StudyPreset {
  if (!(TASK_NAMES as readonly string[]).includes(task)) {
    throw new StudyError(`unknown task ${JSON.stringify(task)} for the attribution study; known: ${TASK_NAMES.join(', ')}`);
  }
  if (task === ATTRIBUTION_PRESET.tasks[0]) return ATTRIBUTION_PRESET;
  const onTask = (s: string) => s.replace('collapse on addition', `collapse on ${task}`).replace('; addition only', `; ${task} only`);
  return definePreset({
    ...structuredClone(ATTRIBUTION_PRESET),
    tasks: [task as TaskName],
    description: onTask(ATTRIBUTION_PRESET.description),
    notes: ATTRIBUTION_PRESET.notes.map(onTask),
  } as StudyPresetInput);
}

export const PRESETS: Readonly<Record<PresetName, StudyPreset>> = Object.freeze({
  smoke: SMOKE_PRESET,
  cpu: CPU_PRESET,
  paper: PAPER_PRESET,
  attribution: ATTRIBUTION_PRESET,
});

/** Looks a preset up by name; unknown names get an error listing the known ones. */
export function getPreset(name: string): StudyPreset {
  const p = (PRESETS as Record<string, StudyPreset>)[name];
  if (!p) throw new StudyError(`unknown study preset ${JSON.stringify(name)}; known: ${PRESET_NAMES.join(', ')}`);
  return p;
}

/** One training run of a study grid. */
export interface GridRun {
  /** `<model>-<task>-s<seed>`: the run's folder name under `runs/`. */
  readonly id: string;
  readonly model: ModelName;
  readonly task: TaskName;
  readonly seed: number;
}

/** Narrows the grid; each list replaces the preset's (any known model / task, any seed). */
export interface GridFilter {
  readonly models?: readonly string[];
  readonly tasks?: readonly string[];
  readonly seeds?: readonly number[];
}

export function runId(model: string, task: string, seed: number): string {
  return `${model}-${task}-s${seed}`;
}

function pick<T extends string>(what: string, given: readonly string[] | undefined, fallback: readonly T[], known: readonly T[]): T[] {
  if (given === undefined) return [...fallback];
  if (given.length === 0) throw new StudyError(`--${what}: give at least one`);
  for (const g of given) {
    if (!(known as readonly string[]).includes(g)) throw new StudyError(`unknown ${what.replace(/s$/, '')} ${JSON.stringify(g)}; known: ${known.join(', ')}`);
  }
  return [...new Set(given)] as T[];
}

/** The resolved lists of a grid: the preset's, replaced by the filter's where given. */
export function gridAxes(preset: StudyPreset, filter: GridFilter = {}): { models: ModelName[]; tasks: TaskName[]; seeds: number[] } {
  const models = pick('models', filter.models, preset.models, MODEL_NAMES);
  const tasks = pick('tasks', filter.tasks, preset.tasks, TASK_NAMES);
  let seeds = [...preset.seeds];
  if (filter.seeds !== undefined) {
    if (filter.seeds.length === 0) throw new StudyError('--seeds: give at least one');
    for (const s of filter.seeds) if (!Number.isInteger(s) || s < 0) throw new StudyError(`invalid seed ${s}: a non-negative integer`);
    seeds = [...new Set(filter.seeds)];
  }
  if (models.includes('dual-ut') && preset.config.budget % 2 !== 0) {
    throw new StudyError(`dual-ut needs an even budget (2 block passes per step); preset ${preset.name} has ${preset.config.budget}`);
  }
  return { models, tasks, seeds };
}

/**
 * The runs of a study in execution order: seed-major, then task, then model, so that a partly run study
 * already holds one complete ladder per task.
 */
export function resolveGrid(preset: StudyPreset, filter: GridFilter = {}): GridRun[] {
  const { models, tasks, seeds } = gridAxes(preset, filter);
  const runs: GridRun[] = [];
  for (const seed of seeds) for (const task of tasks) for (const model of models) runs.push({ id: runId(model, task, seed), model, task, seed });
  return runs;
}
