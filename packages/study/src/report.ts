import { join } from 'node:path';
import { duration, human, pct, table } from '@tarm/eval';
import { PAPER_RUNGS } from '@tarm/recursion';
import { charAcc, finalCell, presentAxes, quartile, seedLabel, seedValues, successCount } from './aggregate.js';
import { writeFileAtomic } from './files.js';
import { AGREEMENT_POINTS, PAPER_ADDITION_QUARTILES, PAPER_CHANCE, paperHeadline } from './paper.js';
import { studyPlots, writePlots } from './plots.js';
import { readResults, type StudyResults } from './results.js';
import { armFlags, ConfigSchema, isPlainRung, type Arm, type TaskSettings } from './schema.js';
import { taskChance } from './chance.js';
import { checkClaims, EQUIVALENCE_POINTS, NEAR_CHANCE_POINTS, TRANSITION_LEVEL } from './claims.js';
import { cellLateWindows, LATE_MIN_EVALS, PLATEAU_POINTS, risingSeeds } from './plateau.js';
import { formatMeanCI, formatSigned, welchDiffCI, type DiffCI, type MeanCI } from './stats.js';

export const REPORT_FILE = 'report.md';
export const PLOTS_DIR = 'plots';

const md = (headers: readonly string[], rows: readonly (readonly string[])[], align?: readonly ('l' | 'r')[]) => table(headers, rows, { markdown: true, align });

/** The published headline of an arm's cell: only an arm that is its rung as published has one. */
const published = (arm: Arm, task: string) => (isPlainRung(arm) ? paperHeadline(arm.rung, task) : undefined);

/** "98.2 ± 1.1 (paper 100)"; "-" when the cell has no finished run. */
function cellText(ci: MeanCI, paper: number | undefined): string {
  const ours = formatMeanCI(ci);
  return paper === undefined ? ours : `${ours} (paper ${paper})`;
}

/**
 * One plain sentence comparing a mean (percent) with a published value: within AGREEMENT_POINTS points,
 * above or below by how much, and whether the published value lies inside our 95% interval.
 */
export function agreement(label: string, ci: MeanCI, paper: number): string {
  if (ci.n === 0) return `${label}: no finished run (paper ${paper}).`;
  const d = 100 * ci.mean - paper;
  const verdict =
    Math.abs(d) <= AGREEMENT_POINTS ? `within ${AGREEMENT_POINTS} points of the paper (${d >= 0 ? '+' : ''}${d.toFixed(1)})` : `${d > 0 ? 'above' : 'below'} the paper by ${Math.abs(d).toFixed(1)} points`;
  const ciNote =
    ci.lo !== undefined && ci.hi !== undefined ? `; the paper value lies ${100 * ci.lo <= paper && paper <= 100 * ci.hi ? 'inside' : 'outside'} our 95% CI` : '; one seed, no interval';
  return `${label}: ours ${formatMeanCI(ci)} vs paper ${paper}: ${verdict}${ciNote}.`;
}

/** Whether the study ran the paper's own configuration (every default, no task setting of its own). */
function isPaperConfig(results: StudyResults): boolean {
  const { study } = results;
  return JSON.stringify(study.config) === JSON.stringify(ConfigSchema.parse({})) && study.tasks.every((t) => Object.keys(t).length === 1);
}

function configSection(results: StudyResults, tasks: readonly TaskSettings[]): string {
  const c = results.study.config;
  const rows = [
    ['tasks', tasks.map((t) => `${t.name} (L ${t.length}, ${t.steps} steps${t.maxSteps > t.steps ? `, up to ${t.maxSteps} while still moving` : ''}, eval at ${t.evalLengths.join(', ')})`).join('; ')],
    ['budget B (block passes)', String(c.budget)],
    ['width C / heads', `${c.dModel} / ${c.nHeads}`],
    ['batch', String(c.batch)],
    ['lr / dropout', `${c.lr} / ${c.dropout}`],
    ['decoding', c.decode === 'sample' ? 'sampling, T = 1' : 'greedy'],
    ['evaluation', `every ${c.evalEvery} steps on ${c.evalN} problems per length`],
    ['seeds', results.study.seeds.join(', ')],
    ['backend', [...new Set(results.runs.map((r) => r.backend).filter(Boolean))].join(', ') || '-'],
    ['CPU (finished runs)', cpuCounts(results)],
  ];
  const out = ['## Configuration', '', md(['setting', 'value'], rows, ['l', 'l'])];
  if (results.study.notes.length) out.push('', "Changes from the paper's configuration:", '', ...results.study.notes.map((n) => `- ${n}`));
  if (!isPaperConfig(results)) {
    out.push('', `> This is not the paper's configuration: the paper's numbers are shown for orientation; a gap to them is expected and is not a failed reproduction by itself.`);
  }
  return out.join('\n');
}

/** "AMD EPYC (avx2, avx512f): 40 runs; not recorded: 24": node's kernels, so its numbers, depend on the CPU kind. */
function cpuCounts(results: StudyResults): string {
  const counts = new Map<string, number>();
  for (const { cpu = 'not recorded' } of results.runs.filter((x) => x.status === 'finished')) counts.set(cpu, (counts.get(cpu) ?? 0) + 1);
  return [...counts].map(([cpu, n]) => `${cpu}: ${n} run${n === 1 ? '' : 's'}`).join('; ') || '-';
}

function armsSection(arms: readonly Arm[]): string[] {
  if (arms.every((a) => isPlainRung(a) && a.name === a.rung && a.change === undefined)) return [];
  const rows = arms.map((a) => [a.name, a.rung, armFlags(a).length ? `\`${armFlags(a).join(' ')}\`` : '-', a.change ?? '-']);
  return [
    '## Arms',
    '',
    'Every arm trains with the same configuration and the same budget of block passes per forward pass; it differs only by its rung and switches.',
    '',
    md(['arm', 'rung', 'switches', 'change'], rows, ['l', 'l', 'l', 'l']),
    '',
  ];
}

function headlineSection(results: StudyResults, arms: readonly Arm[], tasks: readonly TaskSettings[]): string {
  const rising = (a: Arm, t: TaskSettings) => (risingSeeds(results, a.name, t.name, t.length).length ? ' still rising' : '');
  const rows = arms.map((a) => [a.name, ...tasks.map((t) => cellText(finalCell(results, a.name, t.name, t.length), published(a, t.name)) + rising(a, t))]);
  const ours = arms.filter((a) => isPlainRung(a) && !PAPER_RUNGS.includes(a.rung as never)).map((a) => a.name);
  return [
    `## Headline: character accuracy at the training length (final step)`,
    '',
    md(['arm', ...tasks.map((t) => `${t.name} (L = ${t.length})`)], rows),
    '',
    `Percent of answer characters correct at the final evaluation; mean ± 95% confidence interval over seeds (Student t), "n=1" for a single seed; finished runs only. "still rising": a seed's last two evaluations differ by >= ${PLATEAU_POINTS} points, so the cell's number is not a plateau (see Seeds). "(paper X)": the published value at budget 24, 5000 steps, for an arm that is its rung as published. Chance (the best predictor that ignores the prompt): ${tasks.map((t) => `${t.name} ${taskChance(t).toFixed(1)}%`).join(', ')}.`,
    ...(ours.length ? ['', `${ours.join(', ')}: not in the paper (ours: ar-trm with TRM's training recipe switched on), so no published value to compare with.`] : []),
    '',
    `![headline](${PLOTS_DIR}/headline.svg)`,
  ].join('\n');
}

/** What the Seeds section says about runs trained past their task's steps, for a study whose tasks allow it. */
function extensionNote(tasks: readonly TaskSettings[]): string {
  const extending = tasks.filter((t) => t.maxSteps > t.steps);
  if (!extending.length) return '';
  const caps = extending.map((t) => `${t.name} ${t.steps} -> ${t.maxSteps}`).join(', ');
  return (
    ` A run that is still moving at its task's steps (it fails the plateau rule, or climbs late below the success level) trains on one evaluation interval at a time until it settles or reaches the task's \`maxSteps\` (${caps}); such a seed is shown as "s3, 5750 steps", and its value is its last evaluation there.`
  );
}

/** Per cell, every seed's value and how many seeds reach the study's success threshold. */
function seedsSection(results: StudyResults, arms: readonly Arm[], tasks: readonly TaskSettings[]): string {
  const threshold = pct(results.study.success).replace(/\.0$/, '');
  const rows = tasks.flatMap((t) =>
    arms.map((a) => {
      const seeds = seedValues(results, a.name, t.name, t.length);
      const { hits, n } = successCount(results, a.name, t);
      const rising = risingSeeds(results, a.name, t.name, t.length);
      const plateau = !seeds.length ? '-' : rising.length ? `still rising: ${rising.map((r) => `s${r.seed} ${formatSigned(r.change)}`).join(', ')}` : 'yes';
      const climbing = cellLateWindows(results, a.name, t.name, t.length).filter((x) => (x.final ?? 0) < results.study.success && x.w?.climbing);
      const late = !seeds.length ? '-' : climbing.length ? `climbing: ${climbing.map((x) => `s${x.seed} ${formatSigned(x.w!.rise)}`).join(', ')}` : 'no';
      return [a.name, t.name, seeds.length ? seeds.map((s) => `${pct(s.value)} (${seedLabel(s)})`).join(', ') : '-', n ? `${hits}/${n} seeds >= ${threshold}%` : '-', plateau, late];
    }),
  );
  return [
    '## Seeds',
    '',
    `Character accuracy (%) of each finished seed at the training length, and how many seeds reach ${threshold}% (the study's \`success\`): a cell whose seeds split into two groups is misdescribed by its mean and interval alone. The headline chart draws these values beside the bars. "plateau": yes when every seed's last two evaluations differ by < ${PLATEAU_POINTS} points; otherwise "still rising" with the seeds that do not and their last change in points. "late climb": the seeds whose evaluations in the last half of training (at least the last ${LATE_MIN_EVALS}) climb, least-squares slope with its 95% interval above 0 and a rise of >= ${PLATEAU_POINTS} points over them (the fitted rise in points), among the seeds below ${threshold}% (a seed that learned the task climbed to get there); a cell that is "still rising" with no late climb is drifting between evaluations, not learning (see Claims, C2).${extensionNote(tasks)}`,
    '',
    md(['arm', 'task', 'per seed', 'success', 'plateau', 'late climb'], rows, ['l', 'l', 'l', 'r', 'l', 'l']),
  ].join('\n');
}

/**
 * `higher` / `lower`: the 95% interval of the difference excludes 0; `no detectable change`: it includes 0;
 * `no interval`: an arm has fewer than 2 finished seeds.
 */
export type Verdict = 'higher' | 'lower' | 'no detectable change' | 'no interval';

export function verdictOf(d: DiffCI): Verdict {
  if (d.lo === undefined || d.hi === undefined) return 'no interval';
  return d.lo > 0 ? 'higher' : d.hi < 0 ? 'lower' : 'no detectable change';
}

/** One row of the comparisons: an arm minus another in character accuracy at a task's training length. */
export interface Comparison {
  readonly arm: string;
  readonly vs: string;
  readonly task: string;
  readonly armMean: MeanCI;
  readonly vsMean: MeanCI;
  readonly diff: DiffCI;
  readonly verdict: Verdict;
}

/** The study file's `compare` list on every task, with 95% Welch intervals. */
export function comparisons(results: StudyResults): Comparison[] {
  const { tasks } = presentAxes(results);
  return tasks.flatMap((t) =>
    results.study.compare.map((c) => {
      const values = (arm: string) => seedValues(results, arm, t.name, t.length).map((s) => s.value);
      const diff = welchDiffCI(values(c.arm), values(c.vs));
      return { arm: c.arm, vs: c.vs, task: t.name, armMean: finalCell(results, c.arm, t.name, t.length), vsMean: finalCell(results, c.vs, t.name, t.length), diff, verdict: verdictOf(diff) };
    }),
  );
}

function compareSection(results: StudyResults): string[] {
  const rows = comparisons(results).map((c) => [
    c.arm,
    c.vs,
    c.task,
    c.armMean.n ? pct(c.armMean.mean) : '-',
    c.vsMean.n ? pct(c.vsMean.mean) : '-',
    Number.isFinite(c.diff.diff) ? formatSigned(c.diff.diff) : '-',
    c.diff.lo === undefined || c.diff.hi === undefined ? '-' : `[${formatSigned(c.diff.lo)}, ${formatSigned(c.diff.hi)}]`,
    c.diff.df === undefined ? '-' : String(c.diff.df),
    c.verdict,
  ]);
  if (!rows.length) return [];
  return [
    '## Comparisons',
    '',
    "Character accuracy at the training length of each arm minus the arm it is compared with (the study file's `compare`), in percentage points, with a 95% Welch two-sample t interval: d ± t(0.975, df) · sqrt(s₁²/n₁ + s₂²/n₂), df by Welch-Satterthwaite rounded down (conservative). The arms are treated as independent samples over seeds; they share seeds, so a paired interval could be narrower. \"higher\" / \"lower\": the interval excludes 0; \"no detectable change\": it includes 0, which at a few seeds is no evidence of no effect.",
    '',
    md(['arm', 'vs', 'task', 'arm mean', 'vs mean', 'difference', '95% CI', 'df', 'verdict'], rows, ['l', 'l', 'l', 'r', 'r', 'r', 'r', 'r', 'l']),
    '',
  ];
}

function quartileSection(results: StudyResults, arms: readonly Arm[], t: TaskSettings): string {
  const rows = arms.map((a) => [
    a.name,
    ...([0, 1, 2, 3] as const).map((q) => formatMeanCI(finalCell(results, a.name, t.name, t.length, quartile(q)))),
    (isPlainRung(a) && PAPER_ADDITION_QUARTILES[a.rung as keyof typeof PAPER_ADDITION_QUARTILES]?.summary) || '-',
  ]);
  return [
    `## Addition by answer quartile (L = ${t.length}, final step)`,
    '',
    'Q1 holds the most significant answer digits, Q4 the least significant (the last digit is the hardest: it needs the whole carry chain).',
    '',
    md(['arm', 'Q1', 'Q2', 'Q3', 'Q4', 'paper'], rows, ['l', 'r', 'r', 'r', 'r', 'l']),
    '',
    `![addition quartiles](${PLOTS_DIR}/addition-quartiles.svg)`,
  ].join('\n');
}

function agreementSection(results: StudyResults, arms: readonly Arm[], tasks: readonly TaskSettings[]): string {
  const lines: string[] = [];
  const cell = (a: Arm, t: TaskSettings) => finalCell(results, a.name, t.name, t.length);
  for (const t of tasks) for (const a of arms) {
    const paper = published(a, t.name);
    if (paper !== undefined) lines.push(`- ${agreement(`${a.name} / ${t.name}`, cell(a, t), paper)}`);
  }
  const add = tasks.find((t) => t.name === 'addition');
  if (add) {
    const plain = arms.filter((a) => published(a, 'addition') !== undefined);
    for (const a of plain) {
      const q = PAPER_ADDITION_QUARTILES[a.rung as keyof typeof PAPER_ADDITION_QUARTILES]?.quartiles;
      if (q) ([0, 1, 2, 3] as const).forEach((i) => lines.push(`- ${agreement(`${a.name} / addition Q${i + 1}`, finalCell(results, a.name, 'addition', add.length, quartile(i)), q[i])}`));
    }
    const ranked = plain.map((a) => ({ a, ci: cell(a, add) })).filter((x) => x.ci.n > 0).sort((x, y) => y.ci.mean - x.ci.mean);
    const paperOrder = [...plain].sort((x, y) => published(y, 'addition')! - published(x, 'addition')!);
    if (ranked.length > 1) {
      lines.push(
        `- Ranking on addition (best first): ours ${ranked.map((x) => `${x.a.name} ${pct(x.ci.mean)}`).join(' > ')}; paper ${paperOrder.map((a) => `${a.name} ${published(a, 'addition')}`).join(' > ')}. ` +
          (ranked[0]!.a === paperOrder[0] ? `Both put ${paperOrder[0]!.name} first.` : `The paper puts ${paperOrder[0]!.name} first, this study ${ranked[0]!.a.name}.`),
      );
    }
  }
  if (!lines.length) lines.push('- No cell of this study has a published value.');
  const head = ['## Agreement with the paper', '', `Each line compares our mean with the published value (percent); "within ${AGREEMENT_POINTS} points" means |ours - paper| <= ${AGREEMENT_POINTS}.`];
  if (!isPaperConfig(results)) head.push('The configurations differ (see Configuration), so these lines describe the gap, not a verdict on the reproduction.');
  return [...head, '', ...lines].join('\n');
}

function lengthSection(results: StudyResults, arms: readonly Arm[], tasks: readonly TaskSettings[]): string {
  const lengths = [...new Set(tasks.flatMap((t) => t.evalLengths))].sort((a, b) => a - b);
  const rows = tasks.flatMap((t) => arms.map((a) => [a.name, t.name, ...lengths.map((L) => (t.evalLengths.includes(L) ? formatMeanCI(finalCell(results, a.name, t.name, L)) : ''))]));
  return [
    '## Length generalisation (final step)',
    '',
    'Learned absolute positions are expected to fail at lengths not seen in training.',
    '',
    md(['arm', 'task', ...lengths.map((L) => `L=${L}`)], rows, ['l', 'l', ...lengths.map(() => 'r' as const)]),
    '',
    `![length generalisation](${PLOTS_DIR}/length-generalisation.svg)`,
  ].join('\n');
}

function runsSection(results: StudyResults, tasks: readonly TaskSettings[]): string {
  const lengths = [...new Set(tasks.flatMap((t) => t.evalLengths))].sort((a, b) => a - b);
  const rows = results.runs.map((r) => [
    r.arm,
    r.task,
    String(r.seed),
    r.status,
    r.backend ?? '-',
    human(r.params),
    r.tokensPerSecond === null ? '-' : String(Math.round(r.tokensPerSecond)),
    r.wallSeconds === null ? '-' : duration(r.wallSeconds),
    r.lastStep === null ? '-' : String(r.lastStep),
    ...lengths.map((L) => pct(r.final[String(L)]?.charAcc)),
  ]);
  const out = [
    '## Runs',
    '',
    'Character accuracy (%) at each evaluation length from the final evaluation (for unfinished runs: the last one so far).',
    '',
    md(['arm', 'task', 'seed', 'status', 'backend', 'params', 'tok/s', 'wall', 'step', ...lengths.map((L) => `acc L=${L}`)], rows, ['l', 'l', 'r', 'l', 'l', 'r', 'r', 'r', 'r', ...lengths.map(() => 'r' as const)]),
  ];
  for (const r of results.runs.filter((x) => x.status === 'failed')) out.push('', `Failed: ${r.id}`, '', '```', (r.error ?? '(no stderr captured)').trim(), '```');
  return out.join('\n');
}

function claimsSection(results: StudyResults): string {
  const label = { supported: 'supported', contradicted: 'contradicted', undecided: 'undecided at this scale' } as const;
  const lines = checkClaims(results).flatMap((c) => [`- **${c.id}** ${c.statement}: **${label[c.verdict]}**`, ...c.parts.map((p) => `  - ${p.text}`)]);
  return [
    '## Claims',
    '',
    `Each claim of the paper, judged from the finished runs of this study at its training lengths (final evaluation; differences in points, 95% Welch intervals over seeds). A part is supported or contradicted only when its interval says so: \`a > b\` needs the interval of a - b above 0 (below 0 contradicts); \`a >= b\` is contradicted below 0 and supported above -${EQUIVALENCE_POINTS}; \`a ~ b\` is supported inside ±${EQUIVALENCE_POINTS} and contradicted outside it; "near chance" means a 95% upper bound <= chance + ${NEAR_CHANCE_POINTS} points, chance being the task's own (the character accuracy of the best predictor that ignores the prompt: 10% on copy and reverse, about 18% on addition at L = 4, whose padded sum starts with 0 or 1); the last-digit transition is the first evaluation with last-digit accuracy >= ${100 * TRANSITION_LEVEL}%. C1s is ours, not the paper's: C1's order read as learning speed, the first evaluation at which each seed reaches the study's success level on addition (fewer steps is better; \`~\` within ±2 evaluation intervals), for scales where every rung learns the task by the end; a seed that never gets there counts as the step after training, a lower bound. A part is undecided when a cell is missing, has < 2 seeds, or is still rising (its last two evaluations differ by >= ${PLATEAU_POINTS} points); "near chance" instead judges each seed at its highest evaluation in the last half of training (at least its last ${LATE_MIN_EVALS}), a stricter test of a low value that drift at chance cannot leave undecided, and is undecided only while a seed's late evaluations climb (least-squares slope with its 95% interval above 0, rising >= ${PLATEAU_POINTS} points). A claim is contradicted by any contradicted part, supported when every part is, and otherwise undecided.`,
    '',
    ...lines,
  ].join('\n');
}

/** The whole report.md text for a study's results. */
export function reportMarkdown(results: StudyResults): string {
  const { arms, tasks } = presentAxes(results);
  const s = results.study;
  const count = (st: string) => results.runs.filter((r) => r.status === st).length;
  const compute = results.runs.reduce((a, r) => a + (r.wallSeconds ?? 0), 0);
  const n = results.sessions.length;
  const addition = tasks.find((t) => t.name === 'addition');
  return [
    `# Study \`${s.name}\``,
    '',
    s.description,
    '',
    `- Runs: ${count('finished')} finished of ${results.runs.length}` +
      (count('failed') ? `, ${count('failed')} failed` : '') +
      (count('incomplete') ? `, ${count('incomplete')} incomplete` : '') +
      (count('pending') ? `, ${count('pending')} not started` : '') +
      '.',
    `- Wall time of the study: ${duration(results.wallSeconds)} over ${n} session${n === 1 ? '' : 's'} (sum of run wall times: ${duration(compute)}).`,
    `- Created ${results.createdAt}; report generated from results.json (${results.generatedAt}).`,
    '',
    claimsSection(results),
    '',
    configSection(results, tasks),
    '',
    ...armsSection(arms),
    headlineSection(results, arms, tasks),
    '',
    seedsSection(results, arms, tasks),
    '',
    ...compareSection(results),
    ...(addition ? [quartileSection(results, arms, addition), ''] : []),
    agreementSection(results, arms, tasks),
    '',
    '## Learning curves',
    '',
    'Character accuracy at the training length at each evaluation, against training steps and against training FLOPs (forward + backward, all block passes of the budget).',
    '',
    ...tasks.map((t) => `![${t.name} learning curves](${PLOTS_DIR}/curves-${t.name}.svg)`),
    '',
    '## Last-character accuracy',
    '',
    `![last-character accuracy](${PLOTS_DIR}/last-char.svg)`,
    '',
    lengthSection(results, arms, tasks),
    '',
    runsSection(results, tasks),
    '',
  ].join('\n');
}

/** Paths written by {@link writeReport}. */
export interface ReportFiles {
  readonly report: string;
  readonly plots: readonly string[];
}

/** Writes `outDir/report.md` and the SVG charts in `outDir/plots/` (with their vega-lite specs). */
export async function writeReport(outDir: string, results: StudyResults = readResults(outDir)): Promise<ReportFiles> {
  const plots = await writePlots(join(outDir, PLOTS_DIR), studyPlots(results));
  const report = join(outDir, REPORT_FILE);
  writeFileAtomic(report, reportMarkdown(results));
  return { report, plots };
}
