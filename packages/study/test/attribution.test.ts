import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import {
  ATTRIBUTION_ARMS,
  ATTRIBUTION_PRESET,
  PRESETS,
  attributionConclusion,
  attributionPreset,
  compareArms,
  meanCI,
  type ArmSummary,
  type AttributionSummary,
  collectAttribution,
  defineArms,
  isAttributionFolder,
  readAttributionFile,
  regenerateAttributionReport,
  runAttribution,
  runStudy,
  summarizeAttribution,
  welchDiffCI,
  writeAttributionReport,
  type GridProgress,
  type RunAttributionOptions,
} from '../src/index.js';
import { FAKE_TARM, invocations, tempDir } from './helpers.js';

function options(outDir: string, log: string, env: Record<string, string> = {}, extra: Partial<RunAttributionOptions> = {}): RunAttributionOptions {
  return { outDir, cliEntry: FAKE_TARM, workers: 2, progress: false, env: { ...process.env, FAKE_TARM_LOG: log, ...env }, ...extra };
}

const SEEDS = ATTRIBUTION_PRESET.seeds;

describe('attribution preset and arms', () => {
  it('is a preset of its own: addition at CPU scale, budget 12, 3 seeds, with notes', () => {
    expect(PRESETS.attribution).toBe(ATTRIBUTION_PRESET);
    expect(ATTRIBUTION_PRESET).toMatchObject({ name: 'attribution', tasks: ['addition'], seeds: [1337, 1, 2] });
    expect(ATTRIBUTION_PRESET.config).toEqual({
      length: 10,
      evalLengths: [10],
      budget: 12,
      dModel: 64,
      nHeads: 4,
      steps: 200,
      batch: 32,
      lr: 1e-3,
      dropout: 0,
      decode: 'greedy',
      evalEvery: 50,
      evalN: 50,
    });
    expect(ATTRIBUTION_PRESET.notes.length).toBeGreaterThan(3);
  });

  it('attributionPreset(task): the same configuration on another task, worded for it; addition is the preset itself', () => {
    expect(attributionPreset()).toBe(ATTRIBUTION_PRESET);
    expect(attributionPreset('addition')).toBe(ATTRIBUTION_PRESET);
    for (const task of ['copy', 'reverse'] as const) {
      const p = attributionPreset(task);
      expect(p).toMatchObject({ name: 'attribution', tasks: [task], seeds: ATTRIBUTION_PRESET.seeds, models: ATTRIBUTION_PRESET.models });
      expect(p.config).toEqual(ATTRIBUTION_PRESET.config);
      expect(p.description).toContain(`collapse on ${task}`);
      expect(p.notes.join('\n')).toContain(`; ${task} only`);
      expect(p.notes.join('\n')).not.toContain('addition only');
      expect(Object.isFrozen(p.tasks)).toBe(true);
    }
    expect(ATTRIBUTION_PRESET.tasks).toEqual(['addition']);
    expect(() => attributionPreset('sorting')).toThrow(/unknown task "sorting" .*known: addition, copy, reverse/);
  });

  it('arms: paper, one fix at a time, all, then the decoding check; frozen', () => {
    expect(ATTRIBUTION_ARMS.map((a) => [a.id, a.model, a.flags.join(' ')])).toEqual([
      ['paper', 'ar-trm', ''],
      ['deep-supervision', 'ar-trm', '--deep-supervision 0'],
      ['halt-loss', 'ar-trm', '--halt-loss on'],
      ['grad-all', 'ar-trm', '--grad-cycles all'],
      ['ema', 'ar-trm', '--ema 0.999'],
      ['all', 'trm-faithful', ''],
      ['paper-sampled', 'ar-trm', '--decode sample'],
      ['all-sampled', 'trm-faithful', '--decode sample'],
    ]);
    expect(Object.isFrozen(ATTRIBUTION_ARMS)).toBe(true);
    expect(Object.isFrozen(ATTRIBUTION_ARMS[1]!.flags)).toBe(true);
    for (const a of ATTRIBUTION_ARMS) expect(a.label.length && a.change.length).toBeTruthy();
    const base = { label: 'x', model: 'ar-trm', flags: [], change: 'x', kind: 'fix' } as const;
    expect(() => defineArms([{ ...base, id: 'a' }, { ...base, id: 'a' }])).toThrow(/appears twice/);
    expect(() => defineArms([{ ...base, id: 'a', baseline: 'b' }])).toThrow(/baseline "b"/);
    expect(() => defineArms([{ ...base, id: 'a', flags: ['--seed', '3'] }])).toThrow(/--seed is set by the study runner/);
  });

  it('welchDiffCI: difference, Welch df rounded down, interval', () => {
    const d = welchDiffCI([0.5, 0.6, 0.7], [0.1, 0.1, 0.4]);
    expect(d.diff).toBeCloseTo(0.4, 10);
    // s1^2/3 = 0.01/3, s2^2/3 = 0.03/3; df = (0.04/3)^2 / ((0.01/3)^2/2 + (0.03/3)^2/2) = 3.2 -> 3
    expect(d.df).toBe(3);
    expect(d.halfWidth).toBeCloseTo(3.182 * Math.sqrt(0.04 / 3), 10);
    expect(welchDiffCI([0.5], [0.1, 0.2])).toMatchObject({ n1: 1, n2: 2 });
    expect(welchDiffCI([0.5], [0.1, 0.2]).lo).toBeUndefined();
    expect(welchDiffCI([0.3, 0.3], [0.1, 0.1])).toMatchObject({ lo: 0.3 - 0.1, hi: 0.3 - 0.1, df: 2 });
  });
});

describe('runAttribution with a fake train command', () => {
  const out = join(tempDir(), 'attr');
  const log = join(out, '..', 'invocations.log');

  it('runs every arm x seed as a sub-study with the arm flags, and names the arm in the progress', async () => {
    const seen: GridProgress[] = [];
    const outcome = await runAttribution({ ...options(out, log), onProgress: (g) => seen.push(g) });
    expect(outcome.ok).toBe(true);
    expect(outcome.runs).toHaveLength(ATTRIBUTION_ARMS.length * SEEDS.length);
    const expected = ATTRIBUTION_ARMS.flatMap((a) => SEEDS.map((s) => `${a.id}/${a.model}-addition-s${s}`));
    expect(outcome.runs.map((r) => r.id).sort()).toEqual([...expected].sort());
    expect(invocations(log)).toHaveLength(expected.length);
    // each arm is a normal study folder; its runs got the arm's flags after the preset's
    for (const arm of ATTRIBUTION_ARMS) {
      const study = JSON.parse(readFileSync(join(out, 'arms', arm.id, 'study.json'), 'utf8'));
      expect(study).toMatchObject({ preset: { name: 'attribution', config: ATTRIBUTION_PRESET.config }, grid: { models: [arm.model], tasks: ['addition'], seeds: [...SEEDS] } });
      const cmd = readFileSync(join(out, 'arms', arm.id, 'logs', `${arm.model}-addition-s1.log`), 'utf8').split('\n')[0]!;
      expect(cmd).toContain(`train --model ${arm.model} --task addition --length 10 --eval-lengths 10 --budget 12`);
      expect(cmd.endsWith(['--json', ...arm.flags].join(' '))).toBe(true);
    }
    expect(readAttributionFile(out)).toMatchObject({ schema: 'tarm-attribution', preset: { name: 'attribution' }, arms: ATTRIBUTION_ARMS.map((a) => ({ id: a.id })) });
    expect(isAttributionFolder(out)).toBe(true);
    // the merged progress: every run of every arm, ids prefixed with the arm, running arms in the label
    expect(seen.at(-1)).toMatchObject({ total: 24, finished: 24, failed: 0 });
    expect(seen.some((g) => g.running.some((r) => r.id.startsWith('deep-supervision/')) && /^attribution \[.*deep-supervision/.test(g.label ?? ''))).toBe(true);
    expect(seen.every((g) => g.running.length <= 2)).toBe(true); // one pool of 2 workers over all arms
    expect(existsSync(join(out, '.lock'))).toBe(false);
  });

  it('writes report.md with every arm, mean ± CI, differences and the conclusion', async () => {
    const { report, plots } = await writeAttributionReport(out);
    const md = readFileSync(report, 'utf8');
    // fake: ar-trm 0.2 + 0.01 * (seed % 3) -> 22.0, 21.0, 22.0 -> 21.7 ± 1.4; deep supervision +50 points
    expect(md).toContain('| paper | 21.7 ± 1.4 |');
    expect(md).toContain('| deep-supervision | 71.7 ± 1.4 |');
    expect(md).toContain('| all | 72.1 ± 1.4 |');
    expect(md).toContain('| paper-sampled | 20.7 ± 1.4 |');
    for (const arm of ATTRIBUTION_ARMS) expect(md).toMatch(new RegExp(`^\\| ${arm.id} \\| \\d+\\.\\d ± \\d+\\.\\d \\|( \\S+ ± \\S+ \\|){3}`, 'm'));
    expect(md).toContain('| deep-supervision | paper | 71.7 | 21.7 | +50.0 | [+48.7, +51.3] | 4 | higher |');
    expect(md).toMatch(/\| halt-loss \| paper \| 21\.7 \| 21\.7 \| 0\.0 \| \[-1\.3, \+1\.3\] \| 4 \| no detectable change \|/);
    expect(md).toContain('Welch');
    expect(md).toContain('Q1 holds the most significant answer digits');
    expect(md).toContain('## Conclusion');
    expect(md).toContain('deep-supervision raises character accuracy from 21.7% to 71.7% (difference +50.0 points, 95% CI [+48.7, +51.3]).');
    expect(md).toContain('The difference intervals of halt-loss, grad-all, ema include 0');
    expect(md).toContain('The paper arm (ar-trm) reaches 21.7 ± 1.4% character accuracy at L = 10 over 3 seeds');
    expect(md).toContain('All fixes together (the all arm, trm-faithful) raise it from 21.7% to 72.1% (difference +50.4 points, 95% CI [+49.1, +51.7]).');
    expect(md).toContain('Only deep-supervision does so on its own. deep-supervision alone cannot be told apart from all fixes together');
    expect(md).toMatch(/Decoding check, paper-sampled: .*the interval includes 0/);
    expect(md).toContain('With n = 3 finished seeds per arm the intervals are wide');
    expect(md).toContain('![attribution](plots/attribution.svg)');
    expect(plots.map((p) => p.split('/').pop())).toEqual(['attribution.svg']);
    const svg = readFileSync(plots[0]!, 'utf8');
    expect(XMLValidator.validate(svg)).toBe(true);
    expect(svg).toContain('Attribution: character accuracy at L=10');
    expect(svg).toContain('+ deep supervision');
  });

  it('tarm report: regenerates from the arm results alone', async () => {
    rmSync(join(out, 'report.md'));
    rmSync(join(out, 'plots'), { recursive: true });
    for (const arm of ATTRIBUTION_ARMS) rmSync(join(out, 'arms', arm.id, 'runs'), { recursive: true });
    const { report } = await regenerateAttributionReport(out);
    expect(readFileSync(report, 'utf8')).toContain('| deep-supervision | 71.7 ± 1.4 |');
    expect(existsSync(join(out, 'plots', 'attribution.svg'))).toBe(true);
  });

  it('a rerun after an interruption repeats no finished run', async () => {
    const dir = join(tempDir(), 'attr-killed');
    const calls = join(dir, '..', 'invocations.log');
    const preset = { ...structuredClone(ATTRIBUTION_PRESET), config: { ...ATTRIBUTION_PRESET.config, steps: 20, evalEvery: 10 } };
    const arms = ATTRIBUTION_ARMS.filter((a) => ['paper', 'deep-supervision', 'all'].includes(a.id));
    const ac = new AbortController();
    const env = { FAKE_TARM_STEP_MS: '20' };
    const first = await runAttribution({
      ...options(dir, calls, env, { preset, arms, seeds: [1, 2] }),
      signal: ac.signal,
      onProgress: (g) => {
        if (g.finished >= 2 && g.running.some((r) => (r.step ?? 0) >= 5)) ac.abort();
      },
    });
    expect(first.aborted).toBe(true);
    expect(first.ok).toBe(false);
    const finishedFirst = first.runs.filter((r) => r.status === 'done').map((r) => r.id);
    expect(finishedFirst.length).toBeGreaterThanOrEqual(2);
    expect(finishedFirst.length).toBeLessThan(6);
    const before = invocations(calls).length;
    // a partial report already works
    const partial = readFileSync((await writeAttributionReport(dir)).report, 'utf8');
    expect(partial).toContain('Not every run has finished');

    const second = await runAttribution(options(dir, calls, env, { preset, arms, seeds: [1, 2] }));
    expect(second.ok).toBe(true);
    const again = invocations(calls).slice(before);
    // the fake logs the run folder's name: match the arm through the run's folder
    const ranAgain = second.runs.filter((r) => r.status === 'done').map((r) => r.id);
    expect(ranAgain.length).toBe(6 - finishedFirst.length);
    expect(again.length).toBe(ranAgain.length);
    for (const id of finishedFirst) expect(ranAgain).not.toContain(id);
    expect(second.runs.filter((r) => r.status === 'skipped').map((r) => r.id).sort()).toEqual([...finishedFirst].sort());
    expect(again.some(([, mode]) => mode === 'resume')).toBe(true);
    expect(readAttributionFile(dir)!.sessions).toHaveLength(2);
    const summary = summarizeAttribution(collectAttribution(dir));
    expect(summary.arms.map((a) => a.finished)).toEqual([2, 2, 2]);
  });

  it('refuses other arms or another configuration in the same folder, and a study folder', async () => {
    const dir = join(tempDir(), 'attr-refuse');
    const calls = join(dir, '..', 'invocations.log');
    const preset = { ...structuredClone(ATTRIBUTION_PRESET), config: { ...ATTRIBUTION_PRESET.config, steps: 4, evalEvery: 2 } };
    const arms = ATTRIBUTION_ARMS.slice(0, 2);
    await runAttribution(options(dir, calls, {}, { preset, arms, seeds: [1] }));
    await expect(runAttribution(options(dir, calls, {}, { preset, arms: ATTRIBUTION_ARMS.slice(0, 3), seeds: [1] }))).rejects.toThrow(/other arms/);
    await expect(runAttribution(options(dir, calls, {}, { preset: { ...preset, config: { ...preset.config, steps: 5 } }, arms, seeds: [1] }))).rejects.toThrow(/steps: 4 -> 5/);
    expect(invocations(calls)).toHaveLength(2);
    const study = join(tempDir(), 'plain');
    await runStudy({ preset: 'smoke', outDir: study, cliEntry: FAKE_TARM, workers: 1, progress: false, env: { ...process.env, FAKE_TARM_LOG: calls } });
    await expect(runAttribution(options(study, calls))).rejects.toThrow(/not an attribution study/);
    writeFileSync(join(dir, 'arms', 'paper', 'study.json'), '{}');
    await expect(runAttribution(options(dir, calls, {}, { preset, arms, seeds: [1] }))).rejects.toThrow(/not a tarm study file/);
    expect(invocations(calls)).toHaveLength(4);
  });
});

describe('runAttribution --task', () => {
  const small = { ...structuredClone(ATTRIBUTION_PRESET), config: { ...ATTRIBUTION_PRESET.config, steps: 4, evalEvery: 2 } };
  const arms = ATTRIBUTION_ARMS.filter((a) => ['paper', 'all'].includes(a.id));

  it('trains every arm on the task, saves it in attribution.json and the arm folders, and the report names it', async () => {
    const dir = join(tempDir(), 'attr-copy');
    const calls = join(dir, '..', 'invocations.log');
    const outcome = await runAttribution(options(dir, calls, {}, { preset: small, arms, seeds: [1, 2], task: 'copy' }));
    expect(outcome.ok).toBe(true);
    expect(outcome.preset.tasks).toEqual(['copy']);
    expect(outcome.runs.map((r) => r.id).sort()).toEqual(['all/trm-faithful-copy-s1', 'all/trm-faithful-copy-s2', 'paper/ar-trm-copy-s1', 'paper/ar-trm-copy-s2']);
    expect(readAttributionFile(dir)!.preset.tasks).toEqual(['copy']);
    for (const arm of arms) {
      const study = JSON.parse(readFileSync(join(dir, 'arms', arm.id, 'study.json'), 'utf8'));
      expect(study).toMatchObject({ preset: { tasks: ['copy'] }, grid: { tasks: ['copy'] } });
      const cmd = readFileSync(join(dir, 'arms', arm.id, 'logs', `${arm.model}-copy-s1.log`), 'utf8').split('\n')[0]!;
      expect(cmd).toContain(`train --model ${arm.model} --task copy --length 10`);
    }
    const md = readFileSync((await writeAttributionReport(dir)).report, 'utf8');
    expect(md).toContain('on copy.');
    expect(md).toContain('Q1..Q4: the first to the last quarter of the answer positions');
    expect(md).not.toContain('most significant answer digits');
    expect(md).toMatch(/^\| paper \| [\d.]+ ± [\d.]+ \|/m);
  });

  it('refuses to resume a folder on another task (attribution.json, then the arm folders), starting nothing', async () => {
    const dir = join(tempDir(), 'attr-task');
    const calls = join(dir, '..', 'invocations.log');
    await runAttribution(options(dir, calls, {}, { preset: small, arms, seeds: [1], task: 'copy' }));
    expect(invocations(calls)).toHaveLength(2);
    await expect(runAttribution(options(dir, calls, {}, { preset: small, arms, seeds: [1] }))).rejects.toThrow(
      /was made on task copy; this command asks for task addition\. Rerun with --task copy to resume it/,
    );
    await expect(runAttribution(options(dir, calls, {}, { preset: small, arms, seeds: [1], task: 'reverse' }))).rejects.toThrow(/made on task copy; .*task reverse/);
    // without attribution.json, the arm folders still hold runs on copy
    rmSync(join(dir, 'attribution.json'));
    await expect(runAttribution(options(dir, calls, {}, { preset: small, arms, seeds: [1], task: 'addition' }))).rejects.toThrow(/arm paper: .*holds runs on task copy/);
    await expect(runAttribution(options(dir, calls, {}, { preset: small, arms, seeds: [1], task: 'sorting' }))).rejects.toThrow(/--task: unknown task "sorting"; known: addition, copy, reverse/);
    expect(invocations(calls)).toHaveLength(2);
    // the same task resumes: nothing to run again
    const again = await runAttribution(options(dir, calls, {}, { preset: small, arms, seeds: [1], task: 'copy' }));
    expect(again.ok).toBe(true);
    expect(invocations(calls)).toHaveLength(2);
  });
});

describe('attributionConclusion states only what the intervals support', () => {
  /** A summary whose arms have these character accuracies per seed (other metrics left empty). */
  function summary(values: Record<string, number[]>): AttributionSummary {
    const arms: ArmSummary[] = ATTRIBUTION_ARMS.map((arm) => {
      const xs = values[arm.id] ?? [];
      const none = meanCI([]);
      return {
        arm,
        runs: 3,
        finished: xs.length,
        failed: 0,
        seeds: xs.map((v, i) => ({ seed: i, charAcc: v })),
        charAcc: meanCI(xs),
        exactMatch: none,
        firstCharAcc: none,
        lastCharAcc: none,
        quartiles: [none, none, none, none],
        wallSeconds: none,
      };
    });
    const byId = new Map(arms.map((a) => [a.arm.id, a]));
    return {
      preset: ATTRIBUTION_PRESET,
      task: 'addition',
      length: 10,
      arms,
      comparisons: arms.filter((a) => a.arm.baseline).map((a) => compareArms(a, byId.get(a.arm.baseline!)!)),
    };
  }
  const noisy = (m: number) => [m - 0.1, m, m + 0.1];

  it('no single fix and not all of them: says so, with the intervals', () => {
    const text = attributionConclusion(summary(Object.fromEntries(ATTRIBUTION_ARMS.map((a) => [a.id, noisy(0.12)])))).join('\n');
    expect(text).toContain('No single fix moves character accuracy beyond the paper arm: the 95% interval of every single-fix difference includes 0 (deep-supervision 0.0 [-22.7, +22.7];');
    expect(text).toContain('All fixes together (the all arm, trm-faithful) do not change it detectably');
    expect(text).toContain('Neither a single fix nor all of them together change accuracy detectably');
    expect(text).toContain('With n = 3 finished seeds per arm the intervals are wide');
    expect(text).not.toMatch(/raises|explains/);
  });

  it('all fixes help but no single one detectably: no attribution to one fix', () => {
    const v: Record<string, number[]> = Object.fromEntries(ATTRIBUTION_ARMS.map((a) => [a.id, noisy(0.12)]));
    v.all = [0.7, 0.71, 0.72];
    v['all-sampled'] = [0.69, 0.7, 0.71];
    v['deep-supervision'] = noisy(0.2);
    const text = attributionConclusion(summary(v)).join('\n');
    expect(text).toContain('No single fix moves character accuracy beyond the paper arm');
    expect(text).toMatch(/All fixes together \(the all arm, trm-faithful\) raise it from 12\.0% to 71\.0%/);
    expect(text).toContain('None of the single fixes raises accuracy detectably on its own while all of them together do');
    expect(text).toMatch(/Under sampling, all against paper is .*\(higher\); with greedy decoding it is .*\(higher\): the decoding does not change this verdict/);
  });

  it('missing runs: no comparison without a finished paper arm; unfinished runs are named', () => {
    const text = attributionConclusion(summary({ 'deep-supervision': [0.5] })).join('\n');
    expect(text).toContain('The paper arm has no finished run yet: nothing can be compared.');
    expect(text).toContain('Not every run has finished');
  });
});
