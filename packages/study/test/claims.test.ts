import { describe, expect, it } from 'vitest';
import { checkClaims, combine, relationVerdict, type Claim } from '../src/claims.js';
import { atHorizon } from '../src/horizon.js';
import { reportMarkdown } from '../src/report.js';
import type { Metrics, RunResult, StudyResults } from '../src/results.js';
import { defineStudy, type StudyInput } from '../src/schema.js';
import { welchDiffCI } from '../src/stats.js';

const RUNGS = ['dense', 'iterative', 'iterative-step', 'ut', 'dual-ut', 'dual-nested-ut', 'ar-trm'] as const;
type Rung = (typeof RUNGS)[number];
const SEEDS = [1, 2, 3, 4, 5, 6];
const STEPS = [250, 500, 750, 1000];

const studyOf = (over: Partial<StudyInput> = {}) =>
  defineStudy({
    name: 'synthetic',
    arms: RUNGS.map((r) => ({ name: r, rung: r })),
    tasks: [
      { name: 'addition', length: 4, steps: 1000, evalLengths: [4, 6] },
      { name: 'copy', length: 10, steps: 1000, evalLengths: [10, 15] },
    ],
    seeds: SEEDS,
    config: { evalEvery: 250 },
    ...over,
  });

/** One cell's per-seed numbers (fractions): accuracy at step 1000, and what the curve does before it. */
interface CellSpec {
  /** accuracy at the horizon, per seed (a single number: every seed). */
  acc: number | number[];
  /** accuracy at step 250 (the curve is linear from there to `acc`); default: `acc`. */
  start?: number;
  /** [Q1, Q4] at the horizon (default: both equal to acc). */
  q14?: [number, number];
  /** step at which the last digit is right on 90% of problems, per seed (undefined: never; default: never). */
  jump?: number | (number | undefined)[];
  /** accuracy at the longest evaluation length (default 0.05). */
  long?: number;
}

const metrics = (acc: number, q1 = acc, q4 = acc, last = q4): Metrics => ({
  charAcc: acc,
  exactMatch: null,
  firstCharAcc: q1,
  lastCharAcc: last,
  quartiles: [q1, acc, acc, q4],
});
const perSeed = <T>(x: T | T[], i: number): T => (Array.isArray(x) ? x[i]! : x);

function run(arm: Rung, task: 'addition' | 'copy', i: number, spec: CellSpec): RunResult {
  const [L, longL] = task === 'addition' ? ['4', '6'] : ['10', '15'];
  const acc = perSeed(spec.acc, i);
  const start = spec.start ?? acc;
  const jump = spec.jump === undefined ? undefined : perSeed(spec.jump, i);
  const curve = STEPS.map((step) => {
    const a = start + ((acc - start) * (step - 250)) / 750;
    const [q1, q4] = step === 1000 && spec.q14 ? spec.q14 : [a, a];
    const last = jump !== undefined && step >= jump ? 0.9 : 0.1;
    return {
      step,
      loss: 1,
      wallSeconds: step,
      evals: { [L]: metrics(a, q1, q4, last), [longL]: metrics(spec.long ?? 0.05) },
    };
  });
  const seed = SEEDS[i]!;
  return {
    id: `${arm}-${task}-s${seed}`,
    arm,
    rung: arm,
    task,
    seed,
    status: 'finished',
    backend: 'node',
    config: null,
    params: 1,
    blockPasses: 12,
    tokensPerSecond: 1,
    wallSeconds: 1,
    lastStep: 1000,
    final: curve[3]!.evals,
    curve,
  };
}

type Spec = Partial<Record<Rung, CellSpec>>;

function results(addition: Spec, copy: Spec = {}, over: Partial<StudyInput> = {}): StudyResults {
  const study = studyOf(over);
  const runs = [
    ...Object.entries(addition).flatMap(([arm, s]) => study.seeds.map((_, i) => run(arm as Rung, 'addition', i, s!))),
    ...Object.entries(copy).flatMap(([arm, s]) => study.seeds.map((_, i) => run(arm as Rung, 'copy', i, s!))),
  ];
  return {
    schema: 'tarm-study-results',
    version: 2,
    generatedAt: 'now',
    study,
    createdAt: 'then',
    wallSeconds: 1,
    sessions: [],
    runs,
  };
}

const spread = (x: number) => SEEDS.map((_, i) => x + (i % 3) * 0.005);
/** The paper's pattern at a regime-matched horizon, with clear gaps between the rungs. */
const PAPER_LIKE: Spec = {
  'dual-ut': { acc: spread(0.9), start: 0.4, q14: [0.97, 0.7], jump: 250 },
  dense: { acc: spread(0.8), start: 0.35, q14: [0.97, 0.9], jump: 750 },
  ut: { acc: spread(0.66), start: 0.3, q14: [0.95, 0.2] },
  'iterative-step': { acc: spread(0.56), start: 0.3, q14: [0.9, 0.2] },
  iterative: { acc: spread(0.55), start: 0.3, q14: [0.9, 0.15] },
  'dual-nested-ut': { acc: spread(0.2) },
  'ar-trm': { acc: spread(0.19) },
};
const COPY_LIKE: Spec = {
  dense: { acc: 1 },
  'dual-ut': { acc: 1 },
  'dual-nested-ut': { acc: spread(0.12) },
  'ar-trm': { acc: spread(0.11) },
};

const byId = (cs: Claim[], id: Claim['id']) => cs.find((c) => c.id === id)!;
const part = (c: Claim, prefix: string) => c.parts.find((p) => p.text.startsWith(prefix))!;

describe('relation verdicts and combining parts', () => {
  it('> : above 0 supported, below 0 contradicted, straddling undecided; >= and ~ use the 5-point margin', () => {
    expect(relationVerdict(welchDiffCI([0.9, 0.91, 0.92], [0.5, 0.51, 0.52]), '>')).toBe('supported');
    expect(relationVerdict(welchDiffCI([0.5, 0.51, 0.52], [0.9, 0.91, 0.92]), '>')).toBe('contradicted');
    expect(relationVerdict(welchDiffCI([0.5, 0.9, 0.7], [0.6, 0.7, 0.8]), '>')).toBe('undecided');
    expect(relationVerdict(welchDiffCI([0.8, 0.81, 0.82], [0.82, 0.83, 0.84]), '>=')).toBe('supported');
    expect(relationVerdict(welchDiffCI([0.8, 0.81, 0.82], [0.8, 0.81, 0.82]), '~')).toBe('supported');
  });

  it('any contradicted part contradicts; a not-testable part keeps a claim from being supported', () => {
    const p = (verdict: Claim['verdict']) => ({ verdict, text: '' });
    expect(combine([p('supported'), p('contradicted')])).toBe('contradicted');
    expect(combine([p('supported'), p('supported')])).toBe('supported');
    expect(combine([p('supported'), p('not testable')])).toBe('undecided');
    expect(combine([p('not testable')])).toBe('not testable');
    expect(combine([])).toBe('not testable');
  });
});

describe('checkClaims at matched compute', () => {
  it('the paper pattern at a regime-matched horizon supports C1-C5', () => {
    const cs = checkClaims(results(PAPER_LIKE, COPY_LIKE));
    for (const c of cs.filter((x) => x.id !== 'C2'))
      expect(c.verdict, `${c.id}: ${c.parts.map((x) => x.text).join(' | ')}`).toBe('supported');
    // C2 needs a flat reference that has learned the task: at a mid-learning horizon dense (80%) has not, on addition
    const c2 = byId(cs, 'C2');
    expect(part(c2, 'dual-nested-ut on copy').verdict).toBe('supported');
    expect(part(c2, 'ar-trm on addition').verdict).toBe('not testable');
    expect(part(c2, 'ar-trm on addition').text).toContain('the flat reference learns addition on 0/6 seeds only');
    expect(c2.verdict).toBe('undecided');
    expect(byId(cs, 'C1').summary).toBe(
      'at step 1000: dual-ut 90.5 > dense 80.5 > ut 66.5 > iterative-step 56.5 > iterative 55.5',
    );
    expect(byId(cs, 'C1').seeds).toBe(6);
  });

  it('the ceiling guard: two arms at >= 95% are "not testable", never "supported"', () => {
    const cs = checkClaims(
      results(
        {
          ...PAPER_LIKE,
          'dual-ut': { acc: spread(0.99), start: 0.4, jump: 250 },
          dense: { acc: spread(0.98), start: 0.35, jump: 750 },
        },
        COPY_LIKE,
      ),
    );
    const c1 = byId(cs, 'C1');
    expect(part(c1, 'dual-ut >= dense').verdict).toBe('not testable');
    expect(part(c1, 'dual-ut >= dense').text).toContain('not testable: both at or above 95.0% at step 1000');
    expect(c1.verdict).toBe('undecided');
  });

  it('where the area under the curve opposes the horizon accuracy, the part is undecided', () => {
    // dense ends above ut but was far below it all along
    const cs = checkClaims(
      results(
        { ...PAPER_LIKE, dense: { acc: spread(0.8), start: 0.1 }, ut: { acc: spread(0.7), start: 0.7 } },
        COPY_LIKE,
      ),
    );
    const p = part(byId(cs, 'C1'), 'dense > ut');
    expect(p.verdict).toBe('undecided');
    expect(p.text).toContain('the two statistics disagree');
  });

  it('a claim the study cannot test says so in one line', () => {
    const cs = checkClaims(
      results({}, COPY_LIKE, { tasks: [{ name: 'copy', length: 10, steps: 1000, evalLengths: [10, 15] }] }),
    );
    for (const id of ['C1', 'C3', 'C4'] as const) {
      expect(byId(cs, id).verdict).toBe('not testable');
      expect(byId(cs, id).summary).toBe('no addition task in this study');
      expect(byId(cs, id).parts).toHaveLength(0);
    }
    const md = reportMarkdown(
      results({}, COPY_LIKE, { tasks: [{ name: 'copy', length: 10, steps: 1000, evalLengths: [10, 15] }] }),
    );
    expect(md).toContain('| C1 | **not testable at this scale** | no addition task in this study | - |');
  });

  it('fewer finished seeds than minSeeds: not testable; claims read the seed prefix every arm finished', () => {
    expect(byId(checkClaims(results(PAPER_LIKE, COPY_LIKE, { minSeeds: 8 })), 'C1').verdict).toBe('not testable');
    const r = results(PAPER_LIKE, COPY_LIKE);
    const dropped = {
      ...r,
      runs: r.runs.map((x) => (x.id === 'ut-addition-s4' ? { ...x, status: 'incomplete' as const } : x)),
    };
    const c1 = byId(checkClaims(dropped), 'C1');
    expect(c1.seeds).toBe(3);
    expect(part(c1, 'dense > ut').text).not.toContain('(s5)');
  });

  it('a run trained past its task steps is read at the horizon: its later evaluations enter no claim', () => {
    const r = results(PAPER_LIKE, COPY_LIKE);
    const runs = r.runs.map((x) => {
      if (x.arm !== 'iterative' || x.task !== 'addition') return x;
      const late = { ...x.curve[3]!, step: 1250, evals: { '4': metrics(0.99), '6': metrics(0.05) } };
      return { ...x, curve: [...x.curve, late], lastStep: 1250, final: late.evals };
    });
    const extended = { ...r, runs };
    expect(atHorizon(extended).runs.find((x) => x.id === 'iterative-addition-s1')!.final['4']!.charAcc).toBeCloseTo(
      0.55,
    );
    expect(byId(checkClaims(extended), 'C1').verdict).toBe('supported');
    const md = reportMarkdown(extended);
    expect(md).toContain('## To convergence (not compute-matched; no claim reads it)');
    expect(md).toContain('99.0 (s1, 1250 steps)');
  });

  it('C2: counts with exact intervals and Fisher against dense', () => {
    const learns: Spec = { ...COPY_LIKE, 'dual-nested-ut': { acc: [1, 1, 1, 1, 0.1, 0.1] } };
    const p = part(byId(checkClaims(results(PAPER_LIKE, learns)), 'C2'), 'dual-nested-ut on copy');
    expect(p.verdict).toBe('contradicted');
    // scipy.stats.fisher_exact([[4, 2], [6, 0]]).pvalue = 0.4545...; binomtest(4, 6) exact CI [22.3, 95.7]%
    expect(p.text).toContain("4/6 [22.3, 95.7]% of seeds vs dense 6/6 [54.1, 100.0]%, Fisher's exact p = 0.455");
    const one = part(
      byId(checkClaims(results(PAPER_LIKE, { ...COPY_LIKE, 'ar-trm': { acc: [1, 0.1, 0.1, 0.1, 0.1, 0.1] } })), 'C2'),
      'ar-trm on copy',
    );
    expect(one.verdict).toBe('undecided'); // 1/6 vs 6/6: Fisher p = 0.015, a partial collapse
    expect(one.text).toContain('p = 0.015');
    const flatFails = part(
      byId(checkClaims(results(PAPER_LIKE, { ...COPY_LIKE, dense: { acc: 0.5 } })), 'C2'),
      'ar-trm on copy',
    );
    expect(flatFails.verdict).toBe('not testable');
  });

  it('C3: a tied rung whose last digits are learned contradicts it', () => {
    const cs = checkClaims(
      results({ ...PAPER_LIKE, ut: { acc: spread(0.66), start: 0.3, q14: [0.95, 0.97] } }, COPY_LIKE),
    );
    expect(part(byId(cs, 'C3'), 'ut').verdict).toBe('contradicted');
    expect(byId(cs, 'C3').verdict).toBe('contradicted');
  });

  it('C4: time to event with a log-rank test; dense first contradicts it, equal times leave it undecided', () => {
    const swapped = checkClaims(
      results(
        {
          ...PAPER_LIKE,
          'dual-ut': { ...PAPER_LIKE['dual-ut']!, jump: 750 },
          dense: { ...PAPER_LIKE.dense!, jump: 250 },
        },
        COPY_LIKE,
      ),
    );
    expect(byId(swapped, 'C4').verdict).toBe('contradicted');
    const tied = checkClaims(
      results(
        {
          ...PAPER_LIKE,
          'dual-ut': { ...PAPER_LIKE['dual-ut']!, jump: 500 },
          dense: { ...PAPER_LIKE.dense!, jump: 500 },
        },
        COPY_LIKE,
      ),
    );
    expect(byId(tied, 'C4').verdict).toBe('undecided');
    const censored = checkClaims(
      results({ ...PAPER_LIKE, dense: { ...PAPER_LIKE.dense!, jump: undefined } }, COPY_LIKE),
    );
    expect(byId(censored, 'C4').summary).toContain('dense > 1000');
    expect(byId(censored, 'C4').verdict).toBe('supported');
  });
});

describe('the report', () => {
  it('opens with the Claims table, ends with the rules, and clamps every interval to [0, 100]', () => {
    const bimodal: Spec = { ...COPY_LIKE, 'dual-nested-ut': { acc: [1, 1, 1, 0.1, 0.1, 0.1] } };
    const md = reportMarkdown(results(PAPER_LIKE, bimodal));
    expect(md.indexOf('## Claims')).toBeLessThan(md.indexOf('## Configuration'));
    expect(md).toContain('| claim | verdict | the number behind it | seeds per arm |');
    expect(
      md
        .trimEnd()
        .split('\n')
        .filter((l) => l.startsWith('## '))
        .at(-1),
    ).toBe('## How claims are judged');
    const numbers = [...md.matchAll(/\[(-?[\d.]+), (-?[\d.]+)\]/g)].flatMap((m) => [Number(m[1]), Number(m[2])]);
    expect(numbers.length).toBeGreaterThan(0);
    // signed differences may be negative; rates and accuracies never leave [0, 100]
    for (const line of md.split('\n').filter((l) => l.includes('] of seeds') || l.startsWith('| dual-nested-ut |'))) {
      for (const m of line.matchAll(/\[([\d.]+), ([\d.]+)\]/g)) expect(Number(m[2])).toBeLessThanOrEqual(100);
    }
    expect(md).toContain('## Compute per arm');
  });
});
