import { charAcc, finishedRuns, lastCharAcc, presentAxes, quartile, type MetricPick } from './aggregate.js';
import { taskChance } from './chance.js';
import { atHorizon } from './horizon.js';
import type { RunResult, StudyResults } from './results.js';
import { isPlainRung, type Arm, type TaskSettings } from './schema.js';
import {
  clopperPearson,
  fisherExact,
  formatSigned,
  kaplanMeier,
  logRank,
  meanCI,
  pairedDiffCI,
  welchDiffCI,
  type DiffCI,
  type MeanCI,
  type Survival,
} from './stats.js';

/**
 * What a study says about one of the paper's claims. `not testable`: the study cannot tell at this scale (both
 * arms at the ceiling, the premise fails, a cell or task is missing, too few seeds); `undecided`: it could, and
 * the interval or test does not settle it.
 */
export type ClaimVerdict = 'supported' | 'contradicted' | 'undecided' | 'not testable';

/** One checked piece of a claim, with the statistic behind its verdict. */
export interface ClaimPart {
  readonly verdict: ClaimVerdict;
  /** "dual-ut >= dense: at step 1250, +3.1 [-2.0, +8.2] (Welch 95%, df 21) -> undecided; ...". */
  readonly text: string;
}

export interface Claim {
  /** C1-C5: the paper's claims (paper.md). */
  readonly id: 'C1' | 'C2' | 'C3' | 'C4' | 'C5';
  readonly statement: string;
  /** The statistic the verdict comes from, in a few words. */
  readonly statistic: string;
  readonly verdict: ClaimVerdict;
  /** The number behind the verdict, in one line (the report's Claims table). */
  readonly summary: string;
  /** Seeds per arm the verdict rests on (0 when nothing could be judged). */
  readonly seeds: number;
  readonly parts: readonly ClaimPart[];
}

/** Points within which two means count as about equal (the `~` of C1) or a `>=` as not violated. */
export const EQUIVALENCE_POINTS = 5;
/** Both arms' means at or above this fraction: a comparison at the ceiling, "not testable". */
export const CEILING = 0.95;
/** "Near chance": every seed within this many points of the task's chance level. */
export const NEAR_CHANCE_POINTS = 10;
/** The last answer digit counts as learned ("crossed") at the first evaluation where it is right this often. */
export const TRANSITION_LEVEL = 0.5;
/** Significance level of the exact and log-rank tests. */
export const ALPHA = 0.05;

const TIED_SINGLE_STREAM = ['iterative', 'iterative-step', 'ut'] as const;
const NESTED = ['dual-nested-ut', 'ar-trm'] as const;

/** Any contradicted part contradicts; all supported support; all not testable: not testable; else undecided. */
export function combine(parts: readonly ClaimPart[]): ClaimVerdict {
  if (!parts.length) return 'not testable';
  if (parts.some((p) => p.verdict === 'contradicted')) return 'contradicted';
  if (parts.every((p) => p.verdict === 'supported')) return 'supported';
  return parts.every((p) => p.verdict === 'not testable') ? 'not testable' : 'undecided';
}

/** `a` vs `b`: `>` needs the interval above 0; `>=` not below -margin; `~` inside ±margin. */
export type Relation = '>' | '>=' | '~';

export function relationVerdict(d: DiffCI, rel: Relation, margin = EQUIVALENCE_POINTS / 100): ClaimVerdict {
  if (d.lo === undefined || d.hi === undefined) return 'undecided';
  if (rel === '>') return d.lo > 0 ? 'supported' : d.hi < 0 ? 'contradicted' : 'undecided';
  if (rel === '>=') return d.hi < 0 ? 'contradicted' : d.lo > -margin ? 'supported' : 'undecided';
  return d.lo >= -margin && d.hi <= margin
    ? 'supported'
    : d.lo > margin || d.hi < -margin
      ? 'contradicted'
      : 'undecided';
}

const pct1 = (x: number) => (100 * x).toFixed(1);
/** "+3.1 [-2.0, +8.2] (Welch 95%, df 21)". */
const diffText = (d: DiffCI) =>
  d.lo === undefined
    ? `${Number.isFinite(d.diff) ? formatSigned(d.diff) : '-'} (no interval)`
    : `${formatSigned(d.diff)} [${formatSigned(d.lo)}, ${formatSigned(d.hi!)}] (Welch 95%, df ${d.df})`;
/** "72.3 [65.0, 79.6]", the interval clamped to [0, 100]. */
const ciText = (c: MeanCI) =>
  c.n
    ? `${pct1(c.mean)}${c.lo === undefined ? '' : ` [${pct1(Math.max(0, c.lo))}, ${pct1(Math.min(1, c.hi!))}]`}`
    : '-';
const seedList = (seeds: readonly number[], xs: readonly (number | null)[]) =>
  xs.map((v, i) => `${v === null ? '-' : pct1(v)} (s${seeds[i]})`).join(', ');
const countText = (k: number, n: number) => {
  const c = clopperPearson(k, n);
  return `${k}/${n} [${pct1(c.lo)}, ${pct1(c.hi)}]%`;
};

/** The arm that is a rung as published (no switches), if the study has one. */
function plainArm(arms: readonly Arm[], rung: string): Arm | undefined {
  return arms.find((a) => a.rung === rung && isPlainRung(a));
}

/** The matched-compute view of a study with the seeds every claim reads. */
interface View {
  readonly results: StudyResults;
  readonly arms: readonly Arm[];
  readonly minSeeds: number;
  /** Per task: the longest prefix of the study's seeds on which every arm with runs on it has finished. */
  readonly seeds: ReadonlyMap<string, readonly number[]>;
  /** The finished run of (arm, task, seed) at the horizon, if any. */
  readonly finished: (arm: string, task: string, seed: number) => RunResult | undefined;
}

function makeView(all: StudyResults): View {
  const results = atHorizon(all);
  const key = (arm: string, task: string, seed: number) => `${arm}\u0000${task}\u0000${seed}`;
  const byKey = new Map(finishedRuns(results).map((r) => [key(r.arm, r.task, r.seed), r]));
  const finished = (arm: string, task: string, seed: number) => byKey.get(key(arm, task, seed));
  const seeds = new Map<string, number[]>();
  for (const t of results.study.tasks) {
    const arms = [...new Set(results.runs.filter((r) => r.task === t.name).map((r) => r.arm))];
    const prefix: number[] = [];
    for (const s of results.study.seeds) {
      if (!arms.every((a) => finished(a, t.name, s))) break;
      prefix.push(s);
    }
    seeds.set(t.name, prefix);
  }
  return { results, arms: results.study.arms, minSeeds: results.study.minSeeds, seeds, finished };
}

/** One plain arm's finished runs on a task, in the view's seed order; `problem` says why it cannot be judged. */
interface Cell {
  readonly name: string;
  readonly seeds: readonly number[];
  readonly runs: readonly RunResult[];
  readonly problem?: string;
}

function cellOf(v: View, rung: string, task: TaskSettings): Cell {
  const arm = plainArm(v.arms, rung);
  const seeds = v.seeds.get(task.name) ?? [];
  if (!arm) return { name: rung, seeds, runs: [], problem: `the study has no ${rung} arm` };
  const found = seeds.map((s) => v.finished(arm.name, task.name, s));
  const runs = found.filter((r): r is RunResult => r !== undefined);
  if (runs.length < found.length || !runs.length)
    return { name: arm.name, seeds, runs: [], problem: `${arm.name} has no finished run on ${task.name}` };
  if (seeds.length < v.minSeeds)
    return {
      name: arm.name,
      seeds,
      runs,
      problem: `${seeds.length} seed${seeds.length === 1 ? '' : 's'} finished by every arm on ${task.name}, fewer than the ${v.minSeeds} the study asks for`,
    };
  return { name: arm.name, seeds, runs };
}

/** A metric at `length` of each run's final (horizon) evaluation. */
const finalOf = (c: Cell, length: number, pick: MetricPick = charAcc) =>
  c.runs.map((r) => (r.final[String(length)] ? pick(r.final[String(length)]!) : null));
/** Per run, the mean of a metric over its evaluations up to the horizon (the area under the learning curve). */
const aucOf = (c: Cell, length: number) =>
  c.runs.map(
    (r) => meanCI(r.curve.map((p) => (p.evals[String(length)] ? charAcc(p.evals[String(length)]!) : null))).mean,
  );

/** The first evaluation step at which `pick` of the metrics at `length` is >= `level`; undefined if none. */
export function firstStepAt(run: RunResult, length: number, pick: MetricPick, level: number): number | undefined {
  return run.curve.find((p) => {
    const m = p.evals[String(length)];
    const x = m ? pick(m) : null;
    return x !== null && x >= level;
  })?.step;
}

/** Time to event per run: the first step at which `pick` >= level, else censored at the run's last evaluation. */
export function survivalOf(runs: readonly RunResult[], length: number, pick: MetricPick, level: number): Survival[] {
  return runs.map((r) => {
    const step = firstStepAt(r, length, pick, level);
    return step === undefined ? { time: r.lastStep ?? 0, event: false } : { time: step, event: true };
  });
}

/** A part testing a relation on two statistics: the primary's verdict, undecided where the secondary opposes it. */
function orderPart(label: string, a: Cell, b: Cell, rel: Relation, length: number, horizon: number): ClaimPart {
  if (a.problem || b.problem) return { verdict: 'not testable', text: `${label}: ${a.problem ?? b.problem}` };
  const [fa, fb] = [finalOf(a, length), finalOf(b, length)];
  const dFinal = welchDiffCI(fa, fb);
  const dAuc = welchDiffCI(aucOf(a, length), aucOf(b, length));
  const atCeiling = meanCI(fa).mean >= CEILING && meanCI(fb).mean >= CEILING;
  const vFinal = atCeiling ? 'not testable' : relationVerdict(dFinal, rel);
  const vAuc = relationVerdict(dAuc, rel);
  const opposed =
    (vFinal === 'supported' && vAuc === 'contradicted') || (vFinal === 'contradicted' && vAuc === 'supported');
  const verdict: ClaimVerdict = opposed ? 'undecided' : vFinal;
  const why = atCeiling
    ? `not testable: both at or above ${pct1(CEILING)}% at step ${horizon}`
    : opposed
      ? 'undecided: the two statistics disagree'
      : vFinal;
  return {
    verdict,
    text: `${label}: at step ${horizon}, ${a.name} - ${b.name} ${diffText(dFinal)} -> ${why}; area under the curve ${diffText(dAuc)} -> ${vAuc}. ${a.name} ${seedList(a.seeds, fa)}; ${b.name} ${seedList(b.seeds, fb)}`,
  };
}

function c1(v: View, add: TaskSettings | undefined): Claim {
  const statement = 'on addition, dual-ut >= dense > ut > iterative-step ~ iterative';
  const base = {
    id: 'C1' as const,
    statement,
    statistic: 'accuracy at the horizon (Welch, by seed); area under the curve beside it',
  };
  if (!add) return { ...base, verdict: 'not testable', summary: 'no addition task in this study', seeds: 0, parts: [] };
  const cell = (r: string) => cellOf(v, r, add);
  const parts = [
    orderPart('dual-ut >= dense', cell('dual-ut'), cell('dense'), '>=', add.length, add.steps),
    orderPart('dense > ut', cell('dense'), cell('ut'), '>', add.length, add.steps),
    orderPart('ut > iterative-step', cell('ut'), cell('iterative-step'), '>', add.length, add.steps),
    orderPart('iterative-step ~ iterative', cell('iterative-step'), cell('iterative'), '~', add.length, add.steps),
  ];
  const ranked = ['dual-ut', 'dense', 'ut', 'iterative-step', 'iterative']
    .map(cell)
    .filter((c) => !c.problem)
    .map((c) => ({ c, m: meanCI(finalOf(c, add.length)).mean }))
    .sort((x, y) => y.m - x.m);
  const summary = ranked.length
    ? `at step ${add.steps}: ${ranked.map((x) => `${x.c.name} ${pct1(x.m)}`).join(' > ')}`
    : (cell('dense').problem ?? 'no flat rung');
  return { ...base, verdict: combine(parts), summary, seeds: ranked.length ? ranked[0]!.c.seeds.length : 0, parts };
}

function c2(v: View, tasks: readonly TaskSettings[]): Claim {
  const statement = 'dual-nested-ut and ar-trm stay near chance on every task while the flat rungs learn them';
  const success = v.results.study.success;
  const parts: ClaimPart[] = [];
  const counts: string[] = [];
  let seeds = 0;
  for (const t of tasks) {
    const bound = (taskChance(t) + NEAR_CHANCE_POINTS) / 100;
    const dense = cellOf(v, 'dense', t);
    const learned = (c: Cell) => finalOf(c, t.length).filter((x) => x !== null && x >= success).length;
    for (const rung of NESTED) {
      const c = cellOf(v, rung, t);
      if (c.problem || dense.problem) {
        if (plainArm(v.arms, rung))
          parts.push({ verdict: 'not testable', text: `${rung} on ${t.name}: ${c.problem ?? dense.problem}` });
        continue;
      }
      seeds = c.seeds.length;
      const [k, n, kd, nd] = [learned(c), c.seeds.length, learned(dense), dense.seeds.length];
      const p = fisherExact(k, n, kd, nd);
      const values = finalOf(c, t.length);
      const near = values.every((x) => x !== null && x <= bound);
      let verdict: ClaimVerdict;
      let why: string;
      if (kd < nd) [verdict, why] = ['not testable', `the flat reference learns ${t.name} on ${kd}/${nd} seeds only`];
      else if (k === 0 && near)
        [verdict, why] = [
          'supported',
          `no seed learns and every seed ends within ${NEAR_CHANCE_POINTS} points of chance (${taskChance(t).toFixed(1)}%)`,
        ];
      else if (k > 0 && p >= ALPHA)
        [verdict, why] = [
          'contradicted',
          `${k} seed${k === 1 ? '' : 's'} learn and the count is not distinguishable from dense's`,
        ];
      else
        [verdict, why] = [
          'undecided',
          k === 0
            ? `no seed learns, but not every seed ends within ${NEAR_CHANCE_POINTS} points of chance`
            : `${k} seed${k === 1 ? '' : 's'} learn, fewer than dense (p < ${ALPHA})`,
        ];
      counts.push(`${c.name} ${t.name} ${k}/${n}`);
      parts.push({
        verdict,
        text: `${c.name} on ${t.name}: learned (>= ${pct1(success)}% at step ${t.steps}) on ${countText(k, n)} of seeds vs dense ${countText(kd, nd)}, Fisher's exact p = ${p.toFixed(3)}; per seed ${seedList(c.seeds, values)} -> ${verdict}: ${why}`,
      });
    }
  }
  const summary = counts.length
    ? `seeds that learn: ${counts.join(', ')}`
    : parts.length
      ? parts[0]!.text.replace(/^[^:]+: /, '')
      : 'the study has no dual-nested-ut or ar-trm arm';
  return {
    id: 'C2',
    statement,
    statistic: "learned / not learned counts (Clopper-Pearson), Fisher's exact test against dense",
    verdict: combine(parts),
    summary,
    seeds,
    parts,
  };
}

function c3(v: View, add: TaskSettings | undefined): Claim {
  const statement =
    'the tied single-stream rungs (iterative, iterative-step, ut) learn the leading answer digits and fail the last ones (answer quartiles Q1 vs Q4)';
  const base = {
    id: 'C3' as const,
    statement,
    statistic: 'Q1 - Q4 at the horizon, paired by seed; Q4 against the success level',
  };
  if (!add) return { ...base, verdict: 'not testable', summary: 'no addition task in this study', seeds: 0, parts: [] };
  const success = v.results.study.success;
  const gaps: string[] = [];
  let seeds = 0;
  const parts = TIED_SINGLE_STREAM.filter((r) => plainArm(v.arms, r)).map((rung): ClaimPart => {
    const c = cellOf(v, rung, add);
    if (c.problem) return { verdict: 'not testable', text: `${rung}: ${c.problem}` };
    seeds = c.seeds.length;
    const [q1, q4] = [finalOf(c, add.length, quartile(0)), finalOf(c, add.length, quartile(3))];
    const d = pairedDiffCI(q1, q4);
    const q4ci = meanCI(q4);
    let verdict: ClaimVerdict = 'undecided';
    if (d.lo !== undefined && q4ci.lo !== undefined) {
      if (q4ci.lo >= success || d.hi! < 0) verdict = 'contradicted';
      else if (d.lo > 0 && q4ci.hi! < success) verdict = 'supported';
    }
    const maxGap = meanCI(
      c.runs.map((r) =>
        Math.max(
          ...r.curve.map((p) => {
            const m = p.evals[String(add.length)];
            return m && m.quartiles[0] !== null && m.quartiles[3] !== null
              ? m.quartiles[0] - m.quartiles[3]
              : -Infinity;
          }),
        ),
      ),
    );
    const reach = (q: 0 | 3) => {
      const s = survivalOf(c.runs, add.length, quartile(q), success);
      const hit = s
        .filter((x) => x.event)
        .map((x) => x.time)
        .sort((a, b) => a - b);
      return `${hit.length}/${s.length} seeds${hit.length ? `, median step ${hit[Math.floor((hit.length - 1) / 2)]}` : ''}`;
    };
    gaps.push(`${c.name} ${formatSigned(d.mean)}`);
    return {
      verdict,
      text: `${c.name}: at step ${add.steps} Q1 - Q4 ${formatSigned(d.mean)}${d.lo === undefined ? '' : ` [${formatSigned(d.lo)}, ${formatSigned(d.hi!)}] (paired t 95%)`}, Q4 ${ciText(q4ci)} -> ${verdict}. Largest Q1 - Q4 gap over the curve: mean ${formatSigned(maxGap.mean)}. Reach ${pct1(success)}%: Q1 ${reach(0)}, Q4 ${reach(3)}. Q4 per seed ${seedList(c.seeds, q4)}`,
    };
  });
  return {
    ...base,
    verdict: combine(parts),
    summary: gaps.length
      ? `Q1 - Q4 at step ${add.steps}: ${gaps.join(', ')}`
      : parts.length
        ? parts[0]!.text.replace(/^[^:]+: /, '')
        : 'the study has no iterative, iterative-step or ut arm',
    seeds,
    parts,
  };
}

function c4(v: View, add: TaskSettings | undefined): Claim {
  const statement = `dual-ut crosses the last-digit transition before dense (first evaluation with last-digit accuracy >= ${pct1(TRANSITION_LEVEL)}%)`;
  const base = {
    id: 'C4' as const,
    statement,
    statistic: 'time to event per seed, censored at the horizon; Kaplan-Meier and log-rank',
  };
  if (!add) return { ...base, verdict: 'not testable', summary: 'no addition task in this study', seeds: 0, parts: [] };
  const [du, de] = [cellOf(v, 'dual-ut', add), cellOf(v, 'dense', add)];
  if (du.problem || de.problem)
    return {
      ...base,
      verdict: 'not testable',
      summary: (du.problem ?? de.problem)!,
      seeds: 0,
      parts: [{ verdict: 'not testable', text: (du.problem ?? de.problem)! }],
    };
  const [a, b] = [
    survivalOf(du.runs, add.length, lastCharAcc, TRANSITION_LEVEL),
    survivalOf(de.runs, add.length, lastCharAcc, TRANSITION_LEVEL),
  ];
  const lr = logRank(a, b);
  const first = Math.min(...[...du.runs, ...de.runs].map((r) => r.curve[0]?.step ?? Infinity));
  const atFirst = [...a, ...b].every((x) => x.event && x.time === first);
  let verdict: ClaimVerdict = 'undecided';
  if (atFirst) verdict = 'not testable';
  else if (lr.p < ALPHA) verdict = lr.observedA > lr.expectedA ? 'supported' : 'contradicted';
  const median = (s: Survival[]) => kaplanMeier(s).find((p) => p.survival <= 0.5)?.time;
  const med = (s: Survival[]) => median(s) ?? `> ${add.steps}`;
  const list = (c: Cell, s: Survival[]) =>
    s.map((x, i) => `${x.event ? x.time : `> ${x.time}`} (s${c.seeds[i]})`).join(', ');
  const text = `dual-ut crossed on ${lr.observedA}/${a.length} seeds (median ${med(a)}), dense on ${lr.observedB}/${b.length} (median ${med(b)}); log-rank chi-square ${lr.chi2.toFixed(2)}, p = ${lr.p.toFixed(3)}, dual-ut observed ${lr.observedA} vs expected ${lr.expectedA.toFixed(1)} -> ${atFirst ? 'not testable: every seed crossed at the first evaluation' : verdict}. dual-ut ${list(du, a)}; dense ${list(de, b)}`;
  return {
    ...base,
    verdict,
    summary: `median crossing step: dual-ut ${med(a)}, dense ${med(b)}; log-rank p = ${lr.p.toFixed(3)}`,
    seeds: a.length,
    parts: [{ verdict, text }],
  };
}

function c5(v: View, tasks: readonly TaskSettings[]): Claim {
  const statement =
    'learned absolute positions do not generalise to longer lengths (arms that learn a task at its training length fail at the longest evaluation length)';
  const base = {
    id: 'C5' as const,
    statement,
    statistic: 'accuracy at the longest length against the success level (Student t, by seed)',
  };
  const success = v.results.study.success;
  const parts: ClaimPart[] = [];
  let seeds = 0;
  for (const t of tasks) {
    const longest = Math.max(...t.evalLengths);
    if (longest <= t.length) continue;
    for (const arm of v.arms.filter(isPlainRung)) {
      const c = cellOf(v, arm.rung, t);
      const train = finalOf(c, t.length);
      if (c.problem || train.some((x) => x === null || x < success)) continue; // did not learn the task on every seed
      seeds = c.seeds.length;
      const long = finalOf(c, longest);
      const ci = meanCI(long);
      const verdict: ClaimVerdict =
        ci.lo === undefined
          ? 'undecided'
          : ci.lo >= success
            ? 'contradicted'
            : ci.hi! < success
              ? 'supported'
              : 'undecided';
      parts.push({
        verdict,
        text: `${c.name} on ${t.name}: L ${t.length} ${ciText(meanCI(train))}, L ${longest} ${ciText(ci)} -> ${verdict} (the 95% interval at L ${longest} against ${pct1(success)}%)`,
      });
    }
  }
  if (!parts.length)
    return {
      ...base,
      verdict: 'not testable',
      summary: 'no task is evaluated beyond its training length by an arm that learned it on every seed',
      seeds: 0,
      parts,
    };
  return {
    ...base,
    verdict: combine(parts),
    summary: `${parts.filter((p) => p.verdict === 'supported').length} of ${parts.length} (arm, task) cells fail at the longest length`,
    seeds,
    parts,
  };
}

/**
 * The paper's five claims judged on a study's results at matched compute: every run read at its task's `steps`
 * (atHorizon), on the seeds every arm has finished, with the statistic that fits each claim.
 */
export function checkClaims(results: StudyResults): Claim[] {
  const v = makeView(results);
  const { tasks } = presentAxes(v.results);
  const add = tasks.find((t) => t.name === 'addition');
  return [c1(v, add), c2(v, tasks), c3(v, add), c4(v, add), c5(v, tasks)];
}
