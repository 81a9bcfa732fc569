import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { loadStudy } from '../src/presets.js';
import { agreement, comparisons, writeReport } from '../src/report.js';
import { collectResults } from '../src/results.js';
import { runStudy } from '../src/runner.js';
import { meanCI, welchDiffCI } from '../src/stats.js';
import { defineStudy } from '../src/schema.js';
import { copyFixtureStudy, FAKE_TARM, tempDir } from './helpers.js';

describe('report', () => {
  const dir = copyFixtureStudy();
  const results = collectResults(dir);

  it('report.md holds the headline table with the paper numbers beside ours', async () => {
    const { report } = await writeReport(dir, results);
    const md = readFileSync(report, 'utf8');
    expect(md).toContain('## Headline: character accuracy at the training length (step ');
    expect(md).toContain('| arm | addition (L = 10), greedy | copy (L = 10), greedy |');
    // dense addition: seeds 0.80 and 0.84 -> 82.0 ± 25.4 (t(1) = 12.706, sd 0.0283)
    expect(md).toContain('| dense | 82.0 ± 25.4 (paper 79.9) | 99.0 ± 12.7 (paper 100) |');
    // ut addition: one finished seed (the other is incomplete)
    expect(md).toContain('| ut | 66.0 (n=1) (paper 65.8) | - (paper 100) |');
    expect(md).toContain('| dual-ut | 83.0 ± 25.4 (paper 83) | - |');
    expect(md).toContain('## Addition by answer quartile');
    expect(md).toContain('## Agreement with the paper');
    expect(md).toContain(
      '- dense / addition: ours 82.0 ± 25.4 vs paper 79.9: within 5 points of the paper (+2.1); the paper value lies inside our 95% CI.',
    );
    expect(md).toContain('- ut / copy: no finished run (paper 100).');
    expect(md).toMatch(/dual-ut \/ addition Q4: ours .* below the paper by/);
    expect(md).toContain("This is not the paper's configuration");
    expect(md).toContain('Wall time of the study: 10m31s over 2 sessions');
    expect(md).toContain('| dense | addition | 1 | finished | - | 28.0k | 4101 | 1m01s | 100 | 80.0 | 25.0 |');
    expect(md).toContain('Failed: ut-copy-s1');
    expect(md).toMatch(/\| CPU \(finished runs\) \| Test CPU \(avx2\): 1 run; not recorded: \d+ runs \|/);
    // per cell: every seed and the success count
    expect(md).toContain('| dense | addition | 80.0 (s1), 84.0 (s2) | 0/2 [0.0, 84.2] |');
    expect(md).toContain('| dense | copy | 100.0 (s1), 98.0 (s2) | 2/2 [15.8, 100.0] |');
    expect(md).not.toContain('## Comparisons'); // the fixture's study has no compare list
  });

  it('writes SVG plots that are valid XML with the expected titles', async () => {
    rmSync(join(dir, 'plots'), { recursive: true, force: true });
    const { plots } = await writeReport(dir, results);
    const expected: Record<string, string> = {
      'headline.svg': "Character accuracy at the training length, at each task's steps",
      'addition-quartiles.svg': 'Addition: character accuracy by answer quartile (L=10, final step)',
      'curves-addition.svg': 'addition: character accuracy at L=10 during training',
      'curves-copy.svg': 'copy: character accuracy at L=10 during training',
      'last-char.svg': 'Last-character accuracy at the training length vs training step',
      'length-generalisation.svg': 'Length generalisation: character accuracy vs evaluation length',
      'transition-km.svg': 'Last-digit transition (C4): seeds not yet crossed, Kaplan-Meier',
    };
    expect(plots.map((p) => p.split('/').pop()).sort()).toEqual(Object.keys(expected).sort());
    for (const [file, title] of Object.entries(expected)) {
      const svg = readFileSync(join(dir, 'plots', file), 'utf8');
      expect(XMLValidator.validate(svg), file).toBe(true);
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg, file).toContain(title);
      expect(existsSync(join(dir, 'plots', file.replace('.svg', '.vl.json')))).toBe(true);
    }
    expect(readFileSync(join(dir, 'plots', 'curves-addition.svg'), 'utf8')).toContain('training FLOPs');
    // the 95% bands of accuracy curves stay inside [0, 100] (a two-seed interval spills far outside it otherwise)
    for (const task of ['addition', 'copy']) {
      const rows = JSON.parse(readFileSync(join(dir, 'plots', `curves-${task}.vl.json`), 'utf8')).data.values as {
        lo: number | null;
        hi: number | null;
      }[];
      const bands = rows.filter((r) => r.lo !== null);
      expect(bands.length, task).toBeGreaterThan(0);
      for (const r of bands) expect([r.lo! >= 0, r.hi! <= 100], task).toEqual([true, true]);
    }
  });

  it('the headline chart draws each seed beside its bar (a strip plot)', () => {
    const spec = JSON.parse(readFileSync(join(dir, 'plots', 'headline.vl.json'), 'utf8'));
    // dense addition has 2 finished seeds, ut addition 1 (the other is incomplete)
    const seedsOf = (arm: string) =>
      spec.data.values.filter(
        (r: { kind: string; arm: string; task: string }) => r.kind === 'seed' && r.arm === arm && r.task === 'addition',
      );
    expect(seedsOf('dense').map((r: { value: number }) => r.value)).toEqual([80, 84]);
    expect(seedsOf('ut')).toHaveLength(1);
    expect(readFileSync(join(dir, 'plots', 'headline.svg'), 'utf8')).toContain('single seeds');
  });

  it('regenerates from results.json alone', async () => {
    rmSync(join(dir, 'report.md'));
    rmSync(join(dir, 'runs'), { recursive: true });
    const { report } = await writeReport(dir);
    expect(readFileSync(report, 'utf8')).toContain('| dense | 82.0 ± 25.4 (paper 79.9) | 99.0 ± 12.7 (paper 100) |');
  });

  it('agreement sentences say within, above or below, plainly', () => {
    expect(agreement('a', meanCI([0.95]), 100)).toBe(
      'a: ours 95.0 (n=1) vs paper 100: within 5 points of the paper (-5.0); one seed, no interval.',
    );
    expect(agreement('a', meanCI([0.2, 0.3]), 12.5)).toMatch(
      /above the paper by 12.5 points; the paper value lies inside our 95% CI/,
    );
    expect(agreement('a', meanCI([0.5, 0.5]), 83)).toMatch(
      /below the paper by 33.0 points; the paper value lies outside our 95% CI/,
    );
  });
});

describe('a study with trm-faithful (no published numbers)', () => {
  it('reports it without paper values and draws it in its own colour', async () => {
    const out = join(tempDir(), 'trm-faithful');
    const study = loadStudy({ preset: 'smoke' }, { tasks: ['addition'], config: { budget: 6 } });
    const outcome = await runStudy(
      defineStudy({
        ...study,
        arms: [
          { name: 'ar-trm', rung: 'ar-trm' },
          { name: 'trm-faithful', rung: 'trm-faithful' },
        ],
      }),
      { outDir: out, cliEntry: FAKE_TARM, backend: 'wasm', workers: 2, progress: false },
    );
    expect(outcome.ok).toBe(true);
    const results = collectResults(out);
    expect(results.runs.map((r) => r.id)).toEqual(['ar-trm-addition-s1337', 'trm-faithful-addition-s1337']);
    const { report, plots } = await writeReport(out, results);
    const md = readFileSync(report, 'utf8');
    // fake: ar-trm 0.2 + 0.02, trm-faithful + 0.5 (deep supervision) + 0.004 (all cycles)
    expect(md).toContain('| ar-trm | 22.0 (n=1) (paper 12.5) |');
    expect(md).toContain('| trm-faithful | 72.4 (n=1) |');
    expect(md).toContain('trm-faithful: not in the paper');
    expect(md).toMatch(/\| trm-faithful \| [\d.]+ \(n=1\)( \| [\d.]+ \(n=1\)){3} \| - \|/); // quartiles, no paper summary
    expect(md).toContain('- ar-trm / addition: ours 22.0 (n=1) vs paper 12.5');
    expect(md).not.toContain('trm-faithful / addition:');
    const headline = readFileSync(
      plots.find((p) => p.endsWith('headline.svg'))!,
      'utf8',
    );
    expect(headline).toContain('#9d755d');
    expect(headline).toContain('#b279a2');
  });
});

describe('comparisons: a report section for any study with a compare list', () => {
  it('the attribution preset on copy: every arm against its baseline with a Welch interval', async () => {
    const out = join(tempDir(), 'attribution');
    const study = loadStudy(
      { preset: 'attribution' },
      { tasks: ['copy'], seeds: [1, 2, 3], config: { steps: 4, evalEvery: 2 } },
    );
    const outcome = await runStudy(study, {
      outDir: out,
      cliEntry: FAKE_TARM,
      backend: 'wasm',
      workers: 2,
      progress: false,
    });
    expect(outcome.ok).toBe(true);
    const results = collectResults(out);
    const rows = comparisons(results);
    expect(rows.map((c) => `${c.arm}-${c.vs}`)).toEqual(study.compare.map((c) => `${c.arm}-${c.vs}`));
    const seedsOf = (arm: string) => results.runs.filter((r) => r.arm === arm).map((r) => r.final['10']!.charAcc);
    const ds = rows.find((c) => c.arm === 'deep-supervision')!;
    expect(ds.diff).toEqual(welchDiffCI(seedsOf('deep-supervision'), seedsOf('paper')));
    // fake: deep supervision +0.5 (a clear effect), the EMA nothing, the halting loss nothing
    expect(ds.verdict).toBe('higher');
    expect(ds.diff.diff).toBeCloseTo(0.5, 6);
    expect(rows.find((c) => c.arm === 'ema')!.diff.diff).toBeCloseTo(0, 9);
    expect(rows.find((c) => c.arm === 'paper-sampled')!.diff.diff).toBeCloseTo(-0.01, 6);
    const md = readFileSync((await writeReport(out, results)).report, 'utf8');
    expect(md).toContain('## Comparisons');
    // seeds 1, 2, 3 give 0.21, 0.22, 0.20 (sd 0.01): se = sqrt(2 * 0.01^2 / 3), Welch df 4, t(0.975, 4) = 2.776
    expect(md).toMatch(
      /^\| deep-supervision \| paper \| copy \| 71\.0 \| 21\.0 \| \+50\.0 \| \[\+47\.7, \+52\.3\] \| 4 \| higher \|$/m,
    );
    expect(md).toContain('## Arms');
    expect(md).toMatch(/^\| deep-supervision \| ar-trm \| `deepSupervision 0` \| one supervised segment per step/m);
    // an arm with switches is not the rung as published: no paper value beside it
    // (the fake's curves climb to their last evaluation; the matched view reads each arm at the task's steps)
    expect(md).toContain('| paper | 21.0 ± 2.5 (paper 11) |');
    expect(md).toMatch(/^\| deep-supervision \| 71\.0 ± 2\.5 \|$/m);
  });
});
