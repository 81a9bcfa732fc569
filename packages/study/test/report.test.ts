import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { agreement, collectResults, meanCI, regenerateReport, runStudy, writeReport, type FlopsPerTokenFn } from '../src/index.js';
import { copyFixtureStudy, FAKE_TARM, tempDir } from './helpers.js';

/** A stand-in for @tarm/recursion's flopsPerToken (same signature). */
const flops: FlopsPerTokenFn = (m, T) => {
  const perPass = 24 * m.dModel ** 2 + 4 * T * m.dModel;
  return { forward: m.budget * perPass, backward: 2 * m.budget * perPass };
};

describe('report', () => {
  const dir = copyFixtureStudy();
  const results = collectResults(dir);

  it('report.md holds the headline table with the paper numbers beside ours', async () => {
    const { report } = await writeReport(dir, results, flops);
    const md = readFileSync(report, 'utf8');
    expect(md).toContain('## Headline: character accuracy at L = 10 (final step)');
    expect(md).toContain('| model | addition | copy |');
    // dense addition: seeds 0.80 and 0.84 -> 82.0 ± 25.4 (t(1) = 12.706, sd 0.0283)
    expect(md).toContain('| dense | 82.0 ± 25.4 (paper 79.9) | 99.0 ± 12.7 (paper 100) |');
    // ut addition: one finished seed (the other is incomplete)
    expect(md).toContain('| ut | 66.0 (n=1) (paper 65.8) | - (paper 100) |');
    expect(md).toContain('| dual-ut | 83.0 ± 25.4 (paper 83) | - |');
    expect(md).toContain('## Addition by answer quartile');
    expect(md).toContain('## Agreement with the paper');
    expect(md).toContain('- dense / addition: ours 82.0 ± 25.4 vs paper 79.9: within 5 points of the paper (+2.1); the paper value lies inside our 95% CI.');
    expect(md).toContain('- ut / copy: no finished run (paper 100).');
    expect(md).toMatch(/dual-ut \/ addition Q4: ours .* below the paper by/);
    expect(md).toContain("This is not the paper's configuration");
    expect(md).toContain('Wall time of the study: 10m31s over 2 sessions');
    expect(md).toContain('| dense | addition | 1 | finished | 28.0k | 4101 | 1m01s | 100 | 80.0 | 25.0 |');
    expect(md).toContain('Failed: ut-copy-s1');
  });

  it('writes SVG plots that are valid XML with the expected titles', async () => {
    rmSync(join(dir, 'plots'), { recursive: true, force: true });
    const { plots } = await writeReport(dir, results, flops);
    const expected: Record<string, string> = {
      'headline.svg': 'Character accuracy at L=10, final step',
      'addition-quartiles.svg': 'Addition: character accuracy by answer quartile (L=10, final step)',
      'curves-addition.svg': 'addition: character accuracy at L=10 during training',
      'curves-copy.svg': 'copy: character accuracy at L=10 during training',
      'last-char.svg': 'Last-character accuracy at L=10 vs training step',
      'length-generalisation.svg': 'Length generalisation: character accuracy vs evaluation length (trained at L=10)',
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
  });

  it('regenerates from results.json alone; without a FLOPs function the FLOPs panel is left out', async () => {
    rmSync(join(dir, 'report.md'));
    const { report } = await regenerateReport(dir);
    expect(readFileSync(report, 'utf8')).toContain('no FLOPs function was given');
    expect(readFileSync(join(dir, 'plots', 'curves-addition.svg'), 'utf8')).not.toContain('training FLOPs');
  });

  it('agreement sentences say within, above or below, plainly', () => {
    expect(agreement('a', meanCI([0.95]), 100)).toBe('a: ours 95.0 (n=1) vs paper 100: within 5 points of the paper (-5.0); one seed, no interval.');
    expect(agreement('a', meanCI([0.2, 0.3]), 12.5)).toMatch(/above the paper by 12.5 points; the paper value lies inside our 95% CI/);
    expect(agreement('a', meanCI([0.5, 0.5]), 83)).toMatch(/below the paper by 33.0 points; the paper value lies outside our 95% CI/);
  });
});

describe('a study with trm-faithful (no published numbers)', () => {
  it('reports it without paper values and draws it in its own colour', async () => {
    const out = join(tempDir(), 'trm-faithful');
    const outcome = await runStudy({
      preset: 'smoke',
      outDir: out,
      cliEntry: FAKE_TARM,
      models: ['ar-trm', 'trm-faithful'],
      tasks: ['addition'],
      workers: 2,
      progress: false,
    });
    expect(outcome.ok).toBe(true);
    const results = collectResults(out);
    expect(results.runs.map((r) => r.id)).toEqual(['ar-trm-addition-s1337', 'trm-faithful-addition-s1337']);
    const { report, plots } = await writeReport(out, results, flops);
    const md = readFileSync(report, 'utf8');
    // fake: ar-trm 0.2 + 0.02, trm-faithful + 0.5 (deep supervision) + 0.004 (all cycles)
    expect(md).toContain('| ar-trm | 22.0 (n=1) (paper 12.5) |');
    expect(md).toContain('| trm-faithful | 72.4 (n=1) |');
    expect(md).toContain('trm-faithful: not in the paper');
    expect(md).toMatch(/\| trm-faithful \| [\d.]+ \(n=1\)( \| [\d.]+ \(n=1\)){3} \| - \|/); // quartiles, no paper summary
    expect(md).toContain('- ar-trm / addition: ours 22.0 (n=1) vs paper 12.5');
    expect(md).not.toContain('trm-faithful / addition:');
    const headline = readFileSync(plots.find((p) => p.endsWith('headline.svg'))!, 'utf8');
    expect(headline).toContain('#9d755d');
    expect(headline).toContain('#b279a2');
  });
});
