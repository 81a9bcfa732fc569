/** The shape of results.json: what the report reads, validated (results.ts collects it from the run folders). */
import { z } from 'zod';
import { BACKEND_NAMES } from '@tarm/core';
import { StudySchema } from './schema.js';
import { SessionSchema } from './study-file.js';

/** A fraction in [0, 1], or null where nothing was measured (NaN in the run, e.g. an empty quartile). */
const Fraction = z.number().nullable();

/** Answer metrics of one evaluation at one length (fractions). */
export const MetricsSchema = z.object({
  charAcc: Fraction,
  exactMatch: Fraction,
  firstCharAcc: Fraction,
  lastCharAcc: Fraction,
  quartiles: z.tuple([Fraction, Fraction, Fraction, Fraction]),
});
export type Metrics = z.output<typeof MetricsSchema>;

/** Metrics per evaluation length, keyed by the length as a string ("10"). */
export const EvalsSchema = z.record(z.string().regex(/^\d+$/), MetricsSchema);
export type Evals = z.output<typeof EvalsSchema>;

export const CurvePointSchema = z.object({
  step: z.int().min(0),
  loss: z.number().nullable(),
  wallSeconds: z.number().nullable(),
  evals: EvalsSchema,
});
export type CurvePoint = z.output<typeof CurvePointSchema>;

/**
 * `finished`: summary.json exists. `failed`: the last attempt exited non-zero. `incomplete`: started and
 * interrupted (or still running). `pending`: never started.
 */
export const RUN_RESULT_STATUSES = ['finished', 'failed', 'incomplete', 'pending'] as const;

export const RunResultSchema = z.object({
  id: z.string(),
  arm: z.string(),
  rung: z.string(),
  task: z.string(),
  seed: z.int().min(0),
  status: z.enum(RUN_RESULT_STATUSES),
  /** The backend the run trained on (from its config.json); null before it started. */
  backend: z.enum(BACKEND_NAMES).nullable(),
  /** The run's config.json as `tarm train` wrote it (its format belongs to the CLI); null if none. */
  config: z.record(z.string(), z.unknown()).nullable(),
  params: z.number().nullable(),
  blockPasses: z.number().nullable(),
  tokensPerSecond: z.number().nullable(),
  wallSeconds: z.number().nullable(),
  /** Last step with an evaluation. */
  lastStep: z.int().nullable(),
  /** Metrics of the final evaluation (for unfinished runs: the last one so far). */
  final: EvalsSchema,
  /** Every evaluation, in step order. */
  curve: z.array(CurvePointSchema),
  /** Stderr tail of a failed run. */
  error: z.string().optional(),
  /** The final checkpoint decoded by sampling at temperature 1 (the paper's decoding), where the run folder has it. */
  sampled: EvalsSchema.optional(),
  /** The CPU kind its last session trained on (summary.json; absent for runs finished before it was recorded). */
  cpu: z.string().optional(),
});
export type RunResult = z.output<typeof RunResultSchema>;

/** results.json: everything the report needs, so `tarm report` works from it alone. */
export const StudyResultsSchema = z.object({
  schema: z.literal('tarm-study-results'),
  version: z.literal(2),
  generatedAt: z.string(),
  /** The resolved study file of the folder. */
  study: StudySchema,
  createdAt: z.string(),
  /** Wall time over every session of the study. */
  wallSeconds: z.number(),
  sessions: z.array(SessionSchema),
  runs: z.array(RunResultSchema),
});
export type StudyResults = z.output<typeof StudyResultsSchema>;

export const RESULTS_FILE = 'results.json';
