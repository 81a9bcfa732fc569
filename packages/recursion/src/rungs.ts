/**
 * The seven rungs of the ladder, in order. Each rung is the previous one plus exactly one change; the
 * `Rung` switches below are what one implementation (forward.ts) reads. The rungs are named rows of the design
 * space (`SWITCH_VALUES`); a model config's `switches` picks any other row (`rungOf`).
 */
export const RUNG_NAMES = Object.freeze([
  'dense',
  'iterative',
  'iterative-step',
  'ut',
  'dual-ut',
  'dual-nested-ut',
  'ar-trm',
  'trm-faithful',
] as const);
/** The paper's seven rungs (trm-faithful is ours: ar-trm with TRM's training recipe switched on). */
export const PAPER_RUNGS = Object.freeze(RUNG_NAMES.slice(0, 7) as RungName[]);
export type RungName = (typeof RUNG_NAMES)[number];

/**
 * The design space: the structural switches of a rung and the values each takes. Every combination is a model
 * (see `rungConflict` for the one combination refused); the eight named rungs below are rows of it.
 */
export const SWITCH_VALUES = Object.freeze({
  stream: Object.freeze(['single', 'dual', 'nested'] as const),
  tied: Object.freeze([false, true] as const),
  stepEmbedding: Object.freeze([false, true] as const),
  halting: Object.freeze(['none', 'act', 'binary'] as const),
  readout: Object.freeze(['terminal', 'act-weighted'] as const),
});
export type Stream = (typeof SWITCH_VALUES.stream)[number];
export type HaltingKind = (typeof SWITCH_VALUES.halting)[number];
export type Readout = (typeof SWITCH_VALUES.readout)[number];

/** A rung's structural switches: one point of the design space. */
export interface RungSwitches {
  /**
   * The recursion. single: h_k = f(h_{k-1} + s_k) from h = x. dual: two streams (answer y, latent z) with learned
   * initial states and a static input x; per step z = f(x + y + z + s_k); y = f(y + z + s_k); full backprop.
   * nested: each step starts from (y, z) detached and runs H cycles of {L z-updates, one y-update}; the first H-1
   * cycles carry no gradient.
   */
  readonly stream: Stream;
  /** One shared block applied repeatedly (weight tying) instead of a distinct block for every block pass. */
  readonly tied: boolean;
  /** A learned step embedding s_k is added before each application. */
  readonly stepEmbedding: boolean;
  /** How the number of steps is decided: fixed N, Graves ACT per position, or TRM's binary halting head (q > 0;
   *  read at position 0 per sequence, or per position with haltLoss). Read on h (single stream) or y. */
  readonly halting: HaltingKind;
  /** What the head reads: each position's state at the step it stopped ('terminal': the last step without
   *  halting), or the ACT-weighted sum of the states ('act-weighted', ACT only). Unset: follows halting. */
  readonly readout: Readout;
}

export interface Rung extends RungSwitches {
  /** The named rung, or for a combination the named rung it was built from (see `rungOf`). */
  readonly name: RungName;
  readonly paperName: string;
  /** What this rung changes relative to the rung below it (a combination: what it changes on its named rung). */
  readonly change: string;
  /** Two streams (y, z): stream 'dual' or 'nested' (derived from `stream`). */
  readonly dualStream: boolean;
  /** stream 'nested' (derived from `stream`). */
  readonly nested: boolean;
  /** Config defaults this rung sets (the user may still override them); see config.ts for each switch. */
  readonly defaults?: Readonly<{
    deepSupervision?: number | 'steps';
    haltLoss?: boolean;
    gradCycles?: 'last' | 'all';
    ema?: number;
  }>;
}

type RungEntry = Omit<Rung, 'dualStream' | 'nested'>;
const entry = (r: RungEntry): Rung =>
  Object.freeze({ ...r, dualStream: r.stream !== 'single', nested: r.stream === 'nested' });

export const RUNGS: Readonly<Record<RungName, Rung>> = Object.freeze({
  dense: entry({
    name: 'dense',
    paperName: 'Dense Transformer',
    change: 'baseline: N distinct (untied) blocks applied once each',
    stream: 'single',
    tied: false,
    stepEmbedding: false,
    halting: 'none',
    readout: 'terminal',
  }),
  iterative: entry({
    name: 'iterative',
    paperName: 'Iterative Transformer',
    change: 'weight tying: one shared block applied N times',
    stream: 'single',
    tied: true,
    stepEmbedding: false,
    halting: 'none',
    readout: 'terminal',
  }),
  'iterative-step': entry({
    name: 'iterative-step',
    paperName: 'Iterative Step Transformer',
    change: 'adds a learned step embedding s_k before each application (index clamped when run longer)',
    stream: 'single',
    tied: true,
    stepEmbedding: true,
    halting: 'none',
    readout: 'terminal',
  }),
  ut: entry({
    name: 'ut',
    paperName: 'Universal Transformer',
    change: 'adds per-position ACT halting (Graves) with an ACT-weighted sum of states as output',
    stream: 'single',
    tied: true,
    stepEmbedding: true,
    halting: 'act',
    readout: 'act-weighted',
  }),
  'dual-ut': entry({
    name: 'dual-ut',
    paperName: 'Dual UT',
    change: 'two streams: z = f(x + y + z + s_k); y = f(y + z + s_k) per ACT step, ACT on y, full backprop',
    stream: 'dual',
    tied: true,
    stepEmbedding: true,
    halting: 'act',
    readout: 'act-weighted',
  }),
  'dual-nested-ut': entry({
    name: 'dual-nested-ut',
    paperName: 'Dual Nested UT',
    change:
      'nests H cycles of {L z-updates, one y-update} in each ACT step; y, z detached per step; first H-1 cycles without gradient',
    stream: 'nested',
    tied: true,
    stepEmbedding: true,
    halting: 'act',
    readout: 'act-weighted',
  }),
  'ar-trm': entry({
    name: 'ar-trm',
    paperName: 'Autoregressive TRM',
    change: "replaces ACT by TRM's binary halting head on y at position 0; logits from the terminal y; loss = CE only",
    stream: 'nested',
    tied: true,
    stepEmbedding: true,
    halting: 'binary',
    readout: 'terminal',
  }),
  'trm-faithful': entry({
    name: 'trm-faithful',
    paperName: 'Autoregressive TRM with the TRM recipe (not in the paper)',
    change:
      'ar-trm with what made TRM work: deep supervision (a loss and an optimizer step after every step, (y, z) carried detached), a per-position halting head trained with BCE, gradient through every cycle of a supervised step, EMA weights for evaluation',
    stream: 'nested',
    tied: true,
    stepEmbedding: true,
    halting: 'binary',
    readout: 'terminal',
    defaults: { deepSupervision: 'steps', haltLoss: true, gradCycles: 'all', ema: 0.999 },
  }),
});

/** The structural switches of a rung (its row of the design space). */
export function switchesOf(r: RungSwitches): RungSwitches {
  return { stream: r.stream, tied: r.tied, stepEmbedding: r.stepEmbedding, halting: r.halting, readout: r.readout };
}

/**
 * The rung a config describes: its named rung with `switches` set over it. readout, unless set, follows halting
 * ('act-weighted' with ACT, else 'terminal'), as on every named rung. No switch that differs: the named rung itself.
 * Does not validate (see `rungConflict`; defineModelConfig refuses what it reports).
 */
export function rungOf(c: { readonly model: RungName; readonly switches?: Partial<RungSwitches> }): Rung {
  const base = RUNGS[c.model];
  if (!c.switches) return base;
  const halting = c.switches.halting ?? base.halting;
  const readout = c.switches.readout ?? (halting === 'act' ? 'act-weighted' : 'terminal');
  const s: RungSwitches = { ...switchesOf(base), ...c.switches, halting, readout };
  const changed = (Object.keys(s) as (keyof RungSwitches)[]).filter((k) => s[k] !== base[k]);
  if (changed.length === 0) return base;
  const what = changed.map((k) => `${k} ${JSON.stringify(s[k])}`).join(', ');
  return entry({ ...base, ...s, paperName: `${base.paperName} with ${what}`, change: `${base.name} with ${what}` });
}

/**
 * The one structural combination refused, with the switch to change and why: an ACT-weighted readout without ACT
 * (the sum weighs the states by ACT's halting probabilities, which only ACT computes). Every other combination of
 * SWITCH_VALUES builds, trains and is causal (test/design-space.test.ts); untied rungs get one block per block pass.
 */
export function rungConflict(
  s: RungSwitches,
): { readonly switch: keyof RungSwitches; readonly allowed: string } | undefined {
  if (s.readout === 'act-weighted' && s.halting !== 'act') {
    return {
      switch: 'readout',
      allowed: `"terminal" with halting "${s.halting}" (the ACT-weighted sum weighs the states by ACT's halting probabilities; only halting "act" computes them)`,
    };
  }
  return undefined;
}
