import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { RUNG_NAMES } from '@tarm/recursion';
import {
  charAcc,
  finishedRuns,
  lastCharAcc,
  lengthSeries,
  presentAxes,
  quartile,
  seedValues,
  stepSeries,
  finalCell,
  type SeriesPoint,
} from './aggregate.js';
import { survivalOf, TRANSITION_LEVEL } from './claims.js';
import { kaplanMeier } from './stats.js';
import { flopsPerStep } from './flops.js';
import { taskChance } from './chance.js';
import { PAPER_ADDITION_QUARTILES, PAPER_CHANCE, paperHeadline } from './paper.js';
import type { StudyResults } from './results.js';
import { isPlainRung, type Arm, type TaskSettings } from './schema.js';

/** A chart of the report: its file stem under plots/, its title and its vega-lite spec. */
export interface Plot {
  readonly name: string;
  readonly title: string;
  readonly spec: TopLevelSpec;
}

/** Colours of the rungs, fixed across every chart (Tableau 10, in RUNG_NAMES order: the ladder, then trm-faithful). */
const RUNG_COLORS: readonly string[] = Object.freeze([
  '#4c78a8',
  '#f58518',
  '#e45756',
  '#72b7b2',
  '#54a24b',
  '#eeca3b',
  '#b279a2',
  '#9d755d',
]);
/** Colours of arms that are not named after their rung, in arm order (Tableau 20's dark half). */
const ARM_COLORS: readonly string[] = Object.freeze([
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
]);

/** An arm named after its rung keeps the rung's colour in every study; other arms take colours in order. */
function armScale(arms: readonly Arm[]) {
  const byRung = arms.every((a) => a.name === a.rung);
  return {
    domain: arms.map((a) => a.name),
    range: arms.map((a, i) =>
      byRung ? RUNG_COLORS[(RUNG_NAMES as readonly string[]).indexOf(a.rung)]! : ARM_COLORS[i % ARM_COLORS.length]!,
    ),
  };
}

const paperValue = (arm: Arm, task: string) => (isPlainRung(arm) ? (paperHeadline(arm.rung, task) ?? null) : null);

/** Shared look of every chart. */
const CONFIG = {
  background: 'white',
  font: 'DejaVu Sans, Helvetica, Arial, sans-serif',
  title: { fontSize: 15, subtitleFontSize: 12, anchor: 'start' as const, offset: 12 },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#e6e6e6' },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  header: { labelFontSize: 13, titleFontSize: 13, labelFontWeight: 'bold' as const },
  view: { stroke: '#bbbbbb' },
};

const pctRow = (p: SeriesPoint) => ({
  arm: p.arm,
  task: p.task,
  x: p.x,
  n: p.n,
  mean: 100 * p.mean,
  lo: p.lo === undefined ? null : Math.max(0, 100 * p.lo), // an accuracy's interval stays inside [0, 100]
  hi: p.hi === undefined ? null : Math.min(100, 100 * p.hi),
});

const ACC_SCALE = { domain: [0, 100] };
/** Legend of line charts: a solid stroke per arm (not the pale band colour). */
const LINE_LEGEND = { symbolType: 'stroke', symbolStrokeWidth: 3, symbolOpacity: 1, symbolSize: 250 };
const seedsNote = (seeds: number) => (seeds > 1 ? `mean over ${seeds} seeds, 95% CI` : '1 seed');
/** The most finished seeds of any (arm, task) cell: what a chart's means are over (a partly run study has fewer than its seed list). */
const finishedSeeds = (results: StudyResults) => {
  const counts = new Map<string, number>();
  for (const r of finishedRuns(results)) counts.set(`${r.arm} ${r.task}`, (counts.get(`${r.arm} ${r.task}`) ?? 0) + 1);
  return Math.max(0, ...counts.values());
};

/** Line per arm with a CI band where n > 1 and dots at the evaluations. */
function lineLayers(x: object, arms: readonly Arm[], yTitle: string, chance: number) {
  const color = {
    field: 'arm',
    type: 'nominal' as const,
    scale: armScale(arms),
    sort: arms.map((a) => a.name),
    title: 'arm',
    legend: LINE_LEGEND,
  };
  return [
    {
      transform: [{ filter: 'isValid(datum.lo)' }],
      mark: { type: 'area' as const, opacity: 0.18 },
      encoding: { x, y: { field: 'lo', type: 'quantitative' as const }, y2: { field: 'hi' }, color },
    },
    {
      mark: { type: 'line' as const, point: { size: 20 }, strokeWidth: 2 },
      encoding: { x, y: { field: 'mean', type: 'quantitative' as const, scale: ACC_SCALE, title: yTitle }, color },
    },
    {
      mark: { type: 'rule' as const, strokeDash: [4, 4], color: '#888888' },
      encoding: { y: { datum: chance } },
    },
  ];
}

/**
 * Headline: final character accuracy at the training length per arm and task, a bar for the mean with its
 * interval, each seed's value as a dot beside it (a strip plot), ticks at the paper's values.
 */
export function headlinePlot(results: StudyResults): Plot {
  const { arms, tasks } = presentAxes(results);
  const rows = tasks.flatMap((t) =>
    arms.map((a) => {
      const ci = finalCell(results, a.name, t.name, t.length, charAcc);
      return {
        kind: 'cell',
        arm: a.name,
        task: t.name,
        n: ci.n,
        mean: ci.n ? 100 * ci.mean : null,
        lo: ci.lo === undefined ? null : Math.max(0, 100 * ci.lo),
        hi: ci.hi === undefined ? null : Math.min(100, 100 * ci.hi),
        paper: paperValue(a, t.name),
        chance: taskChance(t),
      };
    }),
  );
  const seedRows = tasks.flatMap((t) =>
    arms.flatMap((a) =>
      seedValues(results, a.name, t.name, t.length)
        .filter((s) => s.value !== null)
        .map((s) => ({ kind: 'seed', arm: a.name, task: t.name, seed: s.seed, value: 100 * s.value! })),
    ),
  );
  const title = "Character accuracy at the training length, at each task's steps";
  const x = {
    field: 'arm',
    type: 'nominal' as const,
    sort: arms.map((a) => a.name),
    axis: { labelAngle: -40, title: null },
  };
  const bandWidth = 34;
  return {
    name: 'headline',
    title,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: {
        text: title,
        subtitle: `bars: this study (${seedsNote(finishedSeeds(results))}); dots beside them: single seeds; black ticks: the paper; dashed: chance`,
      },
      // one data set, so that the facet splits the seeds by task as it splits the cells (a layer's own data is not faceted)
      data: { values: [...rows, ...seedRows] },
      facet: { column: { field: 'task', type: 'nominal', sort: tasks.map((t) => t.name), title: null } },
      spec: {
        width: Math.max(160, bandWidth * arms.length),
        height: 240,
        layer: [
          {
            transform: [{ filter: "datum.kind === 'cell' && isValid(datum.mean)" }],
            mark: { type: 'bar', width: { band: 0.45 }, xOffset: -bandWidth / 8 },
            encoding: {
              x,
              y: { field: 'mean', type: 'quantitative', scale: ACC_SCALE, title: 'character accuracy (%)' },
              color: { field: 'arm', type: 'nominal', scale: armScale(arms), legend: null },
              tooltip: [{ field: 'arm' }, { field: 'mean', format: '.1f' }, { field: 'n' }, { field: 'paper' }],
            },
          },
          {
            transform: [{ filter: "datum.kind === 'cell' && isValid(datum.lo)" }],
            mark: { type: 'rule', strokeWidth: 1.5, xOffset: -bandWidth / 8 },
            encoding: { x, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } },
          },
          {
            transform: [{ filter: "datum.kind === 'seed'" }],
            mark: {
              type: 'point',
              shape: 'circle',
              filled: false,
              size: 30,
              color: '#333333',
              opacity: 0.9,
              xOffset: bandWidth / 4,
            },
            encoding: {
              x,
              y: { field: 'value', type: 'quantitative' },
              tooltip: [{ field: 'arm' }, { field: 'seed' }, { field: 'value', format: '.1f' }],
            },
          },
          {
            transform: [{ filter: "datum.kind === 'cell' && isValid(datum.paper)" }],
            mark: { type: 'tick', color: 'black', opacity: 1, thickness: 3, bandSize: 24 },
            encoding: { x, y: { field: 'paper', type: 'quantitative' } },
          },
          {
            transform: [{ filter: "datum.kind === 'cell'" }],
            mark: { type: 'rule', strokeDash: [4, 4], color: '#888888' },
            encoding: { y: { field: 'chance', type: 'quantitative', aggregate: 'max' } },
          }, // the task's own chance level
        ],
      },
      config: CONFIG,
    } as TopLevelSpec,
  };
}

/** Addition accuracy by answer quartile per arm (small multiples), with the paper's approximate values. */
export function additionQuartilesPlot(results: StudyResults): Plot | undefined {
  const { arms, tasks } = presentAxes(results);
  const add = tasks.find((t) => t.name === 'addition');
  if (!add) return undefined;
  const rows = arms.flatMap((a) =>
    ([0, 1, 2, 3] as const).map((q) => {
      const ci = finalCell(results, a.name, 'addition', add.length, quartile(q));
      const paper = isPlainRung(a)
        ? PAPER_ADDITION_QUARTILES[a.rung as keyof typeof PAPER_ADDITION_QUARTILES]?.quartiles?.[q]
        : undefined;
      return {
        arm: a.name,
        quartile: `Q${q + 1}`,
        n: ci.n,
        mean: ci.n ? 100 * ci.mean : null,
        lo: ci.lo === undefined ? null : 100 * ci.lo,
        hi: ci.hi === undefined ? null : 100 * ci.hi,
        paper: paper ?? null,
      };
    }),
  );
  const title = `Addition: character accuracy by answer quartile (L=${add.length}, final step)`;
  const x = { field: 'quartile', type: 'ordinal' as const, title: null, axis: { labelAngle: 0 } };
  return {
    name: 'addition-quartiles',
    title,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: {
        text: title,
        subtitle: [
          'Q1 = most significant answer digits, Q4 = least significant',
          `bars: this study (${seedsNote(finishedSeeds(results))}); dashed: chance`,
          'black ticks: the paper (approximate; published for dense, dual-ut)',
        ],
      },
      data: { values: rows },
      facet: {
        field: 'arm',
        type: 'nominal',
        sort: arms.map((a) => a.name),
        title: null,
        header: { labelOrient: 'top' },
      },
      columns: Math.min(4, arms.length),
      spec: {
        width: 150,
        height: 150,
        layer: [
          {
            transform: [{ filter: 'isValid(datum.mean)' }],
            mark: 'bar',
            encoding: {
              x,
              y: { field: 'mean', type: 'quantitative', scale: ACC_SCALE, title: 'char accuracy (%)' },
              color: { field: 'arm', type: 'nominal', scale: armScale(arms), legend: null },
            },
          },
          {
            transform: [{ filter: 'isValid(datum.lo)' }],
            mark: { type: 'rule', strokeWidth: 1.5 },
            encoding: { x, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } },
          },
          {
            transform: [{ filter: 'isValid(datum.paper)' }],
            mark: { type: 'tick', color: 'black', opacity: 1, thickness: 3 },
            encoding: { x, y: { field: 'paper', type: 'quantitative' } },
          },
          { mark: { type: 'rule', strokeDash: [4, 4], color: '#888888' }, encoding: { y: { datum: PAPER_CHANCE } } },
        ],
      },
      config: CONFIG,
    } as TopLevelSpec,
  };
}

/** Learning curves of one task: character accuracy at the training length vs step and vs training FLOPs, side by side. */
export function learningCurvePlot(results: StudyResults, task: TaskSettings): Plot {
  const { arms, seeds } = presentAxes(results);
  const perStep = new Map(arms.map((a) => [a.name, flopsPerStep(a, task.name, task.length, results.study.config)]));
  const rows = stepSeries(results, task.name, task.length, charAcc)
    .map(pctRow)
    .map((r) => ({ ...r, flops: r.x * perStep.get(r.arm)! }));
  const title = `${task.name}: character accuracy at L=${task.length} during training`;
  const yTitle = 'character accuracy (%)';
  const panel = (x: object) => ({ width: 330, height: 240, layer: lineLayers(x, arms, yTitle, taskChance(task)) });
  return {
    name: `curves-${task.name}`,
    title,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: { text: title, subtitle: `${seedsNote(finishedSeeds(results))}; dashed: chance` },
      data: { values: rows },
      hconcat: [
        panel({ field: 'x', type: 'quantitative', title: 'training step', scale: { zero: true } }),
        panel({
          field: 'flops',
          type: 'quantitative',
          title: 'training FLOPs (forward + backward)',
          axis: { format: '.2~s', labelOverlap: true },
          scale: { zero: true },
        }),
      ],
      config: CONFIG,
    } as TopLevelSpec,
  };
}

/** Last-character accuracy at the training length vs step, one panel per task (the paper's bottleneck figure). */
export function lastCharPlot(results: StudyResults): Plot {
  const { arms, tasks } = presentAxes(results);
  const rows = tasks.flatMap((t) => stepSeries(results, t.name, t.length, lastCharAcc).map(pctRow));
  const title = 'Last-character accuracy at the training length vs training step';
  return {
    name: 'last-char',
    title,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: {
        text: title,
        subtitle: [
          'the last answer digit is the bottleneck of addition',
          'paper (5000 steps): dual-ut learns it near step 1,600, dense near 4,100',
          `${seedsNote(finishedSeeds(results))}; dashed: chance`,
        ],
      },
      data: { values: rows },
      facet: { column: { field: 'task', type: 'nominal', sort: tasks.map((t) => t.name), title: null } },
      spec: {
        width: 260,
        height: 220,
        layer: lineLayers(
          { field: 'x', type: 'quantitative', title: 'training step', scale: { zero: true } },
          arms,
          'last-character accuracy (%)',
          PAPER_CHANCE,
        ),
      }, // the last digit is uniform on every task: 10%
      config: CONFIG,
    } as TopLevelSpec,
  };
}

/** Final character accuracy vs evaluation length per arm, one panel per task. */
export function lengthPlot(results: StudyResults): Plot {
  const { arms, tasks } = presentAxes(results);
  const rows = tasks.flatMap((t) => lengthSeries(results, t).map(pctRow));
  const lengths = [...new Set(tasks.flatMap((t) => t.evalLengths))].sort((a, b) => a - b);
  const title = 'Length generalisation: character accuracy vs evaluation length';
  const x = {
    field: 'x',
    type: 'quantitative' as const,
    title: 'evaluation length L',
    axis: { values: lengths, format: 'd' },
    scale: { zero: false, nice: false },
  };
  const color = {
    field: 'arm',
    type: 'nominal' as const,
    scale: armScale(arms),
    sort: arms.map((a) => a.name),
    title: 'arm',
  };
  const strokeDash = { field: 'arm', type: 'nominal' as const, sort: arms.map((a) => a.name), title: 'arm' }; // lines that coincide stay visible
  return {
    name: 'length-generalisation',
    title,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: { text: title, subtitle: `final step, ${seedsNote(finishedSeeds(results))}; dashed: chance` },
      data: { values: rows },
      facet: { column: { field: 'task', type: 'nominal', sort: tasks.map((t) => t.name), title: null } },
      spec: {
        width: 240,
        height: 220,
        layer: [
          {
            transform: [{ filter: 'isValid(datum.lo)' }],
            mark: { type: 'rule', strokeWidth: 1.5 },
            encoding: { x, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' }, color },
          },
          {
            mark: { type: 'line', point: { size: 30 }, strokeWidth: 2 },
            encoding: {
              x,
              y: { field: 'mean', type: 'quantitative', scale: ACC_SCALE, title: 'character accuracy (%)' },
              color,
              strokeDash,
            },
          },
          { mark: { type: 'rule', strokeDash: [4, 4], color: '#888888' }, encoding: { y: { datum: PAPER_CHANCE } } },
        ],
      },
      resolve: { scale: { x: 'independent' } }, // each task's own evaluation lengths
      config: CONFIG,
    } as TopLevelSpec,
  };
}

/**
 * C4's time to event: per arm, the Kaplan-Meier fraction of seeds whose last answer digit has not yet crossed
 * TRANSITION_LEVEL, against training step, censored at the task's steps (a step chart).
 */
export function transitionPlot(results: StudyResults): Plot | undefined {
  const { arms, tasks } = presentAxes(results);
  const add = tasks.find((t) => t.name === 'addition');
  if (!add) return undefined;
  const rows = arms.flatMap((a) => {
    const runs = finishedRuns(results).filter((r) => r.arm === a.name && r.task === 'addition');
    if (!runs.length) return [];
    const km = kaplanMeier(survivalOf(runs, add.length, lastCharAcc, TRANSITION_LEVEL));
    const pts = [{ step: 0, s: 1 }, ...km.map((p) => ({ step: p.time, s: p.survival }))];
    pts.push({ step: add.steps, s: pts[pts.length - 1]!.s });
    return pts.map((p) => ({ arm: a.name, step: p.step, notYet: 100 * p.s, n: runs.length }));
  });
  const title = 'Last-digit transition (C4): seeds not yet crossed, Kaplan-Meier';
  const color = {
    field: 'arm',
    type: 'nominal' as const,
    scale: armScale(arms),
    sort: arms.map((a) => a.name),
    title: 'arm',
    legend: LINE_LEGEND,
  };
  return {
    name: 'transition-km',
    title,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: {
        text: title,
        subtitle: [
          `crossing: the first evaluation with last-digit accuracy >= ${100 * TRANSITION_LEVEL}% at L = ${add.length}`,
          `censored at step ${add.steps}; the paper: dual-ut near step 1,600, dense near 4,100 (L = 10)`,
        ],
      },
      data: { values: rows },
      width: 520,
      height: 260,
      mark: { type: 'line', interpolate: 'step-after', strokeWidth: 2.5 },
      encoding: {
        x: { field: 'step', type: 'quantitative', title: 'training step', scale: { domain: [0, add.steps] } },
        y: { field: 'notYet', type: 'quantitative', title: 'seeds not yet crossed (%)', scale: { domain: [0, 100] } },
        color,
        strokeDash: { field: 'arm', type: 'nominal', sort: arms.map((a) => a.name), title: 'arm' }, // arms that cross together stay visible
      },
      config: CONFIG,
    } as TopLevelSpec,
  };
}

/** Every chart of the report, in report order. */
export function studyPlots(results: StudyResults): Plot[] {
  const { tasks } = presentAxes(results);
  const plots = [
    headlinePlot(results),
    additionQuartilesPlot(results),
    ...tasks.map((t) => learningCurvePlot(results, t)),
    lastCharPlot(results),
    transitionPlot(results),
    lengthPlot(results),
  ];
  return plots.filter((p): p is Plot => p !== undefined);
}

/** Renders a vega-lite spec to an SVG string, headless (no canvas needed). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Writes each plot to `dir/<name>.svg` and its spec to `dir/<name>.vl.json`; returns the SVG paths. */
export async function writePlots(dir: string, plots: readonly Plot[]): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const paths: string[] = [];
  for (const p of plots) {
    const svg = await renderSvg(p.spec);
    const path = join(dir, `${p.name}.svg`);
    writeFileSync(path, svg);
    writeFileSync(join(dir, `${p.name}.vl.json`), `${JSON.stringify(p.spec, null, 2)}\n`);
    paths.push(path);
  }
  return paths;
}
