import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tarm } from './tarm.js';

describe('tarm train: bad input', () => {
  const cases: [string[], RegExp][] = [
    [['--bogus', '1'], /unknown option '--bogus'/],
    [['--heads', '5', '--d-model', '384'], /invalid --n-heads: got 5; allowed: a divisor of --d-model/],
    [['--budget', '0'], /invalid --budget: got 0; allowed: >= 1/],
    [['--task', 'sorting'], /invalid --task: got "sorting"; allowed: "copy", "reverse", "addition"/],
    [['--model', 'gpt'], /invalid --model: got "gpt"; allowed: "dense", "iterative", .*"ar-trm"/],
    [['--backend', 'tpu'], /invalid --backend: got "tpu"; allowed: "auto", "wasm", "cpu", "node", "webgpu"/],
    [['--model', 'dual-ut', '--budget', '7'], /invalid --budget: got 7; allowed: an even number/],
    [['--dropout', '1.5'], /invalid --dropout: got 1.5; allowed: <= 0.99/],
    [['--length', '90', '--task', 'addition'], /invalid --length: got 90/],
    [['--eval-lengths', '10,x'], /invalid --eval-lengths/],
    [['--switches', 'halting'], /invalid --switches: .*comma-separated key=value pairs \(keys: stream, .*halting/],
    [
      ['--switches', 'halting=sometimes'],
      /invalid --switches halting: got "sometimes"; allowed: "none", "act", "binary"/,
    ],
    [
      ['--model', 'dense', '--switches', 'readout=act-weighted'],
      /invalid --switches readout: got "act-weighted"; allowed: .*act/,
    ],
    [['--config', '/nonexistent/config.json'], /invalid --config: \/nonexistent\/config\.json: no such file/],
  ];
  it.each(cases)('%j -> exit 2 with a clear message and nothing written', async (args, message) => {
    const out = join(mkdtempSync(join(tmpdir(), 'tarm-cli-')), 'run');
    const r = await tarm(['train', ...args, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(existsSync(out)).toBe(false);
  });
});

describe('tarm models', () => {
  it('prints one JSON row per model tarm train accepts, with 24 block passes and a memory estimate each', async () => {
    const r = await tarm(['models', '--budget', '24', '--d-model', '384', '--heads', '6', '--json']);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout.trim()) as Record<string, number | string>[];
    expect(rows.map((x) => x.model)).toEqual([
      'dense',
      'iterative',
      'iterative-step',
      'ut',
      'dual-ut',
      'dual-nested-ut',
      'ar-trm',
      'trm-faithful',
    ]);
    for (const row of rows) {
      expect(Object.keys(row).sort()).toEqual(
        [
          'H',
          'L',
          'blockPasses',
          'bwdFlopsPerToken',
          'fwdFlopsPerToken',
          'model',
          'params',
          'steps',
          'trainBytes',
        ].sort(),
      );
      expect(row.blockPasses).toBe(24);
    }
    expect(rows[0]!.params).toBe(42640128);
    // The paper's dense model at batch 64 does not fit the wasm heap (4 GiB); its tied rungs' gradient path is shorter.
    const bytes = Object.fromEntries(rows.map((x) => [x.model, x.trainBytes as number]));
    expect(bytes.dense).toBeGreaterThan(4 * 2 ** 30);
    expect(bytes['ar-trm']).toBeLessThan(bytes.ut!);
    const text = await tarm(['models']);
    expect(text.stdout).toMatch(/trm-faithful/);
    expect(text.stdout).toMatch(/train memory \(batch 64\)/);
    const help = await tarm(['train', '--help']);
    for (const name of rows.map((x) => x.model)) expect(help.stdout).toContain(String(name));
  });
});

describe('tarm train + generate', () => {
  it('trains a tiny model, prints the JSON record last, and generate decodes from the run', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'tarm-cli-')), 'run');
    const args = [
      'train',
      '--model',
      'ut',
      '--task',
      'copy',
      '--length',
      '3',
      '--eval-lengths',
      '3,4',
      '--budget',
      '2',
      '--d-model',
      '16',
      '--heads',
      '2',
    ];
    const r = await tarm([
      ...args,
      '--steps',
      '6',
      '--batch',
      '8',
      '--eval-every',
      '3',
      '--eval-n',
      '5',
      '--backend',
      'cpu',
      '--out',
      out,
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    const rec = JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
    expect(Object.keys(rec)).toEqual(
      expect.arrayContaining([
        'model',
        'task',
        'length',
        'budget',
        'steps',
        'params',
        'blockPasses',
        'tokensPerSecond',
        'wallSeconds',
        'evals',
      ]),
    );
    expect(rec.blockPasses).toBe(2);
    const evals = rec.evals as Record<string, { charAcc: number; quartiles: number[] }>;
    expect(Object.keys(evals)).toEqual(['3', '4']);
    expect(evals['3']!.quartiles).toHaveLength(4);
    const g = await tarm(['generate', '--run', out, '--prompt', '012|', '--backend', 'cpu']);
    expect(g.code, g.stderr).toBe(0);
    expect(g.stdout.trim()).toMatch(/^[0-9|+=]*$/);
    const ev = await tarm(['eval', '--run', out, '--adaptive', '--n', '5', '--backend', 'cpu', '--json']);
    expect(ev.code, ev.stderr).toBe(0);
    const evRec = JSON.parse(ev.stdout.trim().split('\n').pop()!) as {
      adaptive: { meanPassesPerToken: number };
      curve: { steps: number; maxPasses: number; meanPassesPerToken: number }[];
    };
    expect(evRec.curve.map((c) => c.steps)).toEqual([1, 2, 3, 4]); // test-time compute up to twice the trained steps
    for (const c of evRec.curve) expect(c.meanPassesPerToken).toBeLessThanOrEqual(c.maxPasses);
    expect(evRec.adaptive.meanPassesPerToken).toBeGreaterThan(0);
    expect(evRec.adaptive.meanPassesPerToken).toBeLessThanOrEqual(2);
    const again = await tarm([...args, '--steps', '6', '--batch', '8', '--backend', 'cpu', '--out', out]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/--resume|another --out/);
  });

  it("--config trains from a run config: a run folder's config.json reproduces the run exactly; --switches picks a new rung", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tarm-cli-'));
    const flags = [
      '--task',
      'copy',
      '--length',
      '3',
      '--eval-lengths',
      '3',
      '--budget',
      '4',
      '--d-model',
      '16',
      '--heads',
      '2',
      '--steps',
      '4',
      '--batch',
      '4',
      '--eval-every',
      '4',
      '--eval-n',
      '4',
      '--backend',
      'cpu',
    ];
    const a = await tarm([
      'train',
      '--model',
      'dual-ut',
      '--switches',
      'halting=binary',
      ...flags,
      '--out',
      join(dir, 'a'),
      '--json',
    ]);
    expect(a.code, a.stderr).toBe(0);
    const config = JSON.parse(readFileSync(join(dir, 'a', 'config.json'), 'utf8'));
    expect(config.model).toMatchObject({ model: 'dual-ut', switches: { halting: 'binary' } });
    const b = await tarm(['train', '--config', join(dir, 'a', 'config.json'), '--out', join(dir, 'b'), '--json']);
    expect(b.code, b.stderr).toBe(0);
    const { codeVersion: _a, ...ca } = config;
    const { codeVersion: _b, ...cb } = JSON.parse(readFileSync(join(dir, 'b', 'config.json'), 'utf8'));
    expect(cb).toEqual(ca);
    const loss = (run: string) =>
      readFileSync(join(dir, run, 'metrics.jsonl'), 'utf8')
        .split('\n')
        .filter((l) => l.includes('"kind":"loss"'))
        .map((l) => JSON.parse(l).loss);
    expect(loss('b')).toEqual(loss('a'));
    // flags typed as well override the file
    const d = await tarm([
      'train',
      '--config',
      join(dir, 'a', 'config.json'),
      '--budget',
      '2',
      '--out',
      join(dir, 'd'),
    ]);
    expect(d.code, d.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'd', 'config.json'), 'utf8')).model).toMatchObject({
      model: 'dual-ut',
      switches: { halting: 'binary' },
      budget: 2,
    });
    // a model setting no flag carries (the tasks fix the vocabulary) is refused, not dropped
    writeFileSync(join(dir, 'c.json'), JSON.stringify({ ...config, model: { ...config.model, vocabSize: 20 } }));
    const c = await tarm(['train', '--config', join(dir, 'c.json'), '--out', join(dir, 'c')]);
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/invalid --config: .*c\.json: model\.vocabSize 20 cannot be set for `tarm train`/);
    expect(existsSync(join(dir, 'c'))).toBe(false);
  });

  it('generate on a folder that is not a run gives a clear error', async () => {
    const r = await tarm(['generate', '--run', tmpdir(), '--prompt', '01|', '--backend', 'cpu']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not a run folder/);
  });

  it("generate names the user's flag or file: a prompt longer than the context, a config.json that is not JSON", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tarm-cli-'));
    const long = await tarm(['generate', '--run', dir, '--prompt', '1'.repeat(300) + '|', '--backend', 'cpu']);
    expect(long.code).toBe(2);
    expect(long.stderr).toMatch(/invalid --prompt: got "301 characters"; allowed: at most 179 characters/);
    expect(long.stderr).not.toMatch(/maxNewTokens|\n +at /);
    writeFileSync(join(dir, 'config.json'), '{"model": {"model": "dense"');
    const bad = await tarm(['generate', '--run', dir, '--prompt', '01|', '--backend', 'cpu']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(new RegExp(`${join(dir, 'config.json')} is not valid JSON`));
    expect(bad.stderr).not.toMatch(/\n +at /);
  });
});

describe('tarm study --preset smoke', () => {
  it('runs the whole pipeline for real: runs, results.json, report and plots', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'tarm-smoke-')), 'study');
    const r = await tarm(['study', '--preset', 'smoke', '--out', out, '--workers', '2']);
    expect(r.code, r.stderr).toBe(0);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as {
      runs: { status: string; final: Record<string, { charAcc: number }> }[];
    };
    expect(results.runs).toHaveLength(2);
    for (const run of results.runs) {
      expect(run.status).toBe('finished');
      expect(run.final['10']!.charAcc).toBeGreaterThanOrEqual(0);
    }
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toMatch(/paper/);
    expect(existsSync(join(out, 'plots', 'headline.svg'))).toBe(true);
    const again = await tarm(['study', '--preset', 'smoke', '--out', out]);
    expect(again.code, again.stderr).toBe(0); // everything finished: nothing rerun
  });
});
