/**
 * The interop commands end to end (docs/interop.md): `tarm train --log tensorboard`, `tarm export`,
 * `tarm report --csv`.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeSafetensors } from '@tarm/core';
import { collectResults, readResults } from '@tarm/study';
import { resultsCsv } from '@tarm/study/internal';
import { decodeEvents, type MetricsLine } from '@tarm/train/node';
import { EVENTS_FILE_MARK, lineScalars, readJsonLines } from '@tarm/train/node/internal';
import { tarm } from './tarm.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'tarm-interop-'));
const TRAIN = [
  'train',
  '--model',
  'dual-ut',
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
];
const SHORT = ['--steps', '4', '--batch', '4', '--eval-every', '2', '--eval-n', '4', '--backend', 'cpu'];

describe('tarm train --log tensorboard, then tarm export', () => {
  let run: string;
  beforeAll(async () => {
    run = join(tmp(), 'run');
    const r = await tarm([...TRAIN, ...SHORT, '--ema', '0.9', '--log', 'tensorboard', '--out', run]);
    expect(r.code, r.stderr).toBe(0);
  });

  it('writes an event file in the run folder holding every metrics line at its step', async () => {
    const files = readdirSync(run).filter((f) => f.includes(EVENTS_FILE_MARK));
    expect(files).toHaveLength(1);
    const events = decodeEvents(new Uint8Array(readFileSync(join(run, files[0]!))));
    const lines = await readJsonLines<MetricsLine>(join(run, 'metrics.jsonl'));
    const got = events.filter((e) => e.scalars).map((e) => [e.step, e.scalars]);
    const want = lines.map((l) => [
      l.step,
      Object.fromEntries(Object.entries(lineScalars(l, 'copy')).map(([k, v]) => [k, Math.fround(v)])),
    ]);
    expect(got).toEqual(want);
    const tags = new Set(events.flatMap((e) => Object.keys(e.scalars ?? {})));
    for (const t of [
      'train/loss',
      'train/tokens_per_second',
      'train/block_passes_per_token',
      'halting/ponder_cost',
      'TaskEvaluation/copy/L3/char_acc',
      'TaskEvaluation/copy/L3/pos_q1_acc',
    ]) {
      expect(tags.has(t), t).toBe(true);
    }
  });

  it('exports the trained or the EMA weights with the model config and schedule', async () => {
    const dir = tmp();
    const r = await tarm(['export', '--run', run, '--format', 'safetensors', '--out', join(dir, 'm.safetensors')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/wrote .*m\.safetensors: dual-ut at step 4, trained weights, 21 tensors/);
    const e = await tarm(['export', '--run', run, '--ema', '--out', join(dir, 'ema.safetensors')]);
    expect(e.code, e.stderr).toBe(0);
    const trained = decodeSafetensors(new Uint8Array(readFileSync(join(dir, 'm.safetensors'))), 'm');
    const ema = decodeSafetensors(new Uint8Array(readFileSync(join(dir, 'ema.safetensors'))), 'ema');
    expect(JSON.parse(trained.metadata['tarm.model']!)).toMatchObject({
      model: 'dual-ut',
      dModel: 16,
      nHeads: 2,
      budget: 4,
    });
    expect(JSON.parse(trained.metadata['tarm.schedule']!)).toEqual({ steps: 2, H: 1, L: 1, passesPerStep: 2 });
    expect([trained.metadata['tarm.weights'], ema.metadata['tarm.weights']]).toEqual(['trained', 'ema']);
    expect(Object.keys(ema.tensors).sort()).toEqual(Object.keys(trained.tensors).sort());
    expect(Object.keys(trained.tensors).some((n) => n.startsWith('optimizer.'))).toBe(false);
    expect(trained.tensors['init.y']!.data).not.toEqual(ema.tensors['init.y']!.data);
  });

  it('bad input: exit 2, a message naming the flag, nothing written', async () => {
    const dir = tmp();
    const out = join(dir, 'x.safetensors');
    const plain = join(dir, 'plain');
    expect((await tarm([...TRAIN, ...SHORT, '--steps', '2', '--out', plain])).code).toBe(0);
    const cases: [string[], RegExp][] = [
      [['--run', run, '--format', 'onnx', '--out', out], /invalid --format: got "onnx"; allowed: "safetensors"/],
      [['--run', dir, '--out', out], /is not a run folder \(no config\.json\)/],
      [
        ['--run', plain, '--ema', '--out', out],
        /invalid --ema: got true; allowed: a folder trained with an EMA of its weights \(train with an EMA decay\); this one keeps none: export its trained weights\n/,
      ],
      [['--run', run], /required option '--out <file>'/],
    ];
    for (const [args, message] of cases) {
      const r = await tarm(['export', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(existsSync(out)).toBe(false);
    }
    const bad = await tarm([...TRAIN, ...SHORT, '--log', 'wandb', '--out', join(dir, 'r')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/invalid --log: got "wandb"; allowed: "tensorboard"/);
  });
});

describe('tarm report --csv', () => {
  it('rewrites results.csv from results.json alone', async () => {
    const dir = join(tmp(), 'study');
    cpSync(fileURLToPath(new URL('../../../packages/study/test/fixtures/study-mini', import.meta.url)), dir, {
      recursive: true,
    });
    collectResults(dir);
    rmSync(join(dir, 'results.csv'));
    rmSync(join(dir, 'runs'), { recursive: true }); // only results.json is left to read
    const r = await tarm(['report', dir, '--csv']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/wrote .*results\.csv/);
    expect(readFileSync(join(dir, 'results.csv'), 'utf8')).toBe(resultsCsv(readResults(dir)));
    expect(existsSync(join(dir, 'report.md'))).toBe(false);
  });
});
