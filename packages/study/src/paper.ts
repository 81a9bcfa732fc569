import type { RungName } from '@tarm/recursion';

type ModelName = RungName;
type TaskName = 'addition' | 'copy' | 'reverse';

/**
 * The published numbers (paper.md, "Published results"), in percent. Character accuracy at L = 10, budget 24,
 * final step (5000); a missing entry was not published. Models that are not in the paper (trm-faithful) have no
 * entry at all: read it through {@link paperHeadline}.
 */
export const PAPER_HEADLINE: Readonly<Partial<Record<ModelName, Readonly<Partial<Record<TaskName, number>>>>>> =
  Object.freeze({
    dense: Object.freeze({ addition: 79.9, copy: 100, reverse: 100 }),
    iterative: Object.freeze({ addition: 54 }),
    'iterative-step': Object.freeze({ addition: 56 }),
    ut: Object.freeze({ addition: 65.8, copy: 100, reverse: 100 }),
    'dual-ut': Object.freeze({ addition: 83 }),
    'dual-nested-ut': Object.freeze({ addition: 14 }),
    'ar-trm': Object.freeze({ addition: 12.5, copy: 11.0, reverse: 10.0 }),
  });

/** The published character accuracy (percent) of a cell, or undefined when not published. */
export function paperHeadline(model: string, task: string): number | undefined {
  return (PAPER_HEADLINE as Record<string, Partial<Record<string, number>>>)[model]?.[task];
}

/**
 * What the paper says about addition accuracy by answer quartile (Q1 = most significant digits), in percent.
 * `quartiles` are approximate values read from its figure; `q4Range` is a range given for a group of models;
 * `summary` is the statement in words.
 */
export interface PaperQuartiles {
  readonly quartiles?: readonly [number, number, number, number];
  readonly q4Range?: readonly [number, number];
  readonly summary: string;
}

export const PAPER_ADDITION_QUARTILES: Readonly<Partial<Record<ModelName, PaperQuartiles>>> = Object.freeze({
  dense: Object.freeze({ quartiles: Object.freeze([97, 64, 68, 96] as const), summary: '~97/64/68/96' }),
  'dual-ut': Object.freeze({ quartiles: Object.freeze([97, 98, 74, 70] as const), summary: '~97/98/74/70' }),
  iterative: Object.freeze({
    q4Range: Object.freeze([10, 37] as const),
    summary: 'learns the early digits, fails the last (Q4 10-37)',
  }),
  'iterative-step': Object.freeze({
    q4Range: Object.freeze([10, 37] as const),
    summary: 'learns the early digits, fails the last (Q4 10-37)',
  }),
  ut: Object.freeze({
    q4Range: Object.freeze([10, 37] as const),
    summary: 'learns the early digits, fails the last (Q4 10-37)',
  }),
  'dual-nested-ut': Object.freeze({ summary: 'near chance everywhere' }),
  'ar-trm': Object.freeze({ summary: 'near chance everywhere' }),
});

/** Steps at which the last addition digit is learned (a phase transition); the other rungs never cross it. */
export const PAPER_LAST_DIGIT_TRANSITION: Readonly<Partial<Record<ModelName, number>>> = Object.freeze({
  'dual-ut': 1600,
  dense: 4100,
});

/** Chance level of character accuracy (percent): 10 digits. */
export const PAPER_CHANCE = 10;

/** "within N points" threshold of the report's agreement section. */
export const AGREEMENT_POINTS = 5;
