import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tarm } from './tarm.js';
import { solveBudget } from '@tarm/recursion';
import { ATTRIBUTION_ARMS, ATTRIBUTION_PRESET, attributionPreset, readAttributionFile, resolveGrid, runAttribution, trainArgs } from '@tarm/study';
import { buildProgram } from '../dist/program.js';
import { resolveTrain } from '../dist/options.js';

const FAKE_TARM = fileURLToPath(new URL('../../../packages/study/test/fixtures/fake-tarm.mjs', import.meta.url));


const tmp = () => mkdtempSync(join(tmpdir(), 'tarm-cli-study-'));

/** The options the real `tarm train` command would act on for this argument list (nothing is trained). */
function parseTrain(args: readonly string[]) {
  const train = buildProgram().commands.find((c) => c.name() === 'train')!;
  const { operands, unknown } = train.parseOptions([...args]);
  expect(operands).toEqual([]);
  expect(unknown).toEqual([]);
  return resolveTrain(train.opts());
}

describe('tarm study --preset attribution', () => {
  it('refuses --models and --tasks with a clear message, writing nothing', async () => {
    for (const extra of [['--models', 'dense'], ['--tasks', 'copy']]) {
      const out = join(tmp(), 'attr');
      const r = await tarm(['study', '--preset', 'attribution', '--out', out, ...extra]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`${extra[0]} is not allowed with --preset attribution`));
      expect(existsSync(out)).toBe(false);
    }
  });

  it('--task: validated before anything is written (exit 2, the flag and the allowed values); only with attribution', async () => {
    const out = join(tmp(), 'attr');
    const bad = await tarm(['study', '--preset', 'attribution', '--task', 'sorting', '--out', out]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/invalid --task: got "sorting"; allowed: "addition", "copy", "reverse"/);
    const other = await tarm(['study', '--preset', 'smoke', '--task', 'copy', '--out', out]);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/--task is only for --preset attribution; for preset smoke use --tasks/);
    expect(existsSync(out)).toBe(false);
    const help = await tarm(['study', '--help']);
    expect(help.stdout.replace(/\s+/g, ' ')).toContain('--task <name> attribution only: the task every arm trains on, addition | copy | reverse (default: addition)');
  });

  it("--task copy reaches every run's tarm train config, and the saved task guards the folder", async () => {
    const preset = attributionPreset('copy');
    const grid = resolveGrid(preset);
    expect(new Set(grid.map((r) => r.task))).toEqual(new Set(['copy']));
    for (const arm of ATTRIBUTION_ARMS) {
      const args = trainArgs({ ...grid[0]!, model: arm.model }, preset.config, { runDir: '/tmp/x', backend: 'wasm', resume: false, extra: arm.flags });
      expect(parseTrain(args.slice(1)).flags.task, arm.id).toBe('copy');
    }
    // a folder made on copy: the CLI without --task (addition) is refused on the task, with --task copy it gets
    // past the task to the configuration check (this folder was made with 4 steps, the preset has 200)
    const out = join(tmp(), 'attr');
    const small = { ...structuredClone(preset), config: { ...preset.config, steps: 4, evalEvery: 2 } };
    const made = await runAttribution({ outDir: out, cliEntry: FAKE_TARM, preset: small, arms: ATTRIBUTION_ARMS, seeds: [1], workers: 2, progress: false });
    expect(made.ok).toBe(true);
    const addition = await tarm(['study', '--preset', 'attribution', '--out', out]);
    expect(addition.code).toBe(1);
    expect(addition.stderr).toMatch(/was made on task copy; this command asks for task addition\. Rerun with --task copy/);
    const copy = await tarm(['study', '--preset', 'attribution', '--task', 'copy', '--out', out]);
    expect(copy.code).toBe(1);
    expect(copy.stderr).not.toMatch(/made on task/);
    expect(copy.stderr).toMatch(/steps: 4 -> 200/);
    expect(readAttributionFile(out)!.sessions).toHaveLength(1);
  });

  it("every arm's tarm train command line resolves to the intended switches (last value of a repeated flag wins)", () => {
    const expected: Record<string, { model: string; decode: string; deepSupervision: number; haltLoss: boolean; gradCycles: string; ema: number }> = {
      paper: { model: 'ar-trm', decode: 'greedy', deepSupervision: 1, haltLoss: false, gradCycles: 'last', ema: 0 },
      'deep-supervision': { model: 'ar-trm', decode: 'greedy', deepSupervision: 0, haltLoss: false, gradCycles: 'last', ema: 0 },
      'halt-loss': { model: 'ar-trm', decode: 'greedy', deepSupervision: 1, haltLoss: true, gradCycles: 'last', ema: 0 },
      'grad-all': { model: 'ar-trm', decode: 'greedy', deepSupervision: 1, haltLoss: false, gradCycles: 'all', ema: 0 },
      ema: { model: 'ar-trm', decode: 'greedy', deepSupervision: 1, haltLoss: false, gradCycles: 'last', ema: 0.999 },
      all: { model: 'trm-faithful', decode: 'greedy', deepSupervision: 0, haltLoss: true, gradCycles: 'all', ema: 0.999 },
      'paper-sampled': { model: 'ar-trm', decode: 'sample', deepSupervision: 1, haltLoss: false, gradCycles: 'last', ema: 0 },
      'all-sampled': { model: 'trm-faithful', decode: 'sample', deepSupervision: 0, haltLoss: true, gradCycles: 'all', ema: 0.999 },
    };
    expect(ATTRIBUTION_ARMS.map((a) => a.id)).toEqual(Object.keys(expected));
    for (const arm of ATTRIBUTION_ARMS) {
      const args = trainArgs({ id: 'x', model: arm.model, task: 'addition', seed: 1 }, ATTRIBUTION_PRESET.config, { runDir: '/tmp/x', backend: 'wasm', resume: false, extra: arm.flags });
      expect(args[0]).toBe('train');
      const r = parseTrain(args.slice(1));
      const e = expected[arm.id]!;
      expect({ model: r.flags.model, decode: r.flags.decode, deepSupervision: r.model.deepSupervision, haltLoss: r.model.haltLoss, gradCycles: r.model.gradCycles, ema: r.ema }, arm.id).toEqual(e);
      // budget 12: 2 steps of H = 2, L = 2, so deep supervision has 2 segments
      const schedule = solveBudget(r.model);
      expect({ steps: schedule.steps, H: schedule.H, L: schedule.L, blockPasses: schedule.blockPasses }, arm.id).toEqual({ steps: 2, H: 2, L: 2, blockPasses: 12 });
      expect(schedule.segments, arm.id).toBe(e.deepSupervision === 0 ? 2 : 1);
    }
  });

  it('commander keeps the last value of a repeated --decode', async () => {
    const out = join(tmp(), 'run');
    const r = await tarm(['train', '--decode', 'greedy', '--decode', 'bogus', '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/invalid --decode: got "bogus"/);
    expect(existsSync(out)).toBe(false);
  });

  it('tarm report regenerates an attribution folder; tarm study refuses it as a plain study folder', async () => {
    const out = join(tmp(), 'attr');
    const preset = { ...structuredClone(ATTRIBUTION_PRESET), config: { ...ATTRIBUTION_PRESET.config, steps: 4, evalEvery: 2 } };
    const outcome = await runAttribution({ outDir: out, cliEntry: FAKE_TARM, preset, arms: ATTRIBUTION_ARMS.slice(0, 2), seeds: [1, 2], workers: 2, progress: false });
    expect(outcome.ok).toBe(true);
    const r = await tarm(['report', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`wrote ${join(out, 'report.md')}`);
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toContain('# Attribution study `attribution`');
    expect(md).toMatch(/^\| deep-supervision \| [\d.]+ ± [\d.]+ \|/m);
    expect(md).toContain('## Conclusion');
    expect(existsSync(join(out, 'plots', 'attribution.svg'))).toBe(true);
    const again = await tarm(['study', '--preset', 'smoke', '--out', out]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/is an attribution study/);
  });
});
