/**
 * The seven rungs of the ladder, in order. Each rung is the previous one plus exactly one change; the
 * `Rung` flags below are the switches one implementation (forward.ts) reads.
 */
export const RUNG_NAMES = Object.freeze(['dense', 'iterative', 'iterative-step', 'ut', 'dual-ut', 'dual-nested-ut', 'ar-trm', 'trm-faithful'] as const);
/** The paper's seven rungs (trm-faithful is ours: ar-trm with TRM's training recipe switched on). */
export const PAPER_RUNGS = Object.freeze(RUNG_NAMES.slice(0, 7) as RungName[]);
export type RungName = (typeof RUNG_NAMES)[number];

export interface Rung {
  readonly name: RungName;
  readonly paperName: string;
  /** What this rung changes relative to the rung below it. */
  readonly change: string;
  /** One shared block applied repeatedly (weight tying) instead of N distinct blocks. */
  readonly tied: boolean;
  /** A learned step embedding s_k is added before each application. */
  readonly stepEmbedding: boolean;
  /** How the number of applications is decided: fixed N, Graves ACT, or TRM's binary halting head. */
  readonly halting: 'none' | 'act' | 'binary';
  /** Two streams (answer y, latent z) with learned initial states and a static input x. */
  readonly dualStream: boolean;
  /** Each step is H cycles of {L latent updates, one answer update}; the first H-1 cycles carry no gradient. */
  readonly nested: boolean;
  /** Config defaults this rung sets (the user may still override them); see config.ts for each switch. */
  readonly defaults?: Readonly<{ deepSupervision?: number | 'steps'; haltLoss?: boolean; gradCycles?: 'last' | 'all'; ema?: number }>;
}

export const RUNGS: Readonly<Record<RungName, Rung>> = Object.freeze({
  dense: {
    name: 'dense',
    paperName: 'Dense Transformer',
    change: 'baseline: N distinct (untied) blocks applied once each',
    tied: false,
    stepEmbedding: false,
    halting: 'none',
    dualStream: false,
    nested: false,
  },
  iterative: {
    name: 'iterative',
    paperName: 'Iterative Transformer',
    change: 'weight tying: one shared block applied N times',
    tied: true,
    stepEmbedding: false,
    halting: 'none',
    dualStream: false,
    nested: false,
  },
  'iterative-step': {
    name: 'iterative-step',
    paperName: 'Iterative Step Transformer',
    change: 'adds a learned step embedding s_k before each application (index clamped when run longer)',
    tied: true,
    stepEmbedding: true,
    halting: 'none',
    dualStream: false,
    nested: false,
  },
  ut: {
    name: 'ut',
    paperName: 'Universal Transformer',
    change: 'adds per-position ACT halting (Graves) with an ACT-weighted sum of states as output',
    tied: true,
    stepEmbedding: true,
    halting: 'act',
    dualStream: false,
    nested: false,
  },
  'dual-ut': {
    name: 'dual-ut',
    paperName: 'Dual UT',
    change: 'two streams: z = f(x + y + z + s_k); y = f(y + z + s_k) per ACT step, ACT on y, full backprop',
    tied: true,
    stepEmbedding: true,
    halting: 'act',
    dualStream: true,
    nested: false,
  },
  'dual-nested-ut': {
    name: 'dual-nested-ut',
    paperName: 'Dual Nested UT',
    change: 'nests H cycles of {L z-updates, one y-update} in each ACT step; y, z detached per step; first H-1 cycles without gradient',
    tied: true,
    stepEmbedding: true,
    halting: 'act',
    dualStream: true,
    nested: true,
  },
  'ar-trm': {
    name: 'ar-trm',
    paperName: 'Autoregressive TRM',
    change: "replaces ACT by TRM's binary halting head on y at position 0; logits from the terminal y; loss = CE only",
    tied: true,
    stepEmbedding: true,
    halting: 'binary',
    dualStream: true,
    nested: true,
  },
  'trm-faithful': {
    name: 'trm-faithful',
    paperName: 'Autoregressive TRM with the TRM recipe (not in the paper)',
    change:
      "ar-trm with what made TRM work: deep supervision (a loss and an optimizer step after every step, (y, z) carried detached), a per-position halting head trained with BCE, gradient through every cycle of a supervised step, EMA weights for evaluation",
    tied: true,
    stepEmbedding: true,
    halting: 'binary',
    dualStream: true,
    nested: true,
    defaults: { deepSupervision: 'steps', haltLoss: true, gradCycles: 'all', ema: 0.999 },
  },
});
