import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { charAcc, finalValues, lastCharAcc, quartile, type MetricPick } from './aggregate.js';
import { armDir, readAttributionFile, ATTRIBUTION_FILE, type AttributionArm, type AttributionFile } from './attribution.js';
import { StudyError } from './errors.js';
import { writeFileAtomic } from './files.js';
import { duration, pct } from './format.js';
import { PAPER_CHANCE, paperHeadline } from './paper.js';
import { CONFIG, modelColor, writePlots, type Plot } from './plots.js';
import type { StudyPreset } from './presets.js';
import { PLOTS_DIR, REPORT_FILE, type ReportFiles } from './report.js';
import { collectResults, readResults, RESULTS_FILE, type StudyResults } from './results.js';
import { formatDiffCI, formatMeanCI, formatSigned, meanCI, tQuantile975, welchDiffCI, type DiffCI, type MeanCI } from './stats.js';
import { studyWallSeconds, STUDY_FILE } from './study-file.js';

/** An attribution folder read back: its marker and each arm's study results (none for an arm never started). */
export interface AttributionData {
  readonly outDir: string;
  readonly file: AttributionFile;
  readonly arms: readonly { readonly arm: AttributionArm; readonly results?: StudyResults }[];
}

/**
 * Reads an attribution folder. Each arm's results come from its run folders (`collectResults`, which also
 * writes `arms/<id>/results.json` unless `write: false`) or, with `fromResultsFiles`, from an existing
 * `arms/<id>/results.json` first.
 */
export function collectAttribution(outDir: string, opts: { write?: boolean; fromResultsFiles?: boolean } = {}): AttributionData {
  const file = readAttributionFile(outDir);
  if (!file) throw new StudyError(`${outDir} is not an attribution study folder (no ${ATTRIBUTION_FILE}); run \`tarm study --preset attribution\` first`);
  const arms = file.arms.map((arm) => {
    const dir = armDir(outDir, arm.id);
    if (opts.fromResultsFiles && existsSync(join(dir, RESULTS_FILE))) return { arm, results: readResults(dir) };
    if (!existsSync(join(dir, STUDY_FILE))) return { arm };
    return { arm, results: collectResults(dir, { write: opts.write }) };
  });
  return { outDir, file, arms };
}

/** The final metrics of one arm at the training length, over its finished seeds (fractions). */
export interface ArmSummary {
  readonly arm: AttributionArm;
  /** Runs in the arm's folder, and how many of them finished / failed. */
  readonly runs: number;
  readonly finished: number;
  readonly failed: number;
  /** Character accuracy of each finished seed, in seed order. */
  readonly seeds: readonly { readonly seed: number; readonly charAcc: number | null }[];
  readonly charAcc: MeanCI;
  readonly exactMatch: MeanCI;
  readonly firstCharAcc: MeanCI;
  readonly lastCharAcc: MeanCI;
  readonly quartiles: readonly [MeanCI, MeanCI, MeanCI, MeanCI];
  /** Wall seconds per finished run. */
  readonly wallSeconds: MeanCI;
}

/**
 * `higher` / `lower`: the 95% interval of the difference excludes 0; `no detectable change`: it includes 0;
 * `no interval`: an arm has fewer than 2 finished seeds.
 */
export type Verdict = 'higher' | 'lower' | 'no detectable change' | 'no interval';

/** Character accuracy of an arm minus that of another, with a 95% Welch interval. */
export interface ArmComparison {
  readonly arm: AttributionArm;
  readonly baseline: AttributionArm;
  readonly diff: DiffCI;
  readonly verdict: Verdict;
}

export interface AttributionSummary {
  readonly preset: StudyPreset;
  readonly task: string;
  /** The training length, where every number is read. */
  readonly length: number;
  readonly arms: readonly ArmSummary[];
  /** Each arm against its baseline (every arm but the reference). */
  readonly comparisons: readonly ArmComparison[];
}

const exactMatch: MetricPick = (m) => m.exactMatch;
const firstCharAcc: MetricPick = (m) => m.firstCharAcc;

export function verdictOf(d: DiffCI): Verdict {
  if (d.lo === undefined || d.hi === undefined) return 'no interval';
  if (d.lo > 0) return 'higher';
  if (d.hi < 0) return 'lower';
  return 'no detectable change';
}

/** `a` minus `b` in character accuracy at the training length. */
export function compareArms(a: ArmSummary, b: ArmSummary): ArmComparison {
  const diff = welchDiffCI(
    a.seeds.map((s) => s.charAcc),
    b.seeds.map((s) => s.charAcc),
  );
  return { arm: a.arm, baseline: b.arm, diff, verdict: verdictOf(diff) };
}

/** Per-arm metrics and the comparison of each arm with its baseline. */
export function summarizeAttribution(data: AttributionData): AttributionSummary {
  const preset = data.file.preset as StudyPreset;
  const task = preset.tasks[0]!;
  const L = preset.config.length;
  const arms: ArmSummary[] = data.arms.map(({ arm, results }) => {
    const runs = results?.runs.filter((r) => r.model === arm.model && r.task === task) ?? [];
    const cell = (pick: MetricPick) => meanCI(results ? finalValues(results, arm.model, task, L, pick) : []);
    const finished = runs.filter((r) => r.status === 'finished');
    return {
      arm,
      runs: runs.length,
      finished: finished.length,
      failed: runs.filter((r) => r.status === 'failed').length,
      seeds: finished.map((r) => ({ seed: r.seed, charAcc: r.final[String(L)]?.charAcc ?? null })),
      charAcc: cell(charAcc),
      exactMatch: cell(exactMatch),
      firstCharAcc: cell(firstCharAcc),
      lastCharAcc: cell(lastCharAcc),
      quartiles: [cell(quartile(0)), cell(quartile(1)), cell(quartile(2)), cell(quartile(3))],
      wallSeconds: meanCI(finished.map((r) => r.wallSeconds)),
    };
  });
  const byId = new Map(arms.map((a) => [a.arm.id, a]));
  const comparisons = arms.filter((a) => a.arm.baseline !== undefined && byId.has(a.arm.baseline)).map((a) => compareArms(a, byId.get(a.arm.baseline!)!));
  return { preset, task, length: L, arms, comparisons };
}

/** Markdown table. */
function table(headers: readonly string[], rows: readonly (readonly string[])[], align: readonly ('l' | 'r')[]): string {
  const sep = headers.map((_, i) => (align[i] === 'r' ? '---:' : '---'));
  return [headers, sep, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

const p1 = (x: number) => (100 * x).toFixed(1);
/** "12.0 ± 3.4" or "12.0 (n=1)" as in the tables. */
const ci = (c: MeanCI) => formatMeanCI(c);
const flagsText = (a: AttributionArm) => (a.flags.length ? `\`${a.flags.join(' ')}\`` : '-');
/** "ar-trm" or "ar-trm --decode sample". */
const armWords = (a: AttributionArm) => [a.model, ...a.flags].join(' ');
const verb = (v: Verdict, subject: 'sg' | 'pl') => (v === 'higher' ? (subject === 'sg' ? 'raises' : 'raise') : subject === 'sg' ? 'lowers' : 'lower');

/** "+3.2 points, 95% CI [-1.0, 7.4]". */
function diffWords(d: DiffCI): string {
  if (!Number.isFinite(d.diff)) return 'not measured';
  const ci = d.lo === undefined || d.hi === undefined ? 'no interval' : `95% CI [${formatSigned(d.lo)}, ${formatSigned(d.hi)}]`;
  return `${formatSigned(d.diff)} points, ${ci}`;
}

/**
 * The conclusion, one paragraph per line, stating only what the intervals support: which arms differ from
 * their baseline (the 95% Welch interval of the difference excludes 0), which do not, and how wide the
 * intervals are at this number of seeds.
 */
export function attributionConclusion(s: AttributionSummary): string[] {
  const out: string[] = [];
  const L = s.length;
  const ref = s.arms.find((a) => a.arm.kind === 'paper') ?? s.arms[0]!;
  const cmp = (kind: AttributionArm['kind']) => s.comparisons.filter((c) => c.arm.kind === kind);
  const armOf = (id: string) => s.arms.find((a) => a.arm.id === id)!;
  const published = paperHeadline(ref.arm.model, s.task);
  if (ref.charAcc.n === 0) {
    out.push(`The ${ref.arm.id} arm has no finished run yet: nothing can be compared.`);
  } else {
    out.push(
      `The ${ref.arm.id} arm (${armWords(ref.arm)}) reaches ${ci(ref.charAcc)}% character accuracy at L = ${L} over ${ref.charAcc.n} seed${ref.charAcc.n === 1 ? '' : 's'} (chance is about ${PAPER_CHANCE}%` +
        (published !== undefined ? `; the paper reports ${published}% for ${ref.arm.model} at budget 24 and 5000 steps` : '') +
        ').',
    );

    const fixes = cmp('fix');
    const movers = fixes.filter((c) => c.verdict === 'higher' || c.verdict === 'lower');
    const flat = fixes.filter((c) => c.verdict === 'no detectable change');
    const noInterval = fixes.filter((c) => c.verdict === 'no interval');
    if (fixes.length) {
      if (!movers.length && !noInterval.length) {
        out.push(
          `No single fix moves character accuracy beyond the ${ref.arm.id} arm: the 95% interval of every single-fix difference includes 0 (${flat.map((c) => `${c.arm.id} ${formatDiffCI(c.diff)}`).join('; ')}).`,
        );
      } else {
        const parts = movers.map(
          (c) => `${c.arm.id} ${verb(c.verdict, 'sg')} character accuracy from ${p1(armOf(c.baseline.id).charAcc.mean)}% to ${p1(armOf(c.arm.id).charAcc.mean)}% (difference ${diffWords(c.diff)}).`,
        );
        if (flat.length) {
          parts.push(
            `The difference intervals of ${flat.map((c) => c.arm.id).join(', ')} include 0 (${flat.map((c) => `${c.arm.id} ${formatDiffCI(c.diff)}`).join('; ')}): no detectable change from the ${ref.arm.id} arm.`,
          );
        }
        if (noInterval.length) parts.push(`No interval for ${noInterval.map((c) => c.arm.id).join(', ')}: fewer than 2 finished seeds in the arm or its baseline.`);
        out.push(parts.join(' '));
      }
    }

    const all = cmp('all')[0];
    if (all) {
      const a = armOf(all.arm.id);
      const b = armOf(all.baseline.id);
      if (all.verdict === 'higher' || all.verdict === 'lower') {
        out.push(`All fixes together (the ${all.arm.id} arm, ${armWords(all.arm)}) ${verb(all.verdict, 'pl')} it from ${p1(b.charAcc.mean)}% to ${p1(a.charAcc.mean)}% (difference ${diffWords(all.diff)}).`);
      } else if (all.verdict === 'no detectable change') {
        out.push(`All fixes together (the ${all.arm.id} arm, ${armWords(all.arm)}) do not change it detectably: ${p1(a.charAcc.mean)}% against ${p1(b.charAcc.mean)}% (difference ${diffWords(all.diff)}, which includes 0).`);
      } else {
        out.push(`All fixes together (the ${all.arm.id} arm, ${armWords(all.arm)}): ${Number.isFinite(all.diff.diff) ? `difference ${formatDiffCI(all.diff)} points, ` : ''}no interval (fewer than 2 finished seeds).`);
      }

      // Attribution: which single fix, if any, accounts for the effect of all of them.
      const same = movers.filter((c) => c.verdict === all.verdict);
      if (all.verdict === 'higher' || all.verdict === 'lower') {
        const direction = all.verdict === 'higher' ? 'raises' : 'lowers';
        if (!same.length) {
          out.push(`None of the single fixes ${direction} accuracy detectably on its own while all of them together do: at this n the effect is not attributable to one fix.`);
        } else {
          const best = [...same].sort((x, y) => Math.abs(y.diff.diff) - Math.abs(x.diff.diff))[0]!;
          const vsAll = compareArms(armOf(best.arm.id), a);
          const others = same.length > 1 ? ` ${same.length} single fixes do so (${same.map((c) => c.arm.id).join(', ')}); the largest difference is ${best.arm.id}'s.` : ` Only ${best.arm.id} does so on its own.`;
          let tail: string;
          if (vsAll.verdict === 'no detectable change') tail = ` ${best.arm.id} alone cannot be told apart from all fixes together (difference ${diffWords(vsAll.diff)}, which includes 0).`;
          else if (vsAll.verdict === 'no interval') tail = ` ${best.arm.id} against all fixes together: no interval.`;
          else tail = ` ${best.arm.id} alone ${vsAll.verdict === 'lower' ? 'stays below' : 'exceeds'} all fixes together (difference ${diffWords(vsAll.diff)}).`;
          out.push(`All fixes together ${direction === 'raises' ? 'raise' : 'lower'} accuracy.${others}${tail}`);
        }
      } else if (all.verdict === 'no detectable change' && !movers.length && fixes.length) {
        out.push(`Neither a single fix nor all of them together change accuracy detectably: this study attributes no change to any fix at this scale and number of seeds.`);
      }
    }

    const decoding = cmp('decoding');
    for (const c of decoding) {
      const a = armOf(c.arm.id);
      const b = armOf(c.baseline.id);
      const v =
        c.verdict === 'no interval'
          ? 'no interval'
          : c.verdict === 'no detectable change'
            ? 'the interval includes 0: no detectable change'
            : `the interval excludes 0: sampling ${c.verdict === 'higher' ? 'raises' : 'lowers'} it`;
      out.push(
        `Decoding check, ${c.arm.id}: sampling at T = 1 instead of greedy decoding gives ${a.charAcc.n ? `${p1(a.charAcc.mean)}%` : '-'} against ${b.charAcc.n ? `${p1(b.charAcc.mean)}%` : '-'} for ${c.baseline.id} (difference ${diffWords(c.diff)}; ${v}).`,
      );
    }
    // The main comparison repeated under sampling, when both sides have a sampled arm.
    const sampledOf = new Map(decoding.map((c) => [c.baseline.id, c.arm.id]));
    if (all && sampledOf.has(all.arm.id) && sampledOf.has(all.baseline.id)) {
      const under = compareArms(armOf(sampledOf.get(all.arm.id)!), armOf(sampledOf.get(all.baseline.id)!));
      const agrees = under.verdict === all.verdict;
      out.push(
        `Under sampling, ${all.arm.id} against ${all.baseline.id} is ${diffWords(under.diff)} (${under.verdict}); with greedy decoding it is ${diffWords(all.diff)} (${all.verdict})` +
          (under.verdict === 'no interval' || all.verdict === 'no interval' ? '.' : agrees ? ': the decoding does not change this verdict.' : ': the verdict differs between the decodings.'),
      );
    }
  }

  const ns = s.arms.map((a) => a.charAcc.n).filter((n) => n > 0);
  if (ns.length) {
    const lo = Math.min(...ns);
    const hi = Math.max(...ns);
    const n = lo === hi ? `${lo}` : `${lo} to ${hi}`;
    const t = lo >= 2 ? ` (t(0.975, ${lo - 1}) = ${tQuantile975(lo - 1).toFixed(2)} for one arm's mean)` : '';
    out.push(
      lo <= 5
        ? `With n = ${n} finished seeds per arm the intervals are wide${t}: an effect smaller than the spread between seeds can go undetected, so an interval that includes 0 is no evidence that a fix does nothing.`
        : `With n = ${n} finished seeds per arm${t}, an interval that includes 0 is still no evidence that a fix does nothing.`,
    );
  }
  const missing = s.arms.reduce((k, a) => k + (a.runs - a.finished), 0);
  const notStarted = s.arms.filter((a) => a.runs === 0).map((a) => a.arm.id);
  if (missing > 0 || notStarted.length) {
    out.push(
      `Not every run has finished (${missing} unfinished${notStarted.length ? `; arms never started: ${notStarted.join(', ')}` : ''}): the numbers above cover finished seeds only.`,
    );
  }
  return out;
}

function configRows(preset: StudyPreset, seeds: readonly number[]): string[][] {
  const c = preset.config;
  return [
    ['task', preset.tasks.join(', ')],
    ['train length L / eval lengths', `${c.length} / ${c.evalLengths.join(', ')}`],
    ['budget B (block passes)', String(c.budget)],
    ['width C / heads', `${c.dModel} / ${c.nHeads}`],
    ['steps x batch', `${c.steps} x ${c.batch}`],
    ['lr / dropout', `${c.lr} / ${c.dropout}`],
    ['decoding', c.decode === 'sample' ? 'sampling, T = 1' : 'greedy (the decoding arms: sampling, T = 1)'],
    ['evaluation', `every ${c.evalEvery} steps on ${c.evalN} problems per length`],
    ['seeds', seeds.join(', ')],
  ];
}

/** The whole report.md of an attribution study. */
export function attributionMarkdown(data: AttributionData, summary: AttributionSummary = summarizeAttribution(data)): string {
  const { file } = data;
  const L = summary.length;
  const allRuns = data.arms.flatMap((a) => a.results?.runs ?? []);
  const count = (st: string) => allRuns.filter((r) => r.status === st).length;
  const seeds = [...new Set(data.arms.flatMap((a) => a.results?.study.grid.seeds ?? []))];
  const compute = allRuns.reduce((a, r) => a + (r.wallSeconds ?? 0), 0);
  const wall = studyWallSeconds(file);

  const armRows = summary.arms.map((a) => [a.arm.id, a.arm.model, flagsText(a.arm), a.arm.baseline ?? '-', a.arm.change]);
  const accRows = summary.arms.map((a) => [
    a.arm.id,
    ci(a.charAcc),
    ci(a.exactMatch),
    ci(a.firstCharAcc),
    ci(a.lastCharAcc),
    ...a.quartiles.map(ci),
    a.wallSeconds.n ? a.wallSeconds.mean.toFixed(1) : '-',
    `${a.finished}/${a.runs}`,
  ]);
  const diffRows = summary.comparisons.map((c) => {
    const a = summary.arms.find((x) => x.arm.id === c.arm.id)!;
    const b = summary.arms.find((x) => x.arm.id === c.baseline.id)!;
    return [
      c.arm.id,
      c.baseline.id,
      a.charAcc.n ? p1(a.charAcc.mean) : '-',
      b.charAcc.n ? p1(b.charAcc.mean) : '-',
      Number.isFinite(c.diff.diff) ? formatSigned(c.diff.diff) : '-',
      c.diff.lo === undefined || c.diff.hi === undefined ? '-' : `[${formatSigned(c.diff.lo)}, ${formatSigned(c.diff.hi)}]`,
      c.diff.df === undefined ? '-' : String(c.diff.df),
      c.verdict,
    ];
  });
  const runRows = data.arms.flatMap(({ arm, results }) =>
    (results?.runs ?? []).map((r) => [
      arm.id,
      String(r.seed),
      r.status,
      r.wallSeconds === null ? '-' : duration(r.wallSeconds),
      r.lastStep === null ? '-' : String(r.lastStep),
      pct(r.final[String(L)]?.charAcc),
      pct(r.final[String(L)]?.exactMatch),
      pct(r.final[String(L)]?.lastCharAcc),
    ]),
  );
  const failed = data.arms.flatMap(({ arm, results }) => (results?.runs ?? []).filter((r) => r.status === 'failed').map((r) => ({ arm, r })));

  const lines = [
    `# Attribution study \`${file.preset.name}\`: which TRM fix explains ar-trm's collapse`,
    '',
    file.preset.description,
    '',
    `- Arms: ${summary.arms.length}; runs: ${count('finished')} finished of ${allRuns.length}` +
      (count('failed') ? `, ${count('failed')} failed` : '') +
      (count('incomplete') ? `, ${count('incomplete')} incomplete` : '') +
      (count('pending') ? `, ${count('pending')} not started` : '') +
      '.',
    `- Wall time: ${duration(wall)} over ${file.sessions.length} session${file.sessions.length === 1 ? '' : 's'} (sum of run wall times: ${duration(compute)}).`,
    `- Created ${file.createdAt}; every number is the final evaluation at L = ${L} on ${summary.task}.`,
    '',
    '## Arms',
    '',
    'Every arm trains with the same configuration (below) and the same budget of block passes per forward pass; it differs from the paper arm only by its flags.',
    '',
    table(['arm', 'model', 'flags', 'compared with', 'change'], armRows, ['l', 'l', 'l', 'l', 'l']),
    '',
    '## Configuration',
    '',
    table(['setting', 'value'], configRows(summary.preset, seeds.length ? seeds : summary.preset.seeds), ['l', 'l']),
    '',
    ...(file.preset.notes.length ? ["Changes from the paper's configuration:", '', ...file.preset.notes.map((n) => `- ${n}`), ''] : []),
    `## Accuracy by arm (L = ${L}, final step)`,
    '',
    `Percent; mean ± 95% confidence interval over seeds (Student t, n - 1 degrees of freedom), "n=1" for a single seed; finished runs only. ${summary.task === 'addition' ? 'Q1 holds the most significant answer digits, Q4 the least significant' : 'Q1..Q4: the first to the last quarter of the answer positions'}. Wall: mean seconds per finished run. Chance is about ${PAPER_CHANCE}%.`,
    '',
    table(['arm', 'char acc', 'exact match', 'first char', 'last char', 'Q1', 'Q2', 'Q3', 'Q4', 'wall (s)', 'seeds'], accRows, ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r']),
    '',
    `![attribution](${PLOTS_DIR}/attribution.svg)`,
    '',
    `## Differences in character accuracy (L = ${L})`,
    '',
    "Each arm minus the arm it is compared with, in percentage points, with a 95% Welch two-sample t interval: d ± t(0.975, df) · sqrt(s₁²/n₁ + s₂²/n₂), df by Welch-Satterthwaite rounded down (conservative). The arms are treated as independent samples over seeds; they share seeds (the same batches and initialisation seed), so a paired interval could be narrower. \"higher\" / \"lower\": the interval excludes 0; \"no detectable change\": it includes 0.",
    '',
    diffRows.length ? table(['arm', 'vs', 'arm mean', 'vs mean', 'difference', '95% CI', 'df', 'verdict'], diffRows, ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'l']) : 'No comparison: no arm has a baseline.',
    '',
    '## Conclusion',
    '',
    ...attributionConclusion(summary).flatMap((l) => [l, '']),
    '## Runs',
    '',
    `Per run, from the final evaluation at L = ${L} (for unfinished runs: the last one so far); percent.`,
    '',
    runRows.length ? table(['arm', 'seed', 'status', 'wall', 'step', 'char acc', 'exact match', 'last char'], runRows, ['l', 'r', 'l', 'r', 'r', 'r', 'r', 'r']) : 'No run yet.',
    '',
  ];
  for (const { arm, r } of failed) lines.push(`Failed: ${arm.id}/${r.id}`, '', '```', (r.error ?? '(no stderr captured)').trim(), '```', '');
  return lines.join('\n');
}

const VERDICT_COLORS: Record<Verdict, string> = { higher: '#54a24b', lower: '#e45756', 'no detectable change': '#888888', 'no interval': '#bbbbbb' };

/** The attribution chart: accuracy per arm with its interval and seeds, and each arm's difference from its baseline. */
export function attributionPlot(summary: AttributionSummary): Plot {
  const L = summary.length;
  const labels = summary.arms.map((a) => a.arm.label);
  const height = 40 * labels.length;
  const y = { field: 'label', type: 'nominal' as const, sort: labels, scale: { domain: labels }, title: null, axis: { labelLimit: 400, labelFontSize: 12 } };
  const models = [...new Set(summary.arms.map((a) => a.arm.model))];
  const color = { field: 'model', type: 'nominal' as const, scale: { domain: models, range: models.map(modelColor) }, title: 'model', legend: { orient: 'bottom' as const, direction: 'horizontal' as const } };
  const nullable = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? null : 100 * x);
  /** Accuracy interval ends drawn inside [0, 100] (the text keeps the unclipped ± value). */
  const clamped = (x: number | undefined) => {
    const v = nullable(x);
    return v === null ? null : Math.min(100, Math.max(0, v));
  };
  const armRows = summary.arms.map((a) => ({
    label: a.arm.label,
    id: a.arm.id,
    model: a.arm.model,
    n: a.charAcc.n,
    mean: a.charAcc.n ? 100 * a.charAcc.mean : null,
    lo: clamped(a.charAcc.lo),
    hi: clamped(a.charAcc.hi),
    text: a.charAcc.n ? formatMeanCI(a.charAcc) : 'no finished run',
    textX: a.charAcc.n ? Math.max(clamped(a.charAcc.hi) ?? 0, 100 * a.charAcc.mean) : 0,
  }));
  const seedRows = summary.arms.flatMap((a) => a.seeds.filter((s) => s.charAcc !== null).map((s) => ({ label: a.arm.label, seed: s.seed, value: 100 * s.charAcc! })));
  const ref = summary.arms.find((a) => a.arm.kind === 'paper');
  const band = ref && ref.charAcc.lo !== undefined ? [{ lo: clamped(ref.charAcc.lo), hi: clamped(ref.charAcc.hi) }] : [];
  const diffRows = summary.comparisons.map((c) => ({
    label: c.arm.label,
    verdict: c.verdict,
    diff: Number.isFinite(c.diff.diff) ? 100 * c.diff.diff : null,
    lo: nullable(c.diff.lo),
    hi: nullable(c.diff.hi),
    text: `vs ${c.baseline.id}: ${formatDiffCI(c.diff)}`,
  }));
  const extent = Math.max(5, ...diffRows.flatMap((r) => [r.lo, r.hi, r.diff].filter((v): v is number => v !== null).map(Math.abs)));
  const tickStep = [1, 2, 5, 10, 20, 25, 50].find((t) => extent / t <= 4) ?? 50;
  const edge = Math.ceil(extent / tickStep) * tickStep;
  const domain = [-edge, edge];
  const ticks = Array.from({ length: (2 * edge) / tickStep + 1 }, (_, i) => -edge + i * tickStep);
  const seedsNote = [...new Set(summary.arms.map((a) => a.charAcc.n))].join('/');
  const title = `Attribution: character accuracy at L=${L} (${summary.task}, final step)`;
  const left = {
    width: 420,
    height,
    title: { text: 'character accuracy (%)', fontSize: 13, anchor: 'middle' as const },
    layer: [
      { data: { values: band }, mark: { type: 'rect' as const, color: '#4c78a8', opacity: 0.12 }, encoding: { x: { field: 'lo', type: 'quantitative' as const }, x2: { field: 'hi' } } },
      { data: { values: [{}] }, mark: { type: 'rule' as const, strokeDash: [4, 4], color: '#888888' }, encoding: { x: { datum: PAPER_CHANCE } } },
      {
        data: { values: seedRows },
        mark: { type: 'point' as const, shape: 'circle', filled: false, size: 45, color: '#555555', opacity: 0.8 },
        encoding: { y, x: { field: 'value', type: 'quantitative' as const }, tooltip: [{ field: 'seed' }, { field: 'value', format: '.1f' }] },
      },
      {
        data: { values: armRows },
        transform: [{ filter: 'isValid(datum.lo)' }],
        mark: { type: 'rule' as const, strokeWidth: 3 },
        encoding: { y, x: { field: 'lo', type: 'quantitative' as const }, x2: { field: 'hi' }, color },
      },
      {
        data: { values: armRows },
        transform: [{ filter: 'isValid(datum.mean)' }],
        mark: { type: 'point' as const, shape: 'diamond', filled: true, size: 150, opacity: 1 },
        encoding: {
          y,
          x: { field: 'mean', type: 'quantitative' as const, scale: { domain: [0, 100] }, title: `character accuracy at L=${L} (%)` },
          color,
          tooltip: [{ field: 'id' }, { field: 'text' }, { field: 'n' }],
        },
      },
      {
        data: { values: armRows },
        mark: { type: 'text' as const, align: 'left' as const, dx: 8, fontSize: 11, color: '#333333' },
        encoding: { y, x: { field: 'textX', type: 'quantitative' as const }, text: { field: 'text' } },
      },
    ],
  };
  const verdictColor = {
    field: 'verdict',
    type: 'nominal' as const,
    scale: { domain: Object.keys(VERDICT_COLORS), range: Object.values(VERDICT_COLORS) },
    title: 'difference (95% Welch CI)',
    legend: { orient: 'bottom' as const, direction: 'horizontal' as const, labelLimit: 240, titleLimit: 300 },
  };
  const right = {
    width: 300,
    height,
    title: { text: 'difference from the compared arm (points)', fontSize: 13, anchor: 'middle' as const },
    layer: [
      { data: { values: [{}] }, mark: { type: 'rule' as const, color: '#333333' }, encoding: { x: { datum: 0 } } },
      {
        data: { values: diffRows },
        transform: [{ filter: 'isValid(datum.lo)' }],
        mark: { type: 'rule' as const, strokeWidth: 3 },
        encoding: { y: { ...y, axis: null }, x: { field: 'lo', type: 'quantitative' as const }, x2: { field: 'hi' }, color: verdictColor },
      },
      {
        data: { values: diffRows },
        transform: [{ filter: 'isValid(datum.diff)' }],
        mark: { type: 'point' as const, shape: 'diamond', filled: true, size: 120, opacity: 1 },
        encoding: {
          y: { ...y, axis: null },
          x: { field: 'diff', type: 'quantitative' as const, scale: { domain }, axis: { values: ticks, labelExpr: "datum.value > 0 ? '+' + datum.label : datum.label" }, title: 'difference in character accuracy (points)' },
          color: verdictColor,
          tooltip: [{ field: 'text' }, { field: 'verdict' }],
        },
      },
      {
        data: { values: diffRows },
        mark: { type: 'text' as const, align: 'left' as const, dx: 4, dy: -12, fontSize: 10, color: '#333333' },
        encoding: { y: { ...y, axis: null }, x: { datum: domain[0] }, text: { field: 'text' } },
      },
    ],
  };
  return {
    name: 'attribution',
    title,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: {
        text: title,
        subtitle: [
          `diamonds: mean over seeds (n = ${seedsNote}); bars: 95% CI (Student t); circles: single seeds`,
          `shaded: the ${ref?.arm.id ?? 'reference'} arm's interval; dashed: chance. Right: each arm minus the arm it is compared with`,
        ],
      },
      hconcat: [left, right],
      resolve: { scale: { color: 'independent', y: 'shared' } },
      config: { ...CONFIG, concat: { spacing: 24 } },
    } as TopLevelSpec,
  };
}

/**
 * Reads the attribution folder (collecting each arm's results, which writes `arms/<id>/results.json`) and writes
 * `outDir/report.md` and `outDir/plots/attribution.svg` (with its vega-lite spec).
 */
export async function writeAttributionReport(outDir: string, opts: { fromResultsFiles?: boolean } = {}): Promise<ReportFiles> {
  const data = collectAttribution(outDir, { fromResultsFiles: opts.fromResultsFiles });
  const summary = summarizeAttribution(data);
  const plots = await writePlots(join(outDir, PLOTS_DIR), [attributionPlot(summary)]);
  const report = join(outDir, REPORT_FILE);
  writeFileAtomic(report, attributionMarkdown(data, summary));
  return { report, plots };
}

/** `tarm report` of an attribution folder: each arm's results.json where there is one, its run folders otherwise. */
export async function regenerateAttributionReport(outDir: string): Promise<ReportFiles> {
  return writeAttributionReport(outDir, { fromResultsFiles: true });
}
