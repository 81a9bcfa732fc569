import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MAIN, tarm } from './tarm.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'tarm-cli-study-'));
const NO_TFJS_NODE = fileURLToPath(new URL('./fixtures/no-tfjs-node.mjs', import.meta.url));

/** A study file a researcher writes: 2 arms x 1 task x 2 seeds, small enough for a test. */
const HAND_WRITTEN = {
  $schema: '../node_modules/@tarm/study/study.schema.json',
  name: 'two-arms',
  description: 'ut with and without ponder cost, on copy',
  arms: [
    { name: 'ut', rung: 'ut' },
    { name: 'ut-ponder', rung: 'ut', ponderWeight: 0.01, change: 'ACT ponder cost 0.01' },
  ],
  tasks: [{ name: 'copy', length: 4, evalLengths: [4] }],
  seeds: [1, 2],
  config: {
    dModel: 16,
    nHeads: 2,
    budget: 2,
    steps: 30,
    batch: 8,
    lr: 1e-3,
    dropout: 0,
    decode: 'greedy',
    evalEvery: 15,
    evalN: 5,
  },
  compare: [{ arm: 'ut-ponder', vs: 'ut' }],
};

function writeStudy(dir: string, study: object): string {
  const path = join(dir, 'my-study.json');
  writeFileSync(path, JSON.stringify(study, null, 2));
  return path;
}

describe('tarm study --config: a study file a researcher writes', () => {
  it.each([
    [{ arms: [{ name: 'a', rung: 'ut', pondr: 1 }] }, /my-study\.json: arms\[0\]\.pondr: unknown key/],
    [{ arms: [{ name: 'a', rung: 'gpt' }] }, /my-study\.json: arms\[0\]\.rung: got "gpt"; allowed: "dense"/],
    [
      { tasks: [{ name: 'sorting' }] },
      /my-study\.json: tasks\[0\]\.name: got "sorting"; allowed: "copy", "reverse", "addition"/,
    ],
    [
      { arms: [{ name: 'd', rung: 'dual-ut' }], compare: [], config: { ...HAND_WRITTEN.config, budget: 3 } },
      /my-study\.json: config\.budget: arm d \(dual-ut\): an even number/,
    ],
    [{ color: 'red' }, /my-study\.json: color: unknown key/],
    [
      { arms: [{ name: 'x', rung: 'dense', switches: { readout: 'act-weighted' } }], compare: [] },
      /my-study\.json: arms\[0\]\.switches\.readout: arm x \(dense\): .*act/,
    ],
  ])('bad file %j: one error naming the field, exit 2, nothing written', async (change, message) => {
    const dir = tmp();
    const out = join(dir, 'out');
    const r = await tarm(['study', '--config', writeStudy(dir, { ...HAND_WRITTEN, ...change }), '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(existsSync(out)).toBe(false);
  });

  it('an arm defines a new rung as switches over a named one ("what if dual-ut had binary halting"), and it trains', async () => {
    const dir = tmp();
    const out = join(dir, 'out');
    const study = {
      ...HAND_WRITTEN,
      arms: [{ name: 'dual-ut-binary', rung: 'dual-ut', switches: { halting: 'binary' } }],
      compare: [],
      seeds: [1],
      config: { ...HAND_WRITTEN.config, budget: 4, steps: 6, evalEvery: 6 },
    };
    const r = await tarm([
      'study',
      '--config',
      writeStudy(dir, study),
      '--out',
      out,
      '--backend',
      'cpu',
      '--workers',
      '1',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const run = join(out, 'runs', 'dual-ut-binary-copy-s1');
    expect(JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')).model).toMatchObject({
      model: 'dual-ut',
      switches: { halting: 'binary' },
    });
    expect(existsSync(join(run, 'summary.json'))).toBe(true);
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toMatch(
      /\| dual-ut-binary \| dual-ut \| `switches\.halting "binary"` \|/,
    );
  });

  it('flags are checked like the file: an unknown arm or preset, a bad override', async () => {
    const dir = tmp();
    const out = join(dir, 'out');
    const file = writeStudy(dir, HAND_WRITTEN);
    expect((await tarm(['study', '--config', file, '--arms', 'dense', '--out', out])).stderr).toMatch(
      /--arms: unknown arm "dense"; this study's arms: ut, ut-ponder/,
    );
    expect((await tarm(['study', '--preset', 'huge', '--out', out])).stderr).toMatch(
      /invalid --preset: got "huge"; allowed: "smoke", "cpu", "paper", "attribution"/,
    );
    const odd = await tarm(['study', '--preset', 'smoke', '--budget', '3', '--out', out]);
    expect(odd.code).toBe(2);
    expect(odd.stderr).toMatch(/preset smoke: config\.budget: arm dual-ut \(dual-ut\): an even number/);
    expect((await tarm(['study', '--out', out])).stderr).toMatch(/give --config FILE or --preset/);
    expect(existsSync(out)).toBe(false);
  });

  it('runs, resumes after a kill, reports; a changed file in the folder is refused with the field that differs', async () => {
    const dir = tmp();
    const out = join(dir, 'out');
    const file = writeStudy(dir, HAND_WRITTEN);
    // first session: killed (SIGTERM) once a run has finished
    const child = spawn(
      process.execPath,
      [MAIN, 'study', '--config', file, '--out', out, '--backend', 'wasm', '--workers', '2'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', (d) => (stdout += d));
    const finished = () =>
      existsSync(join(out, 'runs'))
        ? readdirSync(join(out, 'runs')).filter((r) => existsSync(join(out, 'runs', r, 'summary.json')))
        : [];
    const code = await new Promise<number | null>((resolve) => {
      const poll = setInterval(() => {
        if (finished().length >= 1) {
          clearInterval(poll);
          child.kill('SIGTERM');
        }
      }, 100);
      child.on('close', (c) => {
        clearInterval(poll);
        resolve(c);
      });
    });
    expect(stderr).toContain('tarm: backend wasm (asked for), 2 workers x 1 thread');
    const afterKill = finished();
    expect(
      code,
      stderr +
        (existsSync(join(out, 'logs'))
          ? readdirSync(join(out, 'logs'))
              .map((f) => readFileSync(join(out, 'logs', f), 'utf8'))
              .join('\n')
          : ''),
    ).toBe(130);
    expect(afterKill.length).toBeGreaterThanOrEqual(1);
    // the last line says how far it got and that it was interrupted, not that the study is complete
    expect(stdout).toMatch(
      new RegExp(
        `study ${out}: ${afterKill.length} of 4 runs finished \\(${afterKill.length} in this session\\), 0 failed, \\d+s; interrupted: the same command resumes it`,
      ),
    );
    expect(afterKill.length).toBeLessThan(4);

    // the folder records the resolved file: defaults filled, the alias `batch` under its name, no editor-only $schema
    const recorded = JSON.parse(readFileSync(join(out, 'study.json'), 'utf8'));
    const { batch, ...written } = HAND_WRITTEN.config;
    expect(recorded.study).toMatchObject({
      name: 'two-arms',
      seeds: [1, 2],
      success: 0.9,
      config: { ...written, batchSize: batch, length: 10 },
    });
    expect(recorded.study.config.batch).toBeUndefined();
    expect(recorded.study.$schema).toBeUndefined();

    // a changed file is refused, naming the field, before anything runs
    const changed = writeStudy(dir, { ...HAND_WRITTEN, config: { ...HAND_WRITTEN.config, steps: 29 } }); // fewer steps: more would continue the runs
    const refused = await tarm(['study', '--config', changed, '--out', out, '--backend', 'wasm']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/was made with another study file: config\.steps: 30 -> 29/);

    // --out alone resumes the recorded study; finished runs are not repeated
    const resumed = await tarm(['study', '--out', out, '--backend', 'wasm', '--workers', '2']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain(
      `study ${out}: 4 of 4 runs finished (${4 - afterKill.length} in this session), 0 failed`,
    );
    for (const id of afterKill)
      expect(readFileSync(join(out, 'logs', `${id}.log`), 'utf8').match(/^# /gm)).toHaveLength(1);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(
      results.runs.map((r: { id: string; status: string; backend: string }) => [r.id, r.status, r.backend]),
    ).toEqual([
      ['ut-copy-s1', 'finished', 'wasm'],
      ['ut-copy-s2', 'finished', 'wasm'],
      ['ut-ponder-copy-s1', 'finished', 'wasm'],
      ['ut-ponder-copy-s2', 'finished', 'wasm'],
    ]);
    expect(results.sessions).toHaveLength(2);
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toMatch(
      /^\| ut-ponder \| ut \| copy \| [\d.]+ \| [\d.]+ \| [-+]?[\d.]+ \| \[[-+]?[\d.]+, [-+]?[\d.]+\] \| \d+ \| (higher|lower|no detectable change) \|$/m,
    );
    expect(md).toMatch(/^\| ut \| copy \| [\d.]+ \(s1\), [\d.]+ \(s2\) \| \d\/2 \[[\d.]+, [\d.]+\] \|$/m);
    expect(md.indexOf('## Claims')).toBeLessThan(md.indexOf('## Configuration'));
    const report = (await tarm(['report', out])).stdout;
    expect(report).toContain(`wrote ${join(out, 'report.md')}`);
    expect(report).toMatch(/^C1 +not testable at this scale +no addition task in this study/m); // the Claims table, printed
  });
});

const tfjsNodeBuilt = (() => {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node/package.json');
    return true;
  } catch {
    return false;
  }
})();

describe('--backend auto (the default of train and study)', () => {
  const train = (nodeArgs: string[]) =>
    new Promise<{ code: number | null; stderr: string; out: string }>((resolve) => {
      const out = join(tmp(), 'run');
      const args = [
        'train',
        '--model',
        'dense',
        '--task',
        'copy',
        '--length',
        '4',
        '--eval-lengths',
        '4',
        '--d-model',
        '16',
        '--heads',
        '2',
        '--budget',
        '1',
        '--steps',
        '1',
        '--batch',
        '2',
        '--eval-n',
        '2',
        '--out',
        out,
      ];
      const child = spawn(process.execPath, [...nodeArgs, MAIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => resolve({ code, stderr, out }));
    });

  it('wasm where @tensorflow/tfjs-node is not installed, saying why; the run records it', async () => {
    const r = await train(['--import', NO_TFJS_NODE]);
    expect(r.code, r.stderr).toBe(0);
    // one short line, not the ~250-character explanation on every run (issue 30)
    expect(r.stderr).toContain(
      'tarm: backend wasm (auto: @tensorflow/tfjs-node is not installed; npm install @tensorflow/tfjs-node for the faster node backend)\n',
    );
    expect(JSON.parse(readFileSync(join(r.out, 'config.json'), 'utf8')).backend).toBe('wasm');
  });

  it.runIf(tfjsNodeBuilt)('node where it is installed and loads', async () => {
    const r = await train([]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('tarm: backend node (auto: @tensorflow/tfjs-node is installed and loads)');
    expect(JSON.parse(readFileSync(join(r.out, 'config.json'), 'utf8')).backend).toBe('node');
  });
});
