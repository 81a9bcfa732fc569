import { join } from 'node:path';
import { charAcc, finalCell, presentAxes, quartile } from './aggregate.js';
import { writeFileAtomic } from './files.js';
import type { FlopsPerTokenFn } from './flops.js';
import { duration, human, pct } from './format.js';
import { AGREEMENT_POINTS, PAPER_ADDITION_QUARTILES, PAPER_CHANCE, paperHeadline } from './paper.js';
import { studyPlots, writePlots } from './plots.js';
import { MODEL_NAMES, PAPER_MODEL_NAMES, PAPER_PRESET, type ModelName, type TaskName } from './presets.js';
import { readResults, type StudyResults } from './results.js';
import { formatMeanCI, type MeanCI } from './stats.js';

export const REPORT_FILE = 'report.md';
export const PLOTS_DIR = 'plots';

/** Markdown table. */
function table(headers: readonly string[], rows: readonly (readonly string[])[], align?: readonly ('l' | 'r')[]): string {
  const sep = headers.map((_, i) => ((align?.[i] ?? (i === 0 ? 'l' : 'r')) === 'r' ? '---:' : '---'));
  return [headers, sep, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

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
  const ours = 100 * ci.mean;
  const d = ours - paper;
  const verdict =
    Math.abs(d) <= AGREEMENT_POINTS ? `within ${AGREEMENT_POINTS} points of the paper (${d >= 0 ? '+' : ''}${d.toFixed(1)})` : `${d > 0 ? 'above' : 'below'} the paper by ${Math.abs(d).toFixed(1)} points`;
  let ciNote = '';
  if (ci.lo !== undefined && ci.hi !== undefined) {
    ciNote = 100 * ci.lo <= paper && paper <= 100 * ci.hi ? '; the paper value lies inside our 95% CI' : '; the paper value lies outside our 95% CI';
  } else ciNote = '; one seed, no interval';
  return `${label}: ours ${formatMeanCI(ci)} vs paper ${paper}: ${verdict}${ciNote}.`;
}

/** Whether the study ran the paper's own configuration. */
function isPaperConfig(results: StudyResults): boolean {
  return JSON.stringify(results.study.config) === JSON.stringify(PAPER_PRESET.config);
}

function configSection(results: StudyResults): string {
  const c = results.study.config;
  const rows: [string, string][] = [
    ['train length L', String(c.length)],
    ['eval lengths', c.evalLengths.join(', ')],
    ['budget B (block passes)', String(c.budget)],
    ['width C / heads', `${c.dModel} / ${c.nHeads}`],
    ['steps x batch', `${c.steps} x ${c.batch}`],
    ['lr / dropout', `${c.lr} / ${c.dropout}`],
    ['decoding', c.decode === 'sample' ? 'sampling, T = 1' : 'greedy'],
    ['evaluation', `every ${c.evalEvery} steps on ${c.evalN} problems per length`],
    ['seeds', results.study.grid.seeds.join(', ')],
  ];
  const out = [`## Configuration`, '', table(['setting', 'value'], rows.map(([a, b]) => [a, b]), ['l', 'l'])];
  if (results.study.notes.length) out.push('', 'Changes from the paper\'s configuration:', '', ...results.study.notes.map((n) => `- ${n}`));
  if (!isPaperConfig(results)) {
    out.push('', `> This is not the paper's configuration: the paper's numbers are shown for orientation; a gap to them is expected and is not a failed reproduction by itself.`);
  }
  return out.join('\n');
}

/** A line naming the models of the study that are not in the paper (no published numbers), if any. */
function unpublishedNote(models: readonly ModelName[]): string[] {
  const ours = models.filter((m) => !PAPER_MODEL_NAMES.includes(m));
  if (!ours.length) return [];
  return ['', `${ours.join(', ')}: not in the paper (ours: ar-trm with TRM's training recipe switched on), so no published value to compare with.`];
}

function headlineSection(results: StudyResults, models: ModelName[], tasks: TaskName[]): string {
  const L = results.study.config.length;
  const rows = models.map((m) => [m, ...tasks.map((t) => cellText(finalCell(results, m, t, L, charAcc), paperHeadline(m, t)))]);
  return [
    `## Headline: character accuracy at L = ${L} (final step)`,
    '',
    table(['model', ...tasks], rows),
    '',
    `Percent of answer characters correct at the final evaluation; mean ± 95% confidence interval over seeds (Student t), "n=1" for a single seed; finished runs only. "(paper X)": the published value at budget 24, 5000 steps. Chance is about ${PAPER_CHANCE}%.`,
    ...unpublishedNote(models),
    '',
    `![headline](${PLOTS_DIR}/headline.svg)`,
  ].join('\n');
}

function quartileSection(results: StudyResults, models: ModelName[]): string {
  const L = results.study.config.length;
  const rows = models.map((m) => [
    m,
    ...([0, 1, 2, 3] as const).map((q) => formatMeanCI(finalCell(results, m, 'addition', L, quartile(q)))),
    PAPER_ADDITION_QUARTILES[m]?.summary ?? '-',
  ]);
  return [
    `## Addition by answer quartile (L = ${L}, final step)`,
    '',
    'Q1 holds the most significant answer digits, Q4 the least significant (the last digit is the hardest: it needs the whole carry chain).',
    '',
    table(['model', 'Q1', 'Q2', 'Q3', 'Q4', 'paper'], rows, ['l', 'r', 'r', 'r', 'r', 'l']),
    '',
    `![addition quartiles](${PLOTS_DIR}/addition-quartiles.svg)`,
  ].join('\n');
}

function agreementSection(results: StudyResults, models: ModelName[], tasks: TaskName[]): string {
  const L = results.study.config.length;
  const lines: string[] = [];
  for (const t of tasks) {
    for (const m of models) {
      const paper = paperHeadline(m, t);
      if (paper !== undefined) lines.push(`- ${agreement(`${m} / ${t}`, finalCell(results, m, t, L, charAcc), paper)}`);
    }
  }
  if (tasks.includes('addition')) {
    for (const m of models) {
      const q = PAPER_ADDITION_QUARTILES[m]?.quartiles;
      if (!q) continue;
      ([0, 1, 2, 3] as const).forEach((i) => lines.push(`- ${agreement(`${m} / addition Q${i + 1}`, finalCell(results, m, 'addition', L, quartile(i)), q[i])}`));
    }
    const ranked = models
      .map((m) => ({ m, ci: finalCell(results, m, 'addition', L, charAcc) }))
      .filter((x) => x.ci.n > 0)
      .sort((a, b) => b.ci.mean - a.ci.mean);
    const published = MODEL_NAMES.filter((m) => paperHeadline(m, 'addition') !== undefined && models.includes(m)).sort((a, b) => paperHeadline(b, 'addition')! - paperHeadline(a, 'addition')!);
    if (ranked.length > 1 && published.length > 1) {
      lines.push(
        `- Ranking on addition (best first): ours ${ranked.map((x) => `${x.m} ${(100 * x.ci.mean).toFixed(1)}`).join(' > ')}; paper ${published.map((m) => `${m} ${paperHeadline(m, 'addition')}`).join(' > ')}. ` +
          (ranked[0]!.m === published[0] ? `Both put ${published[0]} first.` : `The paper puts ${published[0]} first, this study ${ranked[0]!.m}.`),
      );
    }
  }
  if (!lines.length) lines.push('- No cell of this study has a published value.');
  const head = [`## Agreement with the paper`, '', `Each line compares our mean with the published value (percent); "within ${AGREEMENT_POINTS} points" means |ours - paper| <= ${AGREEMENT_POINTS}.`];
  if (!isPaperConfig(results)) head.push('The configurations differ (see Configuration), so these lines describe the gap, not a verdict on the reproduction.');
  return [...head, '', ...lines].join('\n');
}

function lengthSection(results: StudyResults, models: ModelName[], tasks: TaskName[]): string {
  const lengths = results.study.config.evalLengths;
  const rows = tasks.flatMap((t) => models.map((m) => [m, t, ...lengths.map((L) => formatMeanCI(finalCell(results, m, t, L, charAcc)))]));
  return [
    `## Length generalisation (final step)`,
    '',
    `Trained at L = ${results.study.config.length}; learned absolute positions are expected to fail at unseen lengths.`,
    '',
    table(['model', 'task', ...lengths.map((L) => `L=${L}`)], rows, ['l', 'l', ...lengths.map(() => 'r' as const)]),
    '',
    `![length generalisation](${PLOTS_DIR}/length-generalisation.svg)`,
  ].join('\n');
}

function runsSection(results: StudyResults): string {
  const lengths = results.study.config.evalLengths;
  const rows = results.runs.map((r) => [
    r.model,
    r.task,
    String(r.seed),
    r.status,
    human(r.params),
    r.tokensPerSecond === null ? '-' : String(Math.round(r.tokensPerSecond)),
    r.wallSeconds === null ? '-' : duration(r.wallSeconds),
    r.lastStep === null ? '-' : String(r.lastStep),
    ...lengths.map((L) => pct(r.final[String(L)]?.charAcc)),
  ]);
  const out = [
    `## Runs`,
    '',
    'Character accuracy (%) at each evaluation length from the final evaluation (for unfinished runs: the last one so far).',
    '',
    table(['model', 'task', 'seed', 'status', 'params', 'tok/s', 'wall', 'step', ...lengths.map((L) => `acc L=${L}`)], rows, ['l', 'l', 'r', 'l', 'r', 'r', 'r', 'r', ...lengths.map(() => 'r' as const)]),
  ];
  const failed = results.runs.filter((r) => r.status === 'failed');
  for (const r of failed) out.push('', `Failed: ${r.id}`, '', '```', (r.error ?? '(no stderr captured)').trim(), '```');
  return out.join('\n');
}

/** The whole report.md text for a study's results. */
export function reportMarkdown(results: StudyResults, opts: { flops?: boolean } = {}): string {
  const { models, tasks } = presentAxes(results);
  const s = results.study;
  const count = (st: string) => results.runs.filter((r) => r.status === st).length;
  const compute = results.runs.reduce((a, r) => a + (r.wallSeconds ?? 0), 0);
  const sections = [
    `# Study \`${s.preset}\`: the ladder at matched compute`,
    '',
    `${s.description}`,
    '',
    `- Runs: ${count('finished')} finished of ${results.runs.length}` +
      (count('failed') ? `, ${count('failed')} failed` : '') +
      (count('incomplete') ? `, ${count('incomplete')} incomplete` : '') +
      (count('pending') ? `, ${count('pending')} not started` : '') +
      '.',
    `- Wall time of the study: ${duration(s.wallSeconds)} over ${s.sessions} session${s.sessions === 1 ? '' : 's'} (sum of run wall times: ${duration(compute)}).`,
    `- Created ${s.createdAt}; report generated from results.json (${results.generatedAt}).`,
    '',
    configSection(results),
    '',
    headlineSection(results, models, tasks),
    '',
  ];
  if (tasks.includes('addition')) sections.push(quartileSection(results, models), '');
  sections.push(agreementSection(results, models, tasks), '');
  sections.push(
    `## Learning curves`,
    '',
    `Character accuracy at L = ${s.config.length} at each evaluation, against training steps` +
      (opts.flops === false ? ' (no FLOPs function was given, so the FLOPs panel is left out).' : ' and against training FLOPs (forward + backward, all block passes of the budget).'),
    '',
    ...tasks.map((t) => `![${t} learning curves](${PLOTS_DIR}/curves-${t}.svg)`),
    '',
    `## Last-character accuracy`,
    '',
    `![last-character accuracy](${PLOTS_DIR}/last-char.svg)`,
    '',
    lengthSection(results, models, tasks),
    '',
    runsSection(results),
    '',
  );
  return sections.join('\n');
}

/** Paths written by {@link writeReport}. */
export interface ReportFiles {
  readonly report: string;
  readonly plots: readonly string[];
}

/**
 * Writes `outDir/report.md` and the SVG charts in `outDir/plots/` (with their vega-lite specs). `flopsPerToken`
 * (the CLI passes `@tarm/recursion`'s) adds the learning curves against training FLOPs.
 */
export async function writeReport(outDir: string, results: StudyResults, flopsPerToken?: FlopsPerTokenFn): Promise<ReportFiles> {
  const plots = await writePlots(join(outDir, PLOTS_DIR), studyPlots(results, flopsPerToken));
  const report = join(outDir, REPORT_FILE);
  writeFileAtomic(report, reportMarkdown(results, { flops: flopsPerToken !== undefined }));
  return { report, plots };
}

/** Report and plots from `outDir/results.json` alone (`tarm report studies/NAME`). */
export async function regenerateReport(outDir: string, flopsPerToken?: FlopsPerTokenFn): Promise<ReportFiles> {
  return writeReport(outDir, readResults(outDir), flopsPerToken);
}

