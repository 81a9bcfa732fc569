import { join } from 'node:path';
import { duration, human, pct, table } from '@tarm/eval/internal';
import { PAPER_RUNGS } from '@tarm/recursion';
import { finalCell, presentAxes, quartile, seedLabel, seedValues, successCount } from './aggregate.js';
import { writeFileAtomic } from './files.js';
import { AGREEMENT_POINTS, PAPER_ADDITION_QUARTILES, PAPER_CHANCE, paperHeadline } from './paper.js';
import { studyPlots, writePlots } from './plots.js';
import { readResults, type StudyResults } from './results.js';
import { armSettings, armModelConfig, ConfigSchema, isPlainRung, type Arm, type TaskSettings } from './schema.js';
import { defineModelConfig, solveBudget } from '@tarm/recursion';
import { taskChance } from './chance.js';
import {
  ALPHA,
  CEILING,
  checkClaims,
  EQUIVALENCE_POINTS,
  NEAR_CHANCE_POINTS,
  TRANSITION_LEVEL,
  type ClaimVerdict,
} from './claims.js';
import { flopsPerStep } from './flops.js';
import { atHorizon, hasExtendedRuns } from './horizon.js';
import { cellLateWindows, LATE_MIN_EVALS, PLATEAU_POINTS, risingSeeds } from './plateau.js';
import { clopperPearson, formatMeanCI, formatSigned, meanCI, welchDiffCI, type DiffCI, type MeanCI } from './stats.js';

export const REPORT_FILE = 'report.md';
export const PLOTS_DIR = 'plots';

const md = (headers: readonly string[], rows: readonly (readonly string[])[], align?: readonly ('l' | 'r')[]) =>
  table(headers, rows, { markdown: true, align });

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
    Math.abs(d) <= AGREEMENT_POINTS
      ? `within ${AGREEMENT_POINTS} points of the paper (${d >= 0 ? '+' : ''}${d.toFixed(1)})`
      : `${d > 0 ? 'above' : 'below'} the paper by ${Math.abs(d).toFixed(1)} points`;
  const ciNote =
    ci.lo !== undefined && ci.hi !== undefined
      ? `; the paper value lies ${100 * ci.lo <= paper && paper <= 100 * ci.hi ? 'inside' : 'outside'} our 95% CI`
      : '; one seed, no interval';
  return `${label}: ours ${formatMeanCI(ci)} vs paper ${paper}: ${verdict}${ciNote}.`;
}

/** Whether the study ran the paper's own configuration (every default, no task setting of its own). */
function isPaperConfig(results: StudyResults): boolean {
  const { study } = results;
  return (
    JSON.stringify(study.config) === JSON.stringify(ConfigSchema.parse({})) &&
    study.tasks.every((t) => Object.keys(t).length === 1)
  );
}

function configSection(results: StudyResults, tasks: readonly TaskSettings[]): string {
  const c = results.study.config;
  const rows = [
    [
      'tasks',
      tasks
        .map(
          (t) =>
            `${t.name} (L ${t.length}, ${t.steps} steps${t.maxSteps > t.steps ? `, up to ${t.maxSteps} while still moving` : ''}, eval at ${t.evalLengths.join(', ')})`,
        )
        .join('; '),
    ],
    ['budget B (block passes)', String(c.budget)],
    ['width C / heads', `${c.dModel} / ${c.nHeads}`],
    ['batch', String(c.batchSize)],
    ['lr / dropout', `${c.lr} / ${c.dropout}`],
    ['decoding', c.decode === 'sample' ? 'sampling, T = 1' : 'greedy'],
    ['evaluation', `every ${c.evalEvery} steps on ${c.evalN} problems per length`],
    ['seeds', results.study.seeds.join(', ')],
    ['backend', [...new Set(results.runs.map((r) => r.backend).filter(Boolean))].join(', ') || '-'],
    ['CPU (finished runs)', cpuCounts(results)],
  ];
  const out = ['## Configuration', '', md(['setting', 'value'], rows, ['l', 'l'])];
  if (results.study.notes.length)
    out.push('', "Changes from the paper's configuration:", '', ...results.study.notes.map((n) => `- ${n}`));
  if (!isPaperConfig(results)) {
    out.push(
      '',
      `> This is not the paper's configuration: the paper's numbers are shown for orientation; a gap to them is expected and is not a failed reproduction by itself.`,
    );
  }
  return out.join('\n');
}

/** "AMD EPYC (avx2, avx512f): 40 runs; not recorded: 24": node's kernels, so its numbers, depend on the CPU kind. */
function cpuCounts(results: StudyResults): string {
  const counts = new Map<string, number>();
  for (const { cpu = 'not recorded' } of results.runs.filter((x) => x.status === 'finished'))
    counts.set(cpu, (counts.get(cpu) ?? 0) + 1);
  return [...counts].map(([cpu, n]) => `${cpu}: ${n} run${n === 1 ? '' : 's'}`).join('; ') || '-';
}

function armsSection(arms: readonly Arm[]): string[] {
  if (arms.every((a) => isPlainRung(a) && a.name === a.rung && a.change === undefined)) return [];
  const rows = arms.map((a) => [
    a.name,
    a.rung,
    armSettings(a).length ? `\`${armSettings(a).join(', ')}\`` : '-',
    a.change ?? '-',
  ]);
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
  const sampled = results.runs.some((r) => r.sampled);
  const sampledCell = (a: Arm, t: TaskSettings) =>
    formatMeanCI(
      meanCI(
        results.runs
          .filter((r) => r.arm === a.name && r.task === t.name && r.status === 'finished')
          .map((r) => r.sampled?.[String(t.length)]?.charAcc),
      ),
    );
  const rows = arms.map((a) => [
    a.name,
    ...tasks.flatMap((t) => [
      cellText(finalCell(results, a.name, t.name, t.length), published(a, t.name)),
      ...(sampled ? [sampledCell(a, t)] : []),
    ]),
  ]);
  const ours = arms.filter((a) => isPlainRung(a) && !PAPER_RUNGS.includes(a.rung as never)).map((a) => a.name);
  const decode = results.study.config.decode === 'sample' ? 'sampling at T = 1' : 'greedy';
  return [
    `## Headline: character accuracy at the training length (step ${[...new Set(tasks.map((t) => t.steps))].join(' / ')}, matched compute)`,
    '',
    md(
      [
        'arm',
        ...tasks.flatMap((t) => [
          `${t.name} (L = ${t.length}), ${decode}`,
          ...(sampled ? [`${t.name}, sampled T = 1`] : []),
        ]),
      ],
      rows,
    ),
    '',
    `Percent of answer characters correct at each task's \`steps\` (every arm trained the same steps); mean ± 95% confidence interval over seeds (Student t), "n=1" for a single seed.${sampled ? ' "sampled T = 1": the same checkpoints decoded by sampling at temperature 1, the paper\'s decoding (its numbers are comparable with the published ones; they enter no verdict).' : ''} "(paper X)": the published value at budget 24, 5000 steps, L = 10, for an arm that is its rung as published. Chance (the best predictor that ignores the prompt): ${tasks.map((t) => `${t.name} ${taskChance(t).toFixed(1)}%`).join(', ')}.`,
    ...(ours.length
      ? [
          '',
          `${ours.join(', ')}: not in the paper (ours: ar-trm with TRM's training recipe switched on), so no published value to compare with.`,
        ]
      : []),
    '',
    `![headline](${PLOTS_DIR}/headline.svg)`,
  ].join('\n');
}

/** Per cell, every seed's value at the task's steps and how many seeds reach the study's success threshold (exact interval). */
function seedsSection(results: StudyResults, arms: readonly Arm[], tasks: readonly TaskSettings[]): string {
  const threshold = pct(results.study.success).replace(/\.0$/, '');
  const rows = tasks.flatMap((t) =>
    arms.map((a) => {
      const seeds = seedValues(results, a.name, t.name, t.length);
      const { hits, n } = successCount(results, a.name, t);
      const ci = n ? clopperPearson(hits, n) : undefined;
      return [
        a.name,
        t.name,
        seeds.length ? seeds.map((s) => `${pct(s.value)} (s${s.seed})`).join(', ') : '-',
        ci ? `${hits}/${n} [${pct(ci.lo)}, ${pct(ci.hi)}]` : '-',
      ];
    }),
  );
  return [
    '## Seeds',
    '',
    `Character accuracy (%) of each seed at its task's \`steps\`, and how many seeds reach ${threshold}% (the study's \`success\`) with the exact (Clopper-Pearson) 95% interval of that rate: a cell whose seeds split into learned and not learned is misdescribed by a mean and a normal interval, so such cells are judged by these counts.`,
    '',
    md(['arm', 'task', 'per seed', `seeds >= ${threshold}% [95% CI of the rate]`], rows, ['l', 'l', 'l', 'r']),
  ].join('\n');
}

/**
 * Runs trained past their task's steps (train until plateau), apart from every claim: each seed at its last
 * evaluation, whether the cell plateaus and whether seeds below the success level still climb late.
 */
function convergenceSection(all: StudyResults, arms: readonly Arm[], tasks: readonly TaskSettings[]): string[] {
  if (!hasExtendedRuns(all)) return [];
  const threshold = pct(all.study.success).replace(/\.0$/, '');
  const caps = tasks
    .filter((t) => t.maxSteps > t.steps)
    .map((t) => `${t.name} ${t.steps} -> up to ${t.maxSteps}`)
    .join(', ');
  const rows = tasks.flatMap((t) =>
    arms.map((a) => {
      const seeds = seedValues(all, a.name, t.name, t.length);
      const { hits, n } = successCount(all, a.name, t);
      const rising = risingSeeds(all, a.name, t.name, t.length);
      const plateau = !seeds.length
        ? '-'
        : rising.length
          ? `still rising: ${rising.map((r) => `s${r.seed} ${formatSigned(r.change)}`).join(', ')}`
          : 'yes';
      const climbing = cellLateWindows(all, a.name, t.name, t.length).filter(
        (x) => (x.final ?? 0) < all.study.success && x.w?.climbing,
      );
      const late = !seeds.length
        ? '-'
        : climbing.length
          ? `climbing: ${climbing.map((x) => `s${x.seed} ${formatSigned(x.w!.rise)}`).join(', ')}`
          : 'no';
      return [
        a.name,
        t.name,
        seeds.length ? seeds.map((s) => `${pct(s.value)} (${seedLabel(s)})`).join(', ') : '-',
        n ? `${hits}/${n}` : '-',
        plateau,
        late,
      ];
    }),
  );
  return [
    '## To convergence (not compute-matched; no claim reads it)',
    '',
    `A run still moving at its task's steps trained on, one evaluation interval at a time, until it settled (${caps}); a seed shown as "s3, 5750 steps" trained that long, and its value here is its last evaluation. Slow arms get more training this way, which pulls them towards the ceiling: these numbers answer "where does each arm end up", not the paper's fixed-steps comparison. "plateau": yes when every seed's last two evaluations differ by < ${PLATEAU_POINTS} points. "late climb": seeds below ${threshold}% whose evaluations in the last half of training (at least the last ${LATE_MIN_EVALS}) climb (least-squares slope, 95% interval above 0, a rise of >= ${PLATEAU_POINTS} points).`,
    '',
    md(['arm', 'task', 'per seed (last evaluation)', `seeds >= ${threshold}%`, 'plateau', 'late climb'], rows, [
      'l',
      'l',
      'l',
      'r',
      'l',
      'l',
    ]),
    '',
  ];
}

/** "16.5 PFLOP", "812 TFLOP": three significant digits. */
const flopsText = (x: number) => {
  const [unit, scale] = x >= 1e15 ? ['PFLOP', 1e15] : x >= 1e12 ? ['TFLOP', 1e12] : ['GFLOP', 1e9];
  return `${Number((x / scale).toPrecision(3))} ${unit}`;
};

/** Forward and backward block passes, optimizer updates and training FLOPs per arm (paper.md's compute matching). */
function computeSection(results: StudyResults, arms: readonly Arm[], tasks: readonly TaskSettings[]): string {
  const c = results.study.config;
  const rows = arms.map((a) => {
    const s = solveBudget(defineModelConfig(armModelConfig(a, c)));
    return [
      a.name,
      String(s.blockPasses),
      String(s.gradPasses),
      String(s.segments),
      ...tasks.map((t) => flopsText(flopsPerStep(a, t.name, t.length, c) * t.steps)),
    ];
  });
  const out = [
    '## Compute per arm',
    '',
    `Every arm makes the same number of block passes per forward pass (the budget B = ${c.budget}: the paper's matching) and is trained the same steps; they differ in how many passes carry gradient, in optimizer updates per step (deep supervision) and so in training FLOPs (forward + backward over all tokens of a batch, ACT counted at its full budget).`,
    '',
    md(
      [
        'arm',
        'forward passes / token',
        'backward passes / token',
        'optimizer updates / step',
        ...tasks.map((t) => `training FLOPs, ${t.name} (${t.steps} steps)`),
      ],
      rows,
      ['l', 'r', 'r', 'r', ...tasks.map(() => 'r' as const)],
    ),
  ];
  const [tf, ar] = [
    arms.find((a) => a.rung === 'trm-faithful'),
    arms.find((a) => a.rung === 'ar-trm' && isPlainRung(a)),
  ];
  if (tf && ar) {
    const lines = tasks.map((t) => {
      const ratio = flopsPerStep(tf, t.name, t.length, c) / flopsPerStep(ar, t.name, t.length, c);
      const step = t.steps / ratio;
      const at = (arm: Arm, limit: number) =>
        meanCI(
          results.runs
            .filter((r) => r.arm === arm.name && r.task === t.name && r.status === 'finished')
            .map((r) => {
              const p = [...r.curve].reverse().find((x) => x.step <= limit + 1e-9);
              return p?.evals[String(t.length)]?.charAcc ?? null;
            }),
        );
      return `- ${t.name}: ${tf.name} costs ${ratio.toFixed(1)}x ${ar.name}'s training FLOPs per step, so ${ar.name}'s ${t.steps} steps buy it ${Math.floor(step)} steps; there (its last evaluation at or before that step) it is at ${formatMeanCI(at(tf, step))}, against ${ar.name}'s ${formatMeanCI(at(ar, t.steps))} at ${t.steps}.`;
    });
    out.push('', `${tf.name} against ${ar.name} at equal training FLOPs:`, '', ...lines);
  }
  return out.join('\n');
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
      return {
        arm: c.arm,
        vs: c.vs,
        task: t.name,
        armMean: finalCell(results, c.arm, t.name, t.length),
        vsMean: finalCell(results, c.vs, t.name, t.length),
        diff,
        verdict: verdictOf(diff),
      };
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
    c.diff.lo === undefined || c.diff.hi === undefined
      ? '-'
      : `[${formatSigned(c.diff.lo)}, ${formatSigned(c.diff.hi)}]`,
    c.diff.df === undefined ? '-' : String(c.diff.df),
    c.verdict,
  ]);
  if (!rows.length) return [];
  return [
    '## Comparisons',
    '',
    'Character accuracy at the training length of each arm minus the arm it is compared with (the study file\'s `compare`), in percentage points, with a 95% Welch two-sample t interval: d ± t(0.975, df) · sqrt(s₁²/n₁ + s₂²/n₂), df by Welch-Satterthwaite rounded down (conservative). The arms are treated as independent samples over seeds; they share seeds, so a paired interval could be narrower. "higher" / "lower": the interval excludes 0; "no detectable change": it includes 0, which at a few seeds is no evidence of no effect.',
    '',
    md(['arm', 'vs', 'task', 'arm mean', 'vs mean', 'difference', '95% CI', 'df', 'verdict'], rows, [
      'l',
      'l',
      'l',
      'r',
      'r',
      'r',
      'r',
      'r',
      'l',
    ]),
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
  for (const t of tasks)
    for (const a of arms) {
      const paper = published(a, t.name);
      if (paper !== undefined) lines.push(`- ${agreement(`${a.name} / ${t.name}`, cell(a, t), paper)}`);
    }
  const add = tasks.find((t) => t.name === 'addition');
  if (add) {
    const plain = arms.filter((a) => published(a, 'addition') !== undefined);
    for (const a of plain) {
      const q = PAPER_ADDITION_QUARTILES[a.rung as keyof typeof PAPER_ADDITION_QUARTILES]?.quartiles;
      if (q)
        ([0, 1, 2, 3] as const).forEach((i) =>
          lines.push(
            `- ${agreement(`${a.name} / addition Q${i + 1}`, finalCell(results, a.name, 'addition', add.length, quartile(i)), q[i])}`,
          ),
        );
    }
    const ranked = plain
      .map((a) => ({ a, ci: cell(a, add) }))
      .filter((x) => x.ci.n > 0)
      .sort((x, y) => y.ci.mean - x.ci.mean);
    const paperOrder = [...plain].sort((x, y) => published(y, 'addition')! - published(x, 'addition')!);
    if (ranked.length > 1) {
      lines.push(
        `- Ranking on addition (best first): ours ${ranked.map((x) => `${x.a.name} ${pct(x.ci.mean)}`).join(' > ')}; paper ${paperOrder.map((a) => `${a.name} ${published(a, 'addition')}`).join(' > ')}. ` +
          (ranked[0]!.a === paperOrder[0]
            ? `Both put ${paperOrder[0]!.name} first.`
            : `The paper puts ${paperOrder[0]!.name} first, this study ${ranked[0]!.a.name}.`),
      );
    }
  }
  if (!lines.length) lines.push('- No cell of this study has a published value.');
  const head = [
    '## Agreement with the paper',
    '',
    `Each line compares our mean with the published value (percent); "within ${AGREEMENT_POINTS} points" means |ours - paper| <= ${AGREEMENT_POINTS}.`,
  ];
  if (!isPaperConfig(results))
    head.push(
      'The configurations differ (see Configuration), so these lines describe the gap, not a verdict on the reproduction.',
    );
  return [...head, '', ...lines].join('\n');
}

function lengthSection(results: StudyResults, arms: readonly Arm[], tasks: readonly TaskSettings[]): string {
  const lengths = [...new Set(tasks.flatMap((t) => t.evalLengths))].sort((a, b) => a - b);
  const rows = tasks.flatMap((t) =>
    arms.map((a) => [
      a.name,
      t.name,
      ...lengths.map((L) => (t.evalLengths.includes(L) ? formatMeanCI(finalCell(results, a.name, t.name, L)) : '')),
    ]),
  );
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
    md(
      [
        'arm',
        'task',
        'seed',
        'status',
        'backend',
        'params',
        'tok/s',
        'wall',
        'step',
        ...lengths.map((L) => `acc L=${L}`),
      ],
      rows,
      ['l', 'l', 'r', 'l', 'l', 'r', 'r', 'r', 'r', ...lengths.map(() => 'r' as const)],
    ),
  ];
  for (const r of results.runs.filter((x) => x.status === 'failed'))
    out.push('', `Failed: ${r.id}`, '', '```', (r.error ?? '(no stderr captured)').trim(), '```');
  return out.join('\n');
}

const VERDICT_LABEL: Record<ClaimVerdict, string> = {
  supported: 'supported',
  contradicted: 'contradicted',
  undecided: 'undecided',
  'not testable': 'not testable at this scale',
};

/** The Claims table: one row per claim (verdict, the number behind it, seeds per arm); markdown or plain text. */
export function claimsTable(results: StudyResults, opts: { markdown?: boolean } = {}): string {
  const markdown = opts.markdown ?? true;
  const rows = checkClaims(results).map((c) => [
    c.id,
    markdown ? `**${VERDICT_LABEL[c.verdict]}**` : VERDICT_LABEL[c.verdict],
    c.summary,
    c.seeds ? String(c.seeds) : '-',
  ]);
  return table(['claim', 'verdict', 'the number behind it', 'seeds per arm'], rows, {
    markdown,
    align: ['l', 'l', 'l', 'r'],
  });
}

function claimsSection(results: StudyResults): string {
  const claims = checkClaims(results);
  const steps = [...new Set(presentAxes(results).tasks.map((t) => t.steps))].join(' / ');
  const details = claims
    .filter((c) => c.parts.length)
    .flatMap((c) => [
      `- **${c.id}** ${c.statement} (${c.statistic}): **${VERDICT_LABEL[c.verdict]}**`,
      ...c.parts.map((p) => `  - ${p.text}`),
    ]);
  return [
    '## Claims',
    '',
    `The paper's claims judged at matched compute: every arm read at step ${steps} of its task (the paper's fixed-steps protocol; no run trained past that step enters), on the seeds every arm finished. How each verdict is reached: the last section, "How claims are judged".`,
    '',
    claimsTable(results),
    '',
    ...(details.length ? ['### Details', '', ...details] : []),
  ].join('\n');
}

function rulesSection(results: StudyResults): string {
  return [
    '## How claims are judged',
    '',
    `- **Matched compute.** Every run is read at its task's \`steps\`, the same for every arm; runs extended past them (train until plateau) appear only in "To convergence". Claims use the longest prefix of the study's seed list that every arm has finished, and need at least ${results.study.minSeeds} seeds (the study's \`minSeeds\`).`,
    `- **C1** (order on addition): per seed, character accuracy at the horizon (primary) and the area under the learning curve (the mean of the evaluations up to the horizon, secondary); 95% Welch intervals of the difference of means over seeds. \`a > b\` is supported when the interval is above 0 and contradicted below 0; \`a >= b\` is contradicted below 0 and supported above -${EQUIVALENCE_POINTS} points; \`a ~ b\` is supported inside ±${EQUIVALENCE_POINTS} points and contradicted outside it. Ceiling guard: when both arms' means are at or above ${100 * CEILING}% the part is not testable. The primary decides; where the secondary says the opposite, the part is undecided.`,
    `- **C2** (collapse): per (nested rung, task), a seed has learned when it ends at or above the study's success level (${pct(results.study.success)}%); counts with Clopper-Pearson 95% intervals and Fisher's exact test (two-sided) against dense. Supported when no seed learns, every seed ends within ${NEAR_CHANCE_POINTS} points of the task's chance level and dense learns on every seed; contradicted when a seed learns and Fisher's p >= ${ALPHA}; not testable when dense does not learn the task on every seed.`,
    `- **C3** (leading vs last digits): per tied single-stream rung, Q1 - Q4 at the horizon, paired by seed (paired t); supported when that interval is above 0 and Q4's 95% upper bound is below the success level, contradicted when Q4's lower bound reaches it or the interval is below 0. The largest gap over the curve and the steps at which Q1 and Q4 reach the success level are printed beside it.`,
    `- **C4** (last-digit transition): the event is the first evaluation with last-digit accuracy >= ${100 * TRANSITION_LEVEL}%, censored at the horizon; Kaplan-Meier curves per arm (plots/transition-km.svg) and a two-sided log-rank test; supported when p < ${ALPHA} with dual-ut crossing more than expected, contradicted when p < ${ALPHA} the other way.`,
    `- **C5** (length generalisation): arms that learn a task on every seed are read at the longest evaluation length; supported when the 95% upper bound there is below the success level.`,
    '- A claim is contradicted by any contradicted part, supported when every part is, not testable when no part is testable, and otherwise undecided.',
  ].join('\n');
}

/** The whole report.md text for a study's results. */
export function reportMarkdown(all: StudyResults): string {
  const results = atHorizon(all);
  const { arms, tasks } = presentAxes(results);
  const s = results.study;
  const count = (st: string) => all.runs.filter((r) => r.status === st).length;
  const compute = all.runs.reduce((a, r) => a + (r.wallSeconds ?? 0), 0);
  const n = all.sessions.length;
  const addition = tasks.find((t) => t.name === 'addition');
  return [
    `# Study \`${s.name}\``,
    '',
    s.description,
    '',
    `- Runs: ${count('finished')} finished of ${all.runs.length}` +
      (count('failed') ? `, ${count('failed')} failed` : '') +
      (count('incomplete') ? `, ${count('incomplete')} incomplete` : '') +
      (count('pending') ? `, ${count('pending')} not started` : '') +
      '.',
    `- Wall time of the study: ${duration(all.wallSeconds)} over ${n} session${n === 1 ? '' : 's'} (sum of run wall times: ${duration(compute)}).`,
    `- Created ${all.createdAt}; report generated from results.json (${all.generatedAt}).`,
    '',
    claimsSection(all),
    '',
    configSection(results, tasks),
    '',
    ...armsSection(arms),
    computeSection(results, arms, tasks),
    '',
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
    "Character accuracy at the training length at each evaluation up to each task's steps, against training steps and against training FLOPs (forward + backward, all block passes of the budget); the band is the 95% interval over seeds, clamped to [0, 100].",
    '',
    ...tasks.map((t) => `![${t.name} learning curves](${PLOTS_DIR}/curves-${t.name}.svg)`),
    '',
    '## Last-character accuracy',
    '',
    `![last-character accuracy](${PLOTS_DIR}/last-char.svg)`,
    ...(addition
      ? [
          '',
          `Time to the last-digit transition (C4): the fraction of seeds that have not yet crossed (Kaplan-Meier), censored at step ${addition.steps}.`,
          '',
          `![last-digit transition, Kaplan-Meier](${PLOTS_DIR}/transition-km.svg)`,
        ]
      : []),
    '',
    lengthSection(results, arms, tasks),
    '',
    ...convergenceSection(all, presentAxes(all).arms, presentAxes(all).tasks),
    runsSection(all, tasks),
    '',
    rulesSection(results),
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
  const plots = await writePlots(join(outDir, PLOTS_DIR), studyPlots(atHorizon(results)));
  const report = join(outDir, REPORT_FILE);
  writeFileAtomic(report, reportMarkdown(results));
  return { report, plots };
}
