import { charAcc, finishedRuns, lastCharAcc, presentAxes, quartile, seedLabel, seedValues, successCount, type MetricPick, type SeedValue } from './aggregate.js';
import { taskChance } from './chance.js';
import { cellLateWindows, PLATEAU_POINTS, risingSeeds } from './plateau.js';
import type { RunResult, StudyResults } from './results.js';
import { isPlainRung, type Arm, type TaskSettings } from './schema.js';
import { formatSigned, meanCI, welchDiffCI, type DiffCI } from './stats.js';

/**
 * What a study says about one of the paper's claims. `undecided` covers missing cells, cells that are still
 * rising (the plateau rule), intervals that include the boundary, and claims whose premise fails at this scale.
 */
export type ClaimVerdict = 'supported' | 'contradicted' | 'undecided';

/** One checked piece of a claim, with the statistic behind its verdict. */
export interface ClaimPart {
  readonly verdict: ClaimVerdict;
  /** "dual-ut - dense: +3.1 [-2.0, +8.2] (Welch 95%, df 6) ...": the numbers and why this verdict. */
  readonly text: string;
}

export interface Claim {
  /** C1-C5: the paper's claims. C1s: ours, C1's order read as learning speed (for scales where every rung learns). */
  readonly id: 'C1' | 'C1s' | 'C2' | 'C3' | 'C4' | 'C5';
  readonly statement: string;
  readonly verdict: ClaimVerdict;
  readonly parts: readonly ClaimPart[];
}

/** Points within which two means count as about equal (the `~` of C1) or a `>=` as not violated. */
export const EQUIVALENCE_POINTS = 5;
/** A cell is near chance when its 95% upper bound is at most chance + this many points. */
export const NEAR_CHANCE_POINTS = 10;
/** The last answer digit counts as learned ("crossed") at the first evaluation where it is right this often. */
export const TRANSITION_LEVEL = 0.5;

const TIED_SINGLE_STREAM = ['iterative', 'iterative-step', 'ut'] as const;
const NESTED = ['dual-nested-ut', 'ar-trm'] as const;

/** Combines parts: any contradicted part contradicts the claim; all supported support it; else undecided. */
export function combine(parts: readonly ClaimPart[]): ClaimVerdict {
  if (!parts.length) return 'undecided';
  if (parts.some((p) => p.verdict === 'contradicted')) return 'contradicted';
  return parts.every((p) => p.verdict === 'supported') ? 'supported' : 'undecided';
}

/** `a` vs `b` for the relation: `>` needs the Welch interval above 0; `>=` not below -margin; `~` inside ±margin. */
export type Relation = '>' | '>=' | '~';

export function relationVerdict(d: DiffCI, rel: Relation, margin = EQUIVALENCE_POINTS / 100): ClaimVerdict {
  if (d.lo === undefined || d.hi === undefined) return 'undecided';
  if (rel === '>') return d.lo > 0 ? 'supported' : d.hi < 0 ? 'contradicted' : 'undecided';
  if (rel === '>=') return d.hi < 0 ? 'contradicted' : d.lo > -margin ? 'supported' : 'undecided';
  return d.lo >= -margin && d.hi <= margin ? 'supported' : d.lo > margin || d.hi < -margin ? 'contradicted' : 'undecided';
}

/** "+3.1 [-2.0, +8.2] (Welch 95%, df 6)" in points (scale 100) or in steps (scale 1). */
function diffText(d: DiffCI, scale = 100, digits = 1): string {
  if (!Number.isFinite(d.diff)) return 'no difference (a side has no value)';
  const ci = d.lo === undefined || d.hi === undefined ? 'no interval (a side has < 2 seeds)' : `[${formatSigned(d.lo, scale, digits)}, ${formatSigned(d.hi, scale, digits)}] (Welch 95%, df ${d.df})`;
  return `${formatSigned(d.diff, scale, digits)} ${ci}`;
}

const pct1 = (x: number) => (100 * x).toFixed(1);
const perSeed = (xs: readonly SeedValue[]) => xs.map((s) => `${s.value === null ? '-' : pct1(s.value)} (${seedLabel(s)})`).join(', ');

/** The arm that is a rung as published (no switches), if the study has one with runs. */
function plainArm(arms: readonly Arm[], rung: string): Arm | undefined {
  return arms.find((a) => a.rung === rung && isPlainRung(a));
}

interface Cell {
  readonly name: string;
  readonly seeds: { seed: number; value: number | null }[];
  readonly values: number[];
  /** Why the cell cannot be used: no arm, no finished seed, or still rising. */
  readonly problem?: string;
  /** How the seeds were counted (the upper-bound policy: at their highest late evaluation), to print beside the numbers. */
  readonly note?: string;
}

/**
 * How a cell's seeds that fail the plateau rule are treated. `strict`: any such seed leaves the cell undecided.
 * `upper-bound` (for "stays near chance", a claim that a value is low): each seed is judged on the highest of its
 * evaluations in the last half of training (lateWindow), which can only make "near chance" harder to support, so
 * drift at chance (fixed problems, greedy decoding: the model moving by 2-16 points either way) does not hide the
 * answer however long the runs train; a seed whose late evaluations climb (the slope's 95% interval above 0)
 * still leaves the cell undecided.
 */
type RisingPolicy = 'strict' | 'upper-bound';

function cellOf(results: StudyResults, arms: readonly Arm[], rung: string, task: TaskSettings, length: number, pick: MetricPick = charAcc, policy: RisingPolicy = 'strict'): Cell {
  const arm = plainArm(arms, rung);
  if (!arm) return { name: rung, seeds: [], values: [], problem: `no ${rung} arm in this study` };
  if (policy === 'upper-bound') return lateCell(results, arm, task, length, pick);
  const seeds = seedValues(results, arm.name, task.name, length, pick);
  const rising = risingSeeds(results, arm.name, task.name, task.length);
  const values = seeds.map((s) => s.value).filter((v): v is number => v !== null);
  if (!values.length) return { name: arm.name, seeds, values, problem: `${arm.name} has no finished run on ${task.name}` };
  if (rising.length) {
    const which = rising.map((r) => `s${r.seed} ${formatSigned(r.change)}`).join(', ');
    return { name: arm.name, seeds, values, problem: `${arm.name} on ${task.name} is still rising (last two evaluations differ by >= ${PLATEAU_POINTS} points: ${which})` };
  }
  return { name: arm.name, seeds, values };
}

/** A cell judged by the upper-bound policy: each seed at its highest late evaluation, undecided while one climbs. */
function lateCell(results: StudyResults, arm: Arm, task: TaskSettings, length: number, pick: MetricPick): Cell {
  const late = cellLateWindows(results, arm.name, task.name, length, pick);
  const extended = new Map(seedValues(results, arm.name, task.name, length, pick).map((s) => [s.seed, s.extendedTo]));
  const seeds: SeedValue[] = late.map(({ seed, w }) => ({ seed, value: w ? w.max : null, extendedTo: extended.get(seed) }));
  const values = seeds.map((s) => s.value).filter((v): v is number => v !== null);
  if (!values.length) return { name: arm.name, seeds, values, problem: `${arm.name} has no finished run on ${task.name}` };
  // seeds trained to different steps (train until plateau) have windows that start at different steps
  const starts = [...new Set(late.flatMap((l) => (l.w ? [l.w.steps[0]!] : [])))];
  const from = starts.length === 1 ? `from step ${starts[0]} on` : 'in the last half of its training';
  const note = ` (each seed at its highest evaluation ${from})`;
  const climbing = late.filter((l) => l.w?.climbing);
  if (climbing.length) {
    const which = climbing.map((l) => `s${l.seed} ${formatSigned(l.w!.rise)}`).join(', ');
    return { name: arm.name, seeds, values, note, problem: `${arm.name} on ${task.name} is still climbing (its evaluations ${from} rise, the slope's 95% interval above 0: ${which})` };
  }
  return { name: arm.name, seeds, values, note };
}

/** A part comparing two cells by a relation, or an undecided part naming the cell that is missing or moving. */
function comparePart(label: string, a: Cell, b: Cell, rel: Relation): ClaimPart {
  const problem = a.problem ?? b.problem;
  const d = welchDiffCI(a.values, b.values);
  const stat = `${a.name} - ${b.name}: ${diffText(d)}; ${a.name} ${perSeed(a.seeds)}; ${b.name} ${perSeed(b.seeds)}`;
  if (problem) return { verdict: 'undecided', text: `${label}: ${problem}${a.values.length && b.values.length ? `. ${stat}` : ''}` };
  const verdict = relationVerdict(d, rel);
  const why = verdict === 'undecided' ? (d.lo === undefined ? 'fewer than 2 seeds' : 'the interval includes the boundary') : verdict;
  return { verdict, text: `${label} (${rel === '~' ? `|d| <= ${EQUIVALENCE_POINTS}` : rel === '>=' ? `d > -${EQUIVALENCE_POINTS}` : 'd > 0'}): ${stat} -> ${why}` };
}

function c1(results: StudyResults, arms: readonly Arm[], add: TaskSettings | undefined): Claim {
  const statement = 'on addition, dual-ut >= dense > ut > iterative-step ~ iterative';
  if (!add) return { id: 'C1', statement, verdict: 'undecided', parts: [{ verdict: 'undecided', text: 'the study has no addition task' }] };
  const cell = (r: string) => cellOf(results, arms, r, add, add.length);
  const parts = [
    comparePart('dual-ut >= dense', cell('dual-ut'), cell('dense'), '>='),
    comparePart('dense > ut', cell('dense'), cell('ut'), '>'),
    comparePart('ut > iterative-step', cell('ut'), cell('iterative-step'), '>'),
    comparePart('iterative-step ~ iterative', cell('iterative-step'), cell('iterative'), '~'),
  ];
  return { id: 'C1', statement, verdict: combine(parts), parts };
}

function c2(results: StudyResults, arms: readonly Arm[], tasks: readonly TaskSettings[], chance?: number): Claim {
  const statement = 'dual-nested-ut and ar-trm stay near chance on every task while the flat rungs learn them';
  const parts: ClaimPart[] = [];
  for (const t of tasks) {
    const level = chance ?? taskChance(t);
    const bound = (level + NEAR_CHANCE_POINTS) / 100;
    const dense = cellOf(results, arms, 'dense', t, t.length);
    const hits = dense.values.filter((v) => v >= results.study.success).length;
    const learns = !dense.problem && dense.values.length >= 2 && hits === dense.values.length;
    if (!dense.values.length) {
      parts.push({ verdict: 'undecided', text: `dense learns ${t.name}: ${dense.problem}` });
    } else parts.push({
      verdict: learns ? 'supported' : 'undecided',
      text: `dense learns ${t.name} (every seed >= ${pct1(results.study.success)}%): ${dense.problem ? `${dense.problem}. ` : ''}${hits}/${dense.values.length} seeds; ${perSeed(dense.seeds)}${learns ? ' -> supported' : dense.values.length < 2 ? ' -> undecided: fewer than 2 seeds' : dense.problem ? ' -> undecided' : ' -> undecided: the flat reference does not learn the task at this scale'}`,
    });
    for (const rung of NESTED) {
      const c = cellOf(results, arms, rung, t, t.length, charAcc, 'upper-bound');
      const ci = meanCI(c.values);
      const stat = `${c.name} on ${t.name}: ${ci.n ? pct1(ci.mean) : '-'}${ci.lo === undefined ? '' : ` [${pct1(ci.lo)}, ${pct1(ci.hi!)}]`}; ${perSeed(c.seeds)}${c.note ?? ''}${learnedCount(results, c.name, t)}`;
      if (c.problem) {
        parts.push({ verdict: 'undecided', text: c.values.length ? `${c.problem}. ${stat}` : c.problem });
        continue;
      }
      const verdict: ClaimVerdict = ci.hi === undefined ? 'undecided' : ci.hi <= bound ? 'supported' : ci.lo! > bound ? 'contradicted' : 'undecided';
      parts.push({ verdict, text: `${stat} (near chance: 95% upper bound <= ${pct1(bound)}%, chance ${level.toFixed(1)}% + ${NEAR_CHANCE_POINTS}) -> ${verdict}` });
    }
  }
  return { id: 'C2', statement, verdict: combine(parts), parts };
}

/** "; k/n seeds end at >= success": how many seeds of a nested cell learned the task, beside its mean (a bimodal cell). */
function learnedCount(results: StudyResults, arm: string, task: TaskSettings): string {
  const { hits, n } = successCount(results, arm, task);
  return n ? `; ${hits}/${n} seeds end at >= ${pct1(results.study.success)}%` : '';
}

function c3(results: StudyResults, arms: readonly Arm[], add: TaskSettings | undefined): Claim {
  const statement = 'the tied single-stream rungs (iterative, iterative-step, ut) learn the leading answer digits and fail the last ones (answer quartiles Q1 vs Q4)';
  if (!add) return { id: 'C3', statement, verdict: 'undecided', parts: [{ verdict: 'undecided', text: 'the study has no addition task' }] };
  const success = results.study.success;
  const parts = TIED_SINGLE_STREAM.map((rung): ClaimPart => {
    const q1 = cellOf(results, arms, rung, add, add.length, quartile(0));
    const q4 = cellOf(results, arms, rung, add, add.length, quartile(3));
    const d = welchDiffCI(q1.values, q4.values);
    const q4ci = meanCI(q4.values);
    const stat = `${q1.name} Q1 - Q4: ${diffText(d)}; Q1 ${perSeed(q1.seeds)}; Q4 ${perSeed(q4.seeds)}`;
    if (q1.problem) return { verdict: 'undecided', text: q1.values.length ? `${q1.problem}. ${stat}` : q1.problem };
    let verdict: ClaimVerdict = 'undecided';
    if (d.lo !== undefined && q4ci.hi !== undefined) {
      if (d.hi! < 0 || q4ci.lo! >= success) verdict = 'contradicted';
      else if (d.lo > 0 && q4ci.hi < success) verdict = 'supported';
    }
    return { verdict, text: `${stat} (Q1 > Q4 and Q4's 95% upper bound < ${pct1(success)}%) -> ${verdict}` };
  });
  return { id: 'C3', statement, verdict: combine(parts), parts };
}

/** The first evaluation step at which `pick` of the metrics at `length` is >= `level`; undefined if none. */
export function firstStepAt(run: RunResult, length: number, pick: MetricPick, level: number): number | undefined {
  return run.curve.find((p) => {
    const m = p.evals[String(length)];
    const v = m ? pick(m) : null;
    return v !== null && v >= level;
  })?.step;
}

/** The first evaluation step at which the last answer character is right on >= TRANSITION_LEVEL of problems. */
export function transitionStep(run: RunResult, length: number, level = TRANSITION_LEVEL): number | undefined {
  return firstStepAt(run, length, lastCharAcc, level);
}

type StepsRelation = 'before' | 'no later' | '~';

/**
 * A part comparing how soon two rungs reach a level (per seed, the first evaluation step at which `pick` >= level):
 * `a before b` (a needs fewer steps; Welch interval of steps(b) - steps(a) above 0), `a no later than b` (that
 * interval not below 0, supported above -margin), or `a ~ b` (within ±margin steps). A seed that never reaches
 * the level counts as the step after its own training's end (a run extended past the task's steps ends later),
 * a lower bound of its true step, so a verdict that a censored seed could overturn is undecided.
 */
function stepsPart(results: StudyResults, arms: readonly Arm[], task: TaskSettings, label: string, a: string, b: string, rel: StepsRelation, pick: MetricPick, level: number, margin: number): ClaimPart {
  const evalEvery = results.study.config.evalEvery;
  const side = (rung: string) => {
    const arm = plainArm(arms, rung);
    const runs = arm ? finishedRuns(results).filter((r) => r.arm === arm.name && r.task === task.name) : [];
    const steps = runs.map((r) => ({ seed: r.seed, step: firstStepAt(r, task.length, pick, level), censor: Math.max(task.steps, r.lastStep ?? 0) + evalEvery }));
    return { name: arm?.name ?? rung, steps, values: steps.map((s) => s.step ?? s.censor), censored: steps.some((s) => s.step === undefined) };
  };
  const [sa, sb] = [side(a), side(b)];
  const list = (s: typeof sa) => s.steps.map((x) => (x.step !== undefined ? `${x.step} (s${x.seed})` : `never (s${x.seed}, counted as ${x.censor})`)).join(', ') || '-';
  const d = welchDiffCI(sb.values, sa.values);
  const stat = `${sb.name} - ${sa.name} steps: ${diffText(d, 1, 0)}; ${sa.name} ${list(sa)}; ${sb.name} ${list(sb)} (a seed that never gets there counts as the step after its training, a lower bound)`;
  let verdict = relationVerdict(d, rel === 'before' ? '>' : rel === 'no later' ? '>=' : '~', margin);
  let why: string = verdict;
  if (!sa.steps.length || !sb.steps.length) [verdict, why] = ['undecided', 'a side has no finished run'];
  else if (sa.censored && sb.censored) [verdict, why] = ['undecided', 'seeds of both rungs never get there within training'];
  else if (verdict !== 'undecided' && (rel === '~' ? sa.censored || sb.censored : verdict === 'supported' ? sa.censored : sb.censored)) [verdict, why] = ['undecided', 'a censored seed could change it'];
  else if (verdict === 'undecided') why = d.lo === undefined ? 'fewer than 2 seeds' : 'the interval includes the boundary';
  return { verdict, text: `${label}${rel === '~' ? ` (|d| <= ${margin} steps)` : rel === 'no later' ? ` (d > -${margin} steps)` : ''}: ${stat} -> ${why}` };
}

function c1s(results: StudyResults, arms: readonly Arm[], add: TaskSettings | undefined): Claim {
  const success = results.study.success;
  const statement = `(ours, not the paper's) C1's order as learning speed on addition: the first evaluation step with character accuracy >= ${pct1(success)}%, dual-ut no later than dense, dense before ut before iterative-step, iterative-step ~ iterative`;
  if (!add) return { id: 'C1s', statement, verdict: 'undecided', parts: [{ verdict: 'undecided', text: 'the study has no addition task' }] };
  const margin = 2 * results.study.config.evalEvery;
  const part = (label: string, a: string, b: string, rel: StepsRelation) => stepsPart(results, arms, add, label, a, b, rel, charAcc, success, margin);
  const parts = [
    part('dual-ut no later than dense', 'dual-ut', 'dense', 'no later'),
    part('dense before ut', 'dense', 'ut', 'before'),
    part('ut before iterative-step', 'ut', 'iterative-step', 'before'),
    part('iterative-step ~ iterative', 'iterative-step', 'iterative', '~'),
  ];
  return { id: 'C1s', statement, verdict: combine(parts), parts };
}

function c4(results: StudyResults, arms: readonly Arm[], add: TaskSettings | undefined): Claim {
  const statement = `dual-ut crosses the last-digit transition before dense (first evaluation with last-digit accuracy >= ${pct1(TRANSITION_LEVEL)}%, per seed)`;
  if (!add) return { id: 'C4', statement, verdict: 'undecided', parts: [{ verdict: 'undecided', text: 'the study has no addition task' }] };
  const part = stepsPart(results, arms, add, 'dual-ut before dense', 'dual-ut', 'dense', 'before', lastCharAcc, TRANSITION_LEVEL, 0);
  return { id: 'C4', statement, verdict: part.verdict, parts: [part] };
}

function c5(results: StudyResults, arms: readonly Arm[], tasks: readonly TaskSettings[]): Claim {
  const statement = 'learned absolute positions do not generalise to longer lengths (arms that learn a task at its training length fail at the longest evaluation length)';
  const success = results.study.success;
  const parts: ClaimPart[] = [];
  for (const t of tasks) {
    const longest = Math.max(...t.evalLengths);
    if (longest <= t.length) continue;
    for (const arm of arms.filter(isPlainRung)) {
      const train = cellOf(results, arms, arm.rung, t, t.length);
      if (train.problem || train.values.length < 2 || train.values.some((v) => v < success)) continue; // did not learn the task
      const long = cellOf(results, arms, arm.rung, t, longest);
      const d = welchDiffCI(train.values, long.values);
      const ci = meanCI(long.values);
      const stat = `${arm.name} on ${t.name}, L ${t.length} - L ${longest}: ${diffText(d)}; at L ${longest} ${perSeed(long.seeds)}`;
      let verdict: ClaimVerdict = 'undecided';
      if (ci.hi !== undefined && d.lo !== undefined) verdict = ci.lo! >= success ? 'contradicted' : d.lo > 0 && ci.hi < success ? 'supported' : 'undecided';
      parts.push({ verdict, text: `${stat} (lower at L ${longest} and its 95% upper bound < ${pct1(success)}%) -> ${verdict}` });
    }
  }
  if (!parts.length) parts.push({ verdict: 'undecided', text: 'no arm learns a task at its training length on every seed (>= 2 seeds, plateaued), or no task is evaluated beyond its training length' });
  return { id: 'C5', statement, verdict: combine(parts), parts };
}


/**
 * The paper's five claims checked against a study's results (cells that do not exist make them undecided).
 * `chance` (percent) replaces every task's own chance level (taskChance) in C2.
 */
export function checkClaims(results: StudyResults, chance?: number): Claim[] {
  const { tasks } = presentAxes(results);
  const arms = results.study.arms;
  const add = tasks.find((t) => t.name === 'addition');
  return [c1(results, arms, add), c1s(results, arms, add), c2(results, arms, tasks, chance), c3(results, arms, add), c4(results, arms, add), c5(results, arms, tasks)];
}
