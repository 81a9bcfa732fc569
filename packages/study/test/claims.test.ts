import { describe, expect, it } from 'vitest';
import { checkClaims, combine, relationVerdict, transitionStep, type Claim } from '../src/claims.js';
import { isStillRising, lastChange, lateWindow } from '../src/plateau.js';
import { reportMarkdown } from '../src/report.js';
import type { Metrics, RunResult, StudyResults } from '../src/results.js';
import { defineStudy } from '../src/schema.js';
import { welchDiffCI } from '../src/stats.js';

const RUNGS = ['dense', 'iterative', 'iterative-step', 'ut', 'dual-ut', 'dual-nested-ut', 'ar-trm'] as const;
const SEEDS = [1, 2, 3];

const study = defineStudy({
  name: 'synthetic',
  arms: RUNGS.map((r) => ({ name: r, rung: r })),
  tasks: [
    { name: 'addition', length: 4, steps: 1000, evalLengths: [4, 6] },
    { name: 'copy', length: 10, steps: 1000, evalLengths: [10, 15] },
  ],
  seeds: SEEDS,
  config: { evalEvery: 250 },
});

/** One cell's per-seed numbers: final accuracy (fractions) and what the synthetic curve does. */
interface CellSpec {
  acc: number[];
  /** accuracy at the longest evaluation length (default: 0.1). */
  long?: number[];
  /** [Q1, Q4] per seed (default: both equal to acc). */
  q14?: [number, number][];
  /** step at which the last digit jumps to 0.9, per seed (undefined: never). */
  jump?: (number | undefined)[];
  /** the previous evaluation's accuracy is acc - rise (default 0: a plateau). */
  rise?: number;
  /** instead: a straight climb, acc - climb at step 250 up to acc at step 1000. */
  climb?: number;
}

const metrics = (acc: number, q1 = acc, q4 = acc, last = q4): Metrics => ({ charAcc: acc, exactMatch: null, firstCharAcc: q1, lastCharAcc: last, quartiles: [q1, acc, acc, q4] });

function run(arm: string, task: 'addition' | 'copy', seedIndex: number, spec: CellSpec): RunResult {
  const t = study.tasks.find((x) => x.name === task)!;
  const [L, longL] = [t.length!, Math.max(...t.evalLengths!)];
  const acc = spec.acc[seedIndex]!;
  const [q1, q4] = spec.q14?.[seedIndex] ?? [acc, acc];
  const jump = spec.jump?.[seedIndex];
  const curve = [250, 500, 750, 1000].map((step) => {
    const a = spec.climb !== undefined ? acc - (spec.climb * (1000 - step)) / 750 : step === 1000 ? acc : acc - (spec.rise ?? 0);
    const last = jump !== undefined && step >= jump ? 0.9 : 0.1;
    return { step, loss: 1, wallSeconds: step, evals: { [String(L)]: metrics(a, q1, q4, last), [String(longL)]: metrics(spec.long?.[seedIndex] ?? 0.1) } };
  });
  const seed = SEEDS[seedIndex]!;
  return { id: `${arm}-${task}-s${seed}`, arm, rung: arm, task, seed, status: 'finished', backend: 'node', config: null, params: 1, blockPasses: 12, tokensPerSecond: 1, wallSeconds: 1, lastStep: 1000, final: curve[3]!.evals, curve };
}

type Spec = Partial<Record<(typeof RUNGS)[number], CellSpec>>;

function results(addition: Spec, copy: Spec = {}): StudyResults {
  const runs = [
    ...Object.entries(addition).flatMap(([arm, s]) => SEEDS.map((_, i) => run(arm, 'addition', i, s!))),
    ...Object.entries(copy).flatMap(([arm, s]) => SEEDS.map((_, i) => run(arm, 'copy', i, s!))),
  ];
  return { schema: 'tarm-study-results', version: 2, generatedAt: 'now', study, createdAt: 'then', wallSeconds: 1, sessions: [], runs };
}

/** The paper's pattern, clearly: every claim should be supported. */
const PAPER_LIKE: Spec = {
  'dual-ut': { acc: [0.97, 0.98, 0.99], long: [0.2, 0.25, 0.3], jump: [500, 500, 750] },
  dense: { acc: [0.92, 0.93, 0.94], long: [0.2, 0.22, 0.24], jump: [750, 1000, 1000] },
  ut: { acc: [0.6, 0.62, 0.64], q14: [[0.95, 0.2], [0.96, 0.25], [0.97, 0.3]] },
  'iterative-step': { acc: [0.5, 0.51, 0.52], q14: [[0.9, 0.15], [0.92, 0.2], [0.94, 0.1]] },
  iterative: { acc: [0.5, 0.52, 0.51], q14: [[0.9, 0.12], [0.91, 0.2], [0.93, 0.15]] },
  'dual-nested-ut': { acc: [0.11, 0.12, 0.13] },
  'ar-trm': { acc: [0.1, 0.12, 0.11] },
};
const COPY_LIKE: Spec = { dense: { acc: [1, 1, 0.99] }, 'dual-nested-ut': { acc: [0.12, 0.1, 0.14] }, 'ar-trm': { acc: [0.11, 0.1, 0.12] } };

const byId = (cs: Claim[], id: Claim['id']) => cs.find((c) => c.id === id)!;

describe('relation verdicts follow from the Welch interval', () => {
  it('> : above 0 supported, below 0 contradicted, straddling undecided', () => {
    expect(relationVerdict(welchDiffCI([0.9, 0.91, 0.92], [0.5, 0.52, 0.51]), '>')).toBe('supported');
    expect(relationVerdict(welchDiffCI([0.5, 0.52, 0.51], [0.9, 0.91, 0.92]), '>')).toBe('contradicted');
    expect(relationVerdict(welchDiffCI([0.6, 0.9, 0.7], [0.65, 0.8, 0.7]), '>')).toBe('undecided');
    expect(relationVerdict(welchDiffCI([0.9], [0.5, 0.6]), '>')).toBe('undecided'); // one seed: no interval
  });
  it('>= and ~ use the 5-point margin', () => {
    expect(relationVerdict(welchDiffCI([1, 1, 1], [1, 1, 1]), '>=')).toBe('supported');
    expect(relationVerdict(welchDiffCI([1, 1, 1], [1, 1, 1]), '>')).toBe('undecided');
    expect(relationVerdict(welchDiffCI([0.5, 0.51, 0.52], [0.5, 0.52, 0.51]), '~')).toBe('supported');
    expect(relationVerdict(welchDiffCI([0.7, 0.71, 0.72], [0.5, 0.52, 0.51]), '~')).toBe('contradicted');
    expect(relationVerdict(welchDiffCI([0.5, 0.7, 0.6], [0.5, 0.52, 0.51]), '~')).toBe('undecided');
  });
  it('a claim is contradicted by any part, supported by all', () => {
    const p = (v: 'supported' | 'contradicted' | 'undecided') => ({ verdict: v, text: '' });
    expect(combine([p('supported'), p('supported')])).toBe('supported');
    expect(combine([p('supported'), p('undecided')])).toBe('undecided');
    expect(combine([p('undecided'), p('contradicted')])).toBe('contradicted');
    expect(combine([])).toBe('undecided');
  });
});

describe('checkClaims on synthetic results', () => {
  it('the paper pattern, with clear differences, supports every claim', () => {
    const cs = checkClaims(results(PAPER_LIKE, COPY_LIKE));
    expect(cs.map((c) => [c.id, c.verdict])).toEqual([
      ['C1', 'supported'],
      ['C1s', 'undecided'], // the slow rungs never reach 90%: censored on both sides
      ['C2', 'supported'],
      ['C3', 'supported'],
      ['C4', 'supported'],
      ['C5', 'supported'],
    ]);
    // the statistic is beside the verdict: dual-ut - dense = 98 - 93 = +5.0
    expect(byId(cs, 'C1').parts[0]!.text).toMatch(/^dual-ut >= dense \(d > -5\): dual-ut - dense: \+5\.0 \[/);
    expect(byId(cs, 'C1').parts[0]!.text).toContain('97.0 (s1), 98.0 (s2), 99.0 (s3)');
    expect(byId(cs, 'C4').parts[0]!.text).toContain('dual-ut 500 (s1), 500 (s2), 750 (s3); dense 750 (s1), 1000 (s2), 1000 (s3)');
  });

  it('overlapping cells leave C1 undecided; a reversed order contradicts it', () => {
    const overlap = checkClaims(results({ ...PAPER_LIKE, ut: { ...PAPER_LIKE.ut!, acc: [0.85, 0.95, 0.9] } }));
    expect(byId(overlap, 'C1').verdict).toBe('undecided');
    expect(byId(overlap, 'C1').parts[1]!.text).toContain('the interval includes the boundary');
    const reversed = checkClaims(results({ ...PAPER_LIKE, dense: { ...PAPER_LIKE.dense!, acc: [0.5, 0.52, 0.54] }, ut: { ...PAPER_LIKE.ut!, acc: [0.8, 0.82, 0.84] } }));
    expect(byId(reversed, 'C1').verdict).toBe('contradicted');
  });

  it('a still-rising cell or a missing one makes the claim undecided, whatever its numbers', () => {
    const rising = checkClaims(results({ ...PAPER_LIKE, dense: { ...PAPER_LIKE.dense!, acc: [0.1, 0.1, 0.1], rise: 0.03 } }));
    expect(byId(rising, 'C1').verdict).toBe('undecided'); // dense far below dual-ut and ut, but still moving
    expect(byId(rising, 'C1').parts[1]!.text).toContain('dense on addition is still rising');
    // C2's flat reference that learned on every seed but still moves: undecided for that reason, not "does not learn"
    const learnedRising = checkClaims(results({ ...PAPER_LIKE, dense: { ...PAPER_LIKE.dense!, acc: [0.95, 0.96, 0.97], rise: 0.03 } }));
    expect(byId(learnedRising, 'C2').parts[0]!.text).toMatch(/still rising .*3\/3 seeds; .* -> undecided$/);
    const { iterative: _, ...noIterative } = PAPER_LIKE;
    const missing = checkClaims(results(noIterative));
    expect(byId(missing, 'C1').verdict).toBe('undecided');
    expect(byId(missing, 'C1').parts[3]!.text).toContain('iterative has no finished run on addition');
    expect(checkClaims(results({})).every((c) => c.verdict === 'undecided')).toBe(true);
  });

  it('C2: a nested cell is judged at its highest late evaluation, so drift either way decides; a climbing one is undecided', () => {
    const nested = (spec: Partial<CellSpec>, acc = [0.1, 0.12, 0.11]) => ({ ...COPY_LIKE, 'ar-trm': { acc, ...spec } });
    const fell = byId(checkClaims(results(PAPER_LIKE, nested({ rise: -0.03 }))), 'C2');
    expect(fell.verdict).toBe('supported'); // 13, 15, 14 before the last evaluation: still near chance
    const part = fell.parts.find((p) => p.text.startsWith('ar-trm on copy'))!;
    expect(part.text).toContain('13.0 (s1), 15.0 (s2), 14.0 (s3) (each seed at its highest evaluation from step 250 on)');
    // a collapse from 50% to 12%: the earlier evaluations are far above chance, so "near chance" is not supported
    const collapsed = byId(checkClaims(results(PAPER_LIKE, nested({ rise: -0.4 }))), 'C2');
    expect(collapsed.verdict).toBe('contradicted');
    // a step up at the last evaluation, no trend (drift at chance): judged at that highest value
    const rose = byId(checkClaims(results(PAPER_LIKE, nested({ rise: 0.03 }))), 'C2');
    expect(rose.verdict).toBe('supported');
    expect(rose.parts.find((p) => p.text.startsWith('ar-trm on copy'))!.text).toContain('10.0 (s1), 12.0 (s2), 11.0 (s3)');
    // a steady climb is a run leaving chance: undecided however low it still is
    const climbing = byId(checkClaims(results(PAPER_LIKE, nested({ climb: 0.06 }))), 'C2');
    expect(climbing.verdict).toBe('undecided');
    expect(climbing.parts.find((p) => p.text.startsWith('ar-trm on copy is still climbing'))!.text).toContain('s1 +6.0, s2 +6.0, s3 +6.0');
    // ... but a climb of under PLATEAU_POINTS is not one
    expect(byId(checkClaims(results(PAPER_LIKE, nested({ climb: 0.015 }))), 'C2').verdict).toBe('supported');
  });

  it('C2: nested rungs that learn contradict it; an unlearned flat reference leaves it undecided', () => {
    const learns = checkClaims(results(PAPER_LIKE, { ...COPY_LIKE, 'ar-trm': { acc: [0.95, 0.97, 0.99] } }));
    expect(byId(learns, 'C2').verdict).toBe('contradicted');
    // a bimodal cell: its mean decides nothing, the count of seeds that learned says what happened
    const bimodal = checkClaims(results(PAPER_LIKE, { ...COPY_LIKE, 'ar-trm': { acc: [0.12, 0.95, 0.1] } }));
    const part = byId(bimodal, 'C2').parts.find((p) => p.text.startsWith('ar-trm on copy'))!;
    expect(part.verdict).toBe('undecided');
    expect(part.text).toContain('; 1/3 seeds end at >= 90.0%');
    expect(byId(learns, 'C2').parts.find((p) => p.text.startsWith('ar-trm on copy'))!.text).toContain('; 3/3 seeds end at >= 90.0%');
    const flatFails = checkClaims(results({ ...PAPER_LIKE, dense: { ...PAPER_LIKE.dense!, acc: [0.5, 0.6, 0.95] } }, COPY_LIKE));
    expect(byId(flatFails, 'C2').verdict).toBe('undecided');
    expect(byId(flatFails, 'C2').parts[0]!.text).toContain('1/3 seeds; 50.0 (s1), 60.0 (s2), 95.0 (s3) -> undecided: the flat reference does not learn the task at this scale');
  });

  it('C3: a tied rung that learns its last digits contradicts it', () => {
    const cs = checkClaims(results({ ...PAPER_LIKE, ut: { ...PAPER_LIKE.ut!, q14: [[0.99, 0.95], [0.99, 0.96], [0.99, 0.97]] } }));
    expect(byId(cs, 'C3').verdict).toBe('contradicted');
  });

  it('C4: dense first contradicts it; never-crossing seeds count as a lower bound only where that is conservative', () => {
    const first = checkClaims(results({ ...PAPER_LIKE, 'dual-ut': { ...PAPER_LIKE['dual-ut']!, jump: [1000, 1000, 1000] }, dense: { ...PAPER_LIKE.dense!, jump: [250, 250, 500] } }));
    expect(byId(first, 'C4').verdict).toBe('contradicted');
    const denseNever = checkClaims(results({ ...PAPER_LIKE, dense: { ...PAPER_LIKE.dense!, jump: [undefined, undefined, undefined] } }));
    expect(byId(denseNever, 'C4').verdict).toBe('supported');
    expect(byId(denseNever, 'C4').parts[0]!.text).toContain('dense never (s1, counted as');
    const dualNever = checkClaims(results({ ...PAPER_LIKE, 'dual-ut': { ...PAPER_LIKE['dual-ut']!, jump: [undefined, 250, 250] }, dense: { ...PAPER_LIKE.dense!, jump: [1000, 1000, 1000] } }));
    expect(byId(dualNever, 'C4').verdict).toBe('undecided');
  });

  it('C1s: every rung learns, and the order is read from the step at which each first reaches 90%', () => {
    // 5000 steps, evaluations every 250: accuracy 30% before the seed's step, 98% from it (every seed plateaus)
    const long = defineStudy({ ...study, tasks: [{ name: 'addition', length: 4, steps: 5000, evalLengths: [4, 6] }] });
    const speedRun = (arm: string, seed: number, at: number | undefined): RunResult => {
      const curve = Array.from({ length: 20 }, (_, i) => (i + 1) * 250).map((step) => {
        const a = at !== undefined && step >= at ? 0.98 : 0.3;
        return { step, loss: 1, wallSeconds: step, evals: { '4': metrics(a), '6': metrics(0.05) } };
      });
      return { id: `${arm}-addition-s${seed}`, arm, rung: arm, task: 'addition', seed, status: 'finished', backend: 'node', config: null, params: 1, blockPasses: 12, tokensPerSecond: 1, wallSeconds: 1, lastStep: 5000, final: curve[19]!.evals, curve };
    };
    const speeds = (at: Record<string, (number | undefined)[]>): StudyResults => ({
      ...results({}),
      study: { ...long, arms: RUNGS.map((r) => ({ name: r, rung: r })) } as StudyResults['study'],
      runs: Object.entries(at).flatMap(([arm, steps]) => steps.map((s, i) => speedRun(arm, SEEDS[i]!, s))),
    });
    const ordered = { 'dual-ut': [500, 750, 500], dense: [750, 750, 1000], ut: [2000, 2250, 2500], 'iterative-step': [4250, 4250, 4500], iterative: [4250, 4500, 4500] };
    const ok = byId(checkClaims(speeds(ordered)), 'C1s');
    expect(ok.parts.map((p) => p.verdict)).toEqual(['supported', 'supported', 'supported', 'supported']);
    expect(ok.verdict).toBe('supported');
    expect(ok.parts[1]!.text).toContain('dense before ut: ut - dense steps: +1417 [');
    expect(ok.parts[1]!.text).toContain('dense 750 (s1), 750 (s2), 1000 (s3); ut 2000 (s1), 2250 (s2), 2500 (s3)');
    // dense clearly first contradicts "dual-ut no later than dense"
    const denseFirst = byId(checkClaims(speeds({ ...ordered, 'dual-ut': [2000, 2250, 2500], dense: [500, 750, 500] })), 'C1s');
    expect(denseFirst.parts[0]!.verdict).toBe('contradicted');
    expect(denseFirst.verdict).toBe('contradicted');
    // a seed of the slower rung that never gets there is a lower bound: "ut before iterative-step" still holds ...
    expect(byId(checkClaims(speeds({ ...ordered, 'iterative-step': [4250, undefined, 4500] })), 'C1s').parts[2]!.text).toContain('never (s2, counted as');
    // ... a rung that never gets there is slower than one that does (its true step is later still) ...
    const never = byId(checkClaims(speeds({ ...ordered, ut: [undefined, undefined, undefined] })), 'C1s');
    expect(never.parts[2]!.verdict).toBe('contradicted');
    // ... and two that never get there are not ordered
    const neither = byId(checkClaims(speeds({ ...ordered, ut: [undefined, undefined, undefined], 'iterative-step': [undefined, undefined, undefined] })), 'C1s');
    expect(neither.parts[2]!.verdict).toBe('undecided');
    expect(neither.parts[2]!.text).toContain('seeds of both rungs never get there within training');
  });

  it('C5: an arm that keeps its accuracy at the longer length contradicts it', () => {
    const cs = checkClaims(results(PAPER_LIKE, { ...COPY_LIKE, dense: { acc: [1, 1, 0.99], long: [0.99, 0.98, 1] } }));
    expect(byId(cs, 'C5').verdict).toBe('contradicted');
  });

  it('transitionStep and the plateau rule read the curve', () => {
    const s = run('dense', 'addition', 0, { acc: [0.9], jump: [500], rise: 0.02 });
    expect(transitionStep(run('dense', 'addition', 0, { acc: [0.9], jump: [500] }), 4)).toBe(500);
    expect(transitionStep(run('dense', 'addition', 0, { acc: [0.9] }), 4)).toBeUndefined();
    expect(lastChange(s, 4)).toBeCloseTo(0.02);
    expect(isStillRising(s, 4)).toBe(true);
    expect(isStillRising(run('dense', 'addition', 0, { acc: [0.9], rise: 0.019 }), 4)).toBe(false);
  });

  it('lateWindow on curves of the cpu study: drift at chance is not a climb, a run leaving chance is', () => {
    // character accuracy (%) every 250 steps of real runs (docs/results/cpu, addition: 5000 steps, copy: 1000)
    const real = (task: 'addition' | 'copy', pcts: number[]): RunResult => {
      const base = run('ar-trm', task, 0, { acc: [0.1] });
      const L = task === 'addition' ? '4' : '10';
      const curve = pcts.map((p, i) => ({ step: 250 * (i + 1), loss: 1, wallSeconds: 1, evals: { [L]: metrics(p / 100) } }));
      return { ...base, lastStep: curve[curve.length - 1]!.step, curve, final: curve[curve.length - 1]!.evals };
    };
    const arTrmS1 = real('addition', [21, 20, 21, 21, 19, 3, 15, 10, 15, 20, 19, 17, 18, 18, 20, 16, 17, 15, 16, 21]);
    expect(isStillRising(arTrmS1, 4)).toBe(true); // +5 at the last evaluation: the last-two rule flags it
    const w = lateWindow(arTrmS1, 4)!;
    expect(w.steps).toEqual([2750, 3000, 3250, 3500, 3750, 4000, 4250, 4500, 4750, 5000]);
    expect(w.max).toBeCloseTo(0.21);
    expect(w.climbing).toBe(false);
    const faithfulS1 = real('addition', [22, 20, 23, 25, 24, 32, 36, 37, 32, 36, 36, 51, 58, 68, 79, 86, 91, 96, 94, 98]);
    expect(lateWindow(faithfulS1, 4)!.climbing).toBe(true);
    const nestedCopy = real('copy', [14, 15, 18, 22]); // dual-nested-ut copy s1337: four evaluations, all read
    expect(lateWindow(nestedCopy, 10)!.steps).toEqual([250, 500, 750, 1000]);
    expect(lateWindow(nestedCopy, 10)!.climbing).toBe(true);
    expect(lateWindow(real('copy', [11, 18, 20, 16]), 10)!.climbing).toBe(false); // ar-trm reverse s1337
  });

  it('the report puts the Claims section first and marks still-rising cells', () => {
    const md = reportMarkdown(results({ ...PAPER_LIKE, dense: { ...PAPER_LIKE.dense!, rise: 0.05 } }, COPY_LIKE));
    expect(md.indexOf('## Claims')).toBeGreaterThan(0);
    expect(md.indexOf('## Claims')).toBeLessThan(md.indexOf('## Configuration'));
    expect(md).toContain('- **C1** on addition, dual-ut >= dense > ut > iterative-step ~ iterative: **undecided at this scale**');
    expect(md).toMatch(/\| dense \| 93\.0 ± [\d.]+ \(paper 79\.9\) still rising \|/);
    expect(md).toContain('still rising: s1 +5.0, s2 +5.0, s3 +5.0');
    // the Seeds table tells a step at the last evaluation (no late climb) from a run that climbs
    expect(md).toMatch(/\| dense \| addition \| [^|]+ \| [^|]+ \| still rising: s1 \+5\.0, s2 \+5\.0, s3 \+5\.0 \| no \|/);
    const climbing = reportMarkdown(results({ ...PAPER_LIKE, 'ar-trm': { acc: [0.1, 0.12, 0.11], climb: 0.06 } }, COPY_LIKE));
    expect(climbing).toMatch(/\| ar-trm \| addition \| [^|]+ \| [^|]+ \| still rising: [^|]+ \| climbing: s1 \+6\.0, s2 \+6\.0, s3 \+6\.0 \|/);
  });
});

describe("seeds trained past their task's steps (train until plateau)", () => {
  it("are named with their steps, and near-chance windows then read the last half of each seed's own training", () => {
    const r = results(PAPER_LIKE, COPY_LIKE);
    const extend = (id: string) => {
      const x = r.runs.find((y) => y.id === id)! as { -readonly [K in keyof RunResult]: RunResult[K] };
      const last = x.curve.at(-1)!;
      x.curve = [...x.curve, { ...last, step: 1250 }, { ...last, step: 1500 }];
      x.lastStep = 1500;
    };
    extend('dense-copy-s2');
    extend('dual-nested-ut-copy-s1');
    const parts = byId(checkClaims(r), 'C2').parts;
    expect(parts.find((p) => p.text.startsWith('dense learns copy'))!.text).toContain('100.0 (s1), 100.0 (s2, 1500 steps), 99.0 (s3)');
    const nested = parts.find((p) => p.text.startsWith('dual-nested-ut on copy'))!.text;
    expect(nested).toContain('(s1, 1500 steps)');
    expect(nested).toContain('each seed at its highest evaluation in the last half of its training');
    // without extended seeds the window's first step is named
    expect(byId(checkClaims(results(PAPER_LIKE, COPY_LIKE)), 'C2').parts.find((p) => p.text.startsWith('dual-nested-ut on copy'))!.text).toContain('from step 250 on');
  });
});

