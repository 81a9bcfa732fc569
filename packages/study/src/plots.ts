import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { charAcc, lastCharAcc, lengthSeries, presentAxes, quartile, stepSeries, finalCell, type SeriesPoint } from './aggregate.js';
import { flopsPerStep, type FlopsPerTokenFn } from './flops.js';
import { PAPER_ADDITION_QUARTILES, PAPER_CHANCE, paperHeadline } from './paper.js';
import { MODEL_NAMES, type ModelName, type TaskName } from './presets.js';
import type { StudyResults } from './results.js';

/** A chart of the report: its file stem under plots/, its title and its vega-lite spec. */
export interface Plot {
  readonly name: string;
  readonly title: string;
  readonly spec: TopLevelSpec;
}

/** Colours of the models, fixed across every chart (Tableau 10, in MODEL_NAMES order: the ladder, then trm-faithful). */
export const MODEL_COLORS: readonly string[] = Object.freeze(['#4c78a8', '#f58518', '#e45756', '#72b7b2', '#54a24b', '#eeca3b', '#b279a2', '#9d755d']);
/** Colour of a model outside MODEL_NAMES (never expected; keeps a chart drawable). */
const OTHER_COLOR = '#79706e';

export function modelColor(model: string): string {
  const i = (MODEL_NAMES as readonly string[]).indexOf(model);
  return (i >= 0 ? MODEL_COLORS[i] : undefined) ?? OTHER_COLOR;
}

function modelScale(models: readonly ModelName[]) {
  return { domain: [...models], range: models.map(modelColor) };
}

/** Shared look of every chart. */
export const CONFIG = {
  background: 'white',
  font: 'DejaVu Sans, Helvetica, Arial, sans-serif',
  title: { fontSize: 15, subtitleFontSize: 12, anchor: 'start' as const, offset: 12 },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#e6e6e6' },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  header: { labelFontSize: 13, titleFontSize: 13, labelFontWeight: 'bold' as const },
  view: { stroke: '#bbbbbb' },
};

const pctRow = (p: SeriesPoint) => ({
  model: p.model,
  task: p.task,
  x: p.x,
  n: p.n,
  mean: 100 * p.mean,
  lo: p.lo === undefined ? null : 100 * p.lo,
  hi: p.hi === undefined ? null : 100 * p.hi,
});

const ACC_SCALE = { domain: [0, 100] };
/** Legend of line charts: a solid stroke per model (not the pale band colour). */
const LINE_LEGEND = { symbolType: 'stroke', symbolStrokeWidth: 3, symbolOpacity: 1, symbolSize: 250 };
const seedsNote = (seeds: number) => (seeds > 1 ? `mean over ${seeds} seeds, 95% CI` : '1 seed');

/** Line per model with a CI band where n > 1 and dots at the evaluations. */
function lineLayers(x: object, models: readonly ModelName[], yTitle: string) {
  const color = { field: 'model', type: 'nominal' as const, scale: modelScale(models), sort: [...models], title: 'model', legend: LINE_LEGEND };
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
      encoding: { y: { datum: PAPER_CHANCE } },
    },
  ];
}

/** Headline: final character accuracy at the training length per rung and task; ticks at the paper's values. */
export function headlinePlot(results: StudyResults): Plot {
  const { models, tasks, seeds } = presentAxes(results);
  const L = results.study.config.length;
  const rows = tasks.flatMap((task) =>
    models.map((model) => {
      const ci = finalCell(results, model, task, L, charAcc);
      return {
        model,
        task,
        n: ci.n,
        mean: ci.n ? 100 * ci.mean : null,
        lo: ci.lo === undefined ? null : 100 * ci.lo,
        hi: ci.hi === undefined ? null : 100 * ci.hi,
        paper: paperHeadline(model, task) ?? null,
      };
    }),
  );
  const title = `Character accuracy at L=${L}, final step`;
  const x = { field: 'model', type: 'nominal' as const, sort: [...models], axis: { labelAngle: -40, title: null } };
  return {
    name: 'headline',
    title,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: { text: title, subtitle: `bars: this study (${seedsNote(seeds.length)}); black ticks: the paper; dashed: chance` },
      data: { values: rows },
      facet: { column: { field: 'task', type: 'nominal', sort: [...tasks], title: null } },
      spec: {
        width: Math.max(160, 34 * models.length),
        height: 240,
        layer: [
          {
            transform: [{ filter: 'isValid(datum.mean)' }],
            mark: 'bar',
            encoding: {
              x,
              y: { field: 'mean', type: 'quantitative', scale: ACC_SCALE, title: 'character accuracy (%)' },
              color: { field: 'model', type: 'nominal', scale: modelScale(models), legend: null },
              tooltip: [{ field: 'model' }, { field: 'mean', format: '.1f' }, { field: 'n' }, { field: 'paper' }],
            },
          },
          { transform: [{ filter: 'isValid(datum.lo)' }], mark: { type: 'rule', strokeWidth: 1.5 }, encoding: { x, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } } },
          { transform: [{ filter: 'isValid(datum.paper)' }], mark: { type: 'tick', color: 'black', opacity: 1, thickness: 3, bandSize: 24 }, encoding: { x, y: { field: 'paper', type: 'quantitative' } } },
          { mark: { type: 'rule', strokeDash: [4, 4], color: '#888888' }, encoding: { y: { datum: PAPER_CHANCE } } },
        ],
      },
      config: CONFIG,
    } as TopLevelSpec,
  };
}

/** Addition accuracy by answer quartile per rung (small multiples), with the paper's approximate values. */
export function additionQuartilesPlot(results: StudyResults): Plot | undefined {
  const { models, seeds } = presentAxes(results);
  if (!results.runs.some((r) => r.task === 'addition')) return undefined;
  const L = results.study.config.length;
  const rows = models.flatMap((model) =>
    ([0, 1, 2, 3] as const).map((q) => {
      const ci = finalCell(results, model, 'addition', L, quartile(q));
      return {
        model,
        quartile: `Q${q + 1}`,
        n: ci.n,
        mean: ci.n ? 100 * ci.mean : null,
        lo: ci.lo === undefined ? null : 100 * ci.lo,
        hi: ci.hi === undefined ? null : 100 * ci.hi,
        paper: PAPER_ADDITION_QUARTILES[model]?.quartiles?.[q] ?? null,
      };
    }),
  );
  const title = `Addition: character accuracy by answer quartile (L=${L}, final step)`;
  const x = { field: 'quartile', type: 'ordinal' as const, title: null, axis: { labelAngle: 0 } };
  return {
    name: 'addition-quartiles',
    title,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: { text: title, subtitle: [
          'Q1 = most significant answer digits, Q4 = least significant',
          `bars: this study (${seedsNote(seeds.length)}); dashed: chance`,
          'black ticks: the paper (approximate; published for dense, dual-ut)',
        ],
      },
      data: { values: rows },
      facet: { field: 'model', type: 'nominal', sort: [...models], title: null, header: { labelOrient: 'top' } },
      columns: Math.min(4, models.length),
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
              color: { field: 'model', type: 'nominal', scale: modelScale(models), legend: null },
            },
          },
          { transform: [{ filter: 'isValid(datum.lo)' }], mark: { type: 'rule', strokeWidth: 1.5 }, encoding: { x, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } } },
          { transform: [{ filter: 'isValid(datum.paper)' }], mark: { type: 'tick', color: 'black', opacity: 1, thickness: 3 }, encoding: { x, y: { field: 'paper', type: 'quantitative' } } },
          { mark: { type: 'rule', strokeDash: [4, 4], color: '#888888' }, encoding: { y: { datum: PAPER_CHANCE } } },
        ],
      },
      config: CONFIG,
    } as TopLevelSpec,
  };
}

/**
 * Learning curves of one task: character accuracy at the training length vs step, and (given a FLOPs
 * function) vs training FLOPs, side by side.
 */
export function learningCurvePlot(results: StudyResults, task: TaskName, flops?: FlopsPerTokenFn): Plot {
  const { models, seeds } = presentAxes(results);
  const cfg = results.study.config;
  const series = stepSeries(results, task, cfg.length, charAcc).map(pctRow);
  let perStep: Map<ModelName, number> | undefined;
  let flopsNote = flops ? '' : ' (FLOPs panel omitted: no FLOPs function given)';
  if (flops) {
    try {
      perStep = new Map(models.map((m) => [m, flopsPerStep(flops, m, task, cfg)]));
    } catch (e) {
      flopsNote = ` (FLOPs panel omitted: ${(e as Error).message})`;
    }
  }
  const rows = series.map((r) => ({ ...r, flops: perStep ? r.x * perStep.get(r.model)! : null }));
  const title = `${task}: character accuracy at L=${cfg.length} during training`;
  const yTitle = 'character accuracy (%)';
  const byStep = { width: 330, height: 240, layer: lineLayers({ field: 'x', type: 'quantitative', title: 'training step', scale: { zero: true } }, models, yTitle) };
  const byFlops = {
    width: 330,
    height: 240,
    layer: lineLayers({ field: 'flops', type: 'quantitative', title: 'training FLOPs (forward + backward)', axis: { format: '.2~s', labelOverlap: true }, scale: { zero: true } }, models, yTitle),
  };
  return {
    name: `curves-${task}`,
    title,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: { text: title, subtitle: `${seedsNote(seeds.length)}; dashed: chance${flopsNote}` },
      data: { values: rows },
      ...(perStep ? { hconcat: [byStep, byFlops] } : byStep),
      config: CONFIG,
    } as TopLevelSpec,
  };
}

/** Last-character accuracy at the training length vs step, one panel per task (the paper's bottleneck figure). */
export function lastCharPlot(results: StudyResults): Plot {
  const { models, tasks, seeds } = presentAxes(results);
  const L = results.study.config.length;
  const rows = tasks.flatMap((t) => stepSeries(results, t, L, lastCharAcc).map(pctRow));
  const title = `Last-character accuracy at L=${L} vs training step`;
  return {
    name: 'last-char',
    title,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: { text: title, subtitle: [
          'the last answer digit is the bottleneck of addition',
          'paper (5000 steps): dual-ut learns it near step 1,600, dense near 4,100',
          `${seedsNote(seeds.length)}; dashed: chance`,
        ],
      },
      data: { values: rows },
      facet: { column: { field: 'task', type: 'nominal', sort: [...tasks], title: null } },
      spec: { width: 260, height: 220, layer: lineLayers({ field: 'x', type: 'quantitative', title: 'training step', scale: { zero: true } }, models, 'last-character accuracy (%)') },
      config: CONFIG,
    } as TopLevelSpec,
  };
}

/** Final character accuracy vs evaluation length per rung, one panel per task. */
export function lengthPlot(results: StudyResults): Plot {
  const { models, tasks, seeds } = presentAxes(results);
  const cfg = results.study.config;
  const rows = tasks.flatMap((t) => lengthSeries(results, t, cfg.evalLengths).map(pctRow));
  const title = `Length generalisation: character accuracy vs evaluation length (trained at L=${cfg.length})`;
  const x = { field: 'x', type: 'quantitative' as const, title: 'evaluation length L', axis: { values: [...cfg.evalLengths], format: 'd' }, scale: { zero: false, nice: false } };
  const color = { field: 'model', type: 'nominal' as const, scale: modelScale(models), sort: [...models], title: 'model' };
  return {
    name: 'length-generalisation',
    title,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: { text: title, subtitle: `final step, ${seedsNote(seeds.length)}; dashed: chance` },
      data: { values: rows },
      facet: { column: { field: 'task', type: 'nominal', sort: [...tasks], title: null } },
      spec: {
        width: 240,
        height: 220,
        layer: [
          { transform: [{ filter: 'isValid(datum.lo)' }], mark: { type: 'rule', strokeWidth: 1.5 }, encoding: { x, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' }, color } },
          { mark: { type: 'line', point: { size: 30 }, strokeWidth: 2 }, encoding: { x, y: { field: 'mean', type: 'quantitative', scale: ACC_SCALE, title: 'character accuracy (%)' }, color } },
          { mark: { type: 'rule', strokeDash: [4, 4], color: '#888888' }, encoding: { y: { datum: PAPER_CHANCE } } },
        ],
      },
      config: CONFIG,
    } as TopLevelSpec,
  };
}

/** Every chart of the report, in report order. */
export function studyPlots(results: StudyResults, flops?: FlopsPerTokenFn): Plot[] {
  const { tasks } = presentAxes(results);
  const plots: (Plot | undefined)[] = [
    headlinePlot(results),
    additionQuartilesPlot(results),
    ...tasks.map((t) => learningCurvePlot(results, t, flops)),
    lastCharPlot(results),
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
