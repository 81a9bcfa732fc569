import { z } from 'zod';
import { configDefiner, setting, settingsShape } from '@tarm/core/internal';
import {
  RUNG_NAMES,
  RUNGS,
  SWITCH_VALUES,
  rungConflict,
  rungOf,
  type Rung,
  type RungName,
  type RungSwitches,
} from './rungs.js';

/** ACT's halting threshold (Graves): a position halts once its cumulative halting probability exceeds it. */
const ACT_THRESHOLD = 1 - 1e-6;
/** TRM's exploration in training: the probability of forcing a random minimum number of binary-halting steps. */
const HALT_EXPLORATION = 0.25;

/** Structural switches set over a named rung (rungs.ts, SWITCH_VALUES), each optional; for study files too. */
export const RungSwitchesSchema = z.strictObject({
  stream: z.enum(SWITCH_VALUES.stream).optional(),
  tied: z.boolean().optional(),
  stepEmbedding: z.boolean().optional(),
  halting: z.enum(SWITCH_VALUES.halting).optional(),
  readout: z.enum(SWITCH_VALUES.readout).optional(),
});

/**
 * The model's settings, each declared once (schema, default, meaning; @tarm/core `Setting`): the CLI's flags of
 * `tarm train` and the study file's keys are made from this table. Defaults are the paper's (C = 384, 6 heads,
 * budget 24 block passes, dropout 0.1).
 */
export const MODEL_SETTINGS = {
  model: setting({ schema: z.enum(RUNG_NAMES).default('dense'), doc: 'the rung of the ladder', arg: 'rung' }),
  switches: setting({
    schema: RungSwitchesSchema.optional(),
    doc: 'structural switches over the rung, any row of the design space (stream, tied, stepEmbedding, halting, readout; rungs.ts), e.g. halting "binary" on dual-ut; unset: the named rung; readout, unless set, follows halting',
  }),
  vocabSize: setting({ schema: z.int().min(2).default(14), doc: 'characters in the vocabulary (the paper: 14)' }),
  contextLength: setting({
    schema: z.int().min(1).default(180),
    doc: 'learned absolute positions (the paper: 180, enough for addition at length 50)',
  }),
  dModel: setting({ schema: z.int().min(1).default(384), doc: 'C, the residual width', arg: 'C' }),
  nHeads: setting({
    schema: z.int().min(1).default(6),
    doc: 'attention heads (a divisor of dModel)',
    arg: 'n',
    alias: 'heads',
  }),
  budget: setting({
    schema: z.int().min(1).default(24),
    doc: "compute budget (the paper's B) in block passes: applications of f per forward pass, at most",
    arg: 'B',
  }),
  dropout: setting({ schema: z.number().min(0).max(0.99).default(0.1), doc: 'dropout rate', arg: 'p' }),
  outer: setting({
    schema: z.int().min(1).optional(),
    doc: 'nested rungs: H, cycles per step (with inner); overrides the budget solver',
    arg: 'H',
  }),
  inner: setting({
    schema: z.int().min(1).optional(),
    doc: 'nested rungs: L, latent (z) updates per cycle, not the problem length (with outer)',
    arg: 'L',
  }),
  ponderWeight: setting({
    schema: z.number().min(0).default(0),
    doc: "ACT's ponder-cost weight (the paper's runs: 0); halting act only",
    arg: 'w',
  }),
  actThreshold: setting({
    schema: z.number().gt(0).max(1).default(ACT_THRESHOLD),
    doc: "ACT's halting threshold (Graves): a position halts once its cumulative halting probability exceeds it",
    arg: 'x',
  }),
  haltExploration: setting({
    schema: z.number().min(0).max(1).default(HALT_EXPLORATION),
    doc: "binary halting: the probability, in training, of forcing a random minimum number of steps (TRM's exploration)",
    arg: 'p',
  }),
  deepSupervision: setting({
    schema: z.int().min(0).optional(),
    doc: "nested rungs: TRM's deep supervision, the steps split into this many supervised segments, a loss and an optimizer step after each, (y, z) carried detached; 1 = off (the paper), 0 = one segment per step (trm-faithful)",
    arg: 'N',
  }),
  haltLoss: setting({
    schema: z.boolean().optional(),
    doc: 'binary-halting rungs: train the halting head, read at every position, with BCE against "this position\'s prediction is correct" (weight haltLossWeight); off in the paper (trm-faithful: on)',
  }),
  haltLossWeight: setting({ schema: z.number().min(0).default(0.5), doc: 'the halting BCE loss weight', arg: 'w' }),
  gradCycles: setting({
    schema: z.enum(['last', 'all']).optional(),
    doc: 'nested rungs: gradient through the last cycle of a supervised step only (the paper) or through all H (trm-faithful)',
    arg: 'last|all',
  }),
} as const;

/**
 * Model configuration (MODEL_SETTINGS). `defineModelConfig` validates, rejects unknown keys, refuses the
 * combinations the ladder cannot run and freezes; the result is JSON and is saved with every run.
 */
export const ModelConfigSchema = z
  .strictObject(settingsShape(MODEL_SETTINGS))
  .refine((c) => c.dModel % c.nHeads === 0, { path: ['nHeads'], message: 'a divisor of dModel' })
  .refine((c) => (c.outer === undefined) === (c.inner === undefined), {
    path: ['outer'],
    message: 'outer and inner given together',
  })
  .superRefine((c, ctx) => {
    const bad = combinationIssue(c);
    if (bad) ctx.addIssue({ code: 'custom', path: bad.path, message: bad.allowed, input: c });
  })
  .transform((c) => {
    // fill the rung's defaults for switches the user left unset ('steps' is resolved by the budget solver)
    const d = RUNGS[c.model].defaults ?? {};
    return {
      ...c,
      deepSupervision: c.deepSupervision ?? (d.deepSupervision === 'steps' ? 0 : (d.deepSupervision ?? 1)),
      haltLoss: c.haltLoss ?? d.haltLoss ?? false,
      gradCycles: c.gradCycles ?? d.gradCycles ?? 'last',
    };
  });

export type ModelConfigInput = z.input<typeof ModelConfigSchema>;
/** deepSupervision 0 means "one segment per step" (resolved by solveBudget). */
export type ModelConfig = Readonly<z.output<typeof ModelConfigSchema>>;

const parseModelConfig = configDefiner(ModelConfigSchema);
/** Validates a model config (a resolved config passes through unchanged: defining is idempotent). */
export function defineModelConfig(input: ModelConfigInput | ModelConfig): ModelConfig {
  return parseModelConfig(input as ModelConfigInput);
}

/**
 * The training switches that only some rungs can use: the config key, its value when off, what the rung must have
 * for any other value, and why (the refusal's message).
 */
const TRAINING_SWITCHES = [
  {
    key: 'deepSupervision',
    off: 1,
    needs: (r: Rung) => r.stream === 'nested',
    blame: 'stream',
    allowed:
      '1 unless the stream is "nested" (dual-nested-ut, ar-trm, trm-faithful): segments carry (y, z) detached, and only nested steps start from a detached (y, z); single and dual streams backpropagate through every step',
  },
  {
    key: 'gradCycles',
    off: 'last',
    needs: (r: Rung) => r.stream === 'nested',
    blame: 'stream',
    allowed:
      '"last" unless the stream is "nested" (only nested steps have H cycles; single and dual streams backpropagate through every pass)',
  },
  {
    key: 'ponderWeight',
    off: 0,
    needs: (r: Rung) => r.halting === 'act',
    blame: 'halting',
    allowed: '0 unless halting is "act" (ut, dual-ut, dual-nested-ut): the ponder cost is ACT\'s',
  },
  {
    key: 'actThreshold',
    off: ACT_THRESHOLD,
    needs: (r: Rung) => r.halting === 'act',
    blame: 'halting',
    allowed: '1 - 1e-6 unless halting is "act" (ut, dual-ut, dual-nested-ut): it is ACT\'s halting threshold',
  },
  {
    key: 'haltExploration',
    off: HALT_EXPLORATION,
    /** 0 (no exploration) is off too, whatever the halting (the parity fixtures set it on every rung). */
    alsoOff: 0,
    needs: (r: Rung) => r.halting === 'binary',
    blame: 'halting',
    allowed: `${HALT_EXPLORATION} (the default) or 0 unless halting is "binary" (ar-trm, trm-faithful): it forces a random number of binary-halting steps in training`,
  },
  {
    key: 'haltLoss',
    off: false,
    needs: (r: Rung) => r.halting === 'binary',
    blame: 'halting',
    allowed: 'false unless halting is "binary" (ar-trm, trm-faithful): it trains the binary halting head',
  },
] as const;

type Unresolved = {
  readonly model: RungName;
  readonly switches?: Partial<RungSwitches>;
  readonly deepSupervision?: number;
  readonly haltLoss?: boolean;
  readonly gradCycles?: 'last' | 'all';
  readonly ponderWeight?: number;
  readonly actThreshold?: number;
  readonly haltExploration?: number;
};

/**
 * Why a config's combination of switches is refused, as the field to change and what it allows (undefined: the
 * combination works). The structural switches (rungConflict), then each training switch against the rung: a value
 * the user set names its own key; a default of the named rung (trm-faithful's recipe) that no longer fits names the
 * switch that broke it.
 */
function combinationIssue(c: Unresolved): { path: (string | number)[]; allowed: string } | undefined {
  const rung = rungOf(c);
  const structural = rungConflict(rung);
  if (structural) return { path: ['switches', structural.switch], allowed: structural.allowed };
  const d: Partial<Record<string, unknown>> = RUNGS[c.model].defaults ?? {};
  for (const t of TRAINING_SWITCHES) {
    if (t.needs(rung)) continue;
    const given = c[t.key];
    if (given !== undefined && given !== t.off && !('alsoOff' in t && given === t.alsoOff))
      return { path: [t.key], allowed: t.allowed };
    const dflt = t.key === 'deepSupervision' && d.deepSupervision === 'steps' ? 0 : d[t.key];
    if (given === undefined && dflt !== undefined && dflt !== t.off) {
      const was = RUNGS[c.model][t.blame];
      return {
        path: ['switches', t.blame],
        allowed: `${JSON.stringify(was)} for ${c.model}, whose recipe sets ${t.key} ${JSON.stringify(dflt)}; or also set ${t.key}: ${JSON.stringify(t.off)} (${t.allowed})`,
      };
    }
  }
  return undefined;
}
