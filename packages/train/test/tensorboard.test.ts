/**
 * TensorBoard event files: the framing and protocol buffers (checked against a file TensorBoard's own writer
 * produced, tools/torch/read_tensorboard.py --write-fixture), and runTraining's `tensorboard` log, read back here
 * and, where the .venv of tools/torch/setup.sh has the tensorboard package, by TensorBoard's EventAccumulator.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '@tarm/core';
import {
  decodeEvents,
  encodeEvents,
  runTraining,
  type MetricsLine,
  type RunConfig,
  type TbEvent,
} from '../src/node/index.js';
import { EVENTS_FILE_MARK, lineScalars, readJsonLines } from '../src/node/internal.js';
import { createFromConfig, tinyEvaluate, tinyRunConfig } from './helpers/tiny-run.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PYTHON = join(ROOT, '.venv', 'bin', 'python');
const hasTensorBoard =
  existsSync(PYTHON) &&
  (() => {
    try {
      execFileSync(PYTHON, ['-c', 'import tensorboard'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

let root: string;
beforeAll(async () => {
  await useBackend('cpu');
  root = await mkdtemp(join(tmpdir(), 'tarm-tb-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('event file encoding', () => {
  it('decodes a file written by TensorBoard itself (framing, CRC32C, Event and Summary fields)', async () => {
    const bytes = new Uint8Array(
      await readFile(new URL('./fixtures/tensorboard/written-by-tensorboard.tfevents', import.meta.url)),
    );
    const events = decodeEvents(bytes);
    expect(events[0]).toEqual({ wallTime: 1_700_000_000.5, step: 0, fileVersion: 'brain.Event:2' });
    expect(events.slice(1).map((e) => [e.step, e.wallTime - 1_700_000_000.5, e.scalars])).toEqual([
      [0, 0, { 'train/loss': 2.5 }],
      [1, 1, { 'train/loss': 1.25 }],
      [1, 1, { 'TaskEvaluation/copy/L3/char_acc': 0.75 }],
      [7, 7, { 'train/loss': -0 }],
    ]);
    // and our encoding of the same events is byte for byte TensorBoard's (steps 1: no zero field that proto3 omits)
    expect(indexOf(bytes, encodeEvents(events.slice(2, 4)))).toBeGreaterThan(0);
  });

  it('round-trips events and refuses a corrupted record', () => {
    const events: TbEvent[] = [
      { wallTime: 1.5, step: 0, fileVersion: 'brain.Event:2' },
      { wallTime: 2.25, step: 3_000_000_000, scalars: { a: 0, 'b/c': 1 / 3 } },
    ];
    const bytes = encodeEvents(events);
    expect(decodeEvents(bytes)).toEqual([events[0], { ...events[1], scalars: { a: 0, 'b/c': Math.fround(1 / 3) } }]);
    expect(decodeEvents(bytes.subarray(0, bytes.length - 3))).toHaveLength(1); // a torn last record is not read
    const bad = bytes.slice();
    bad[bad.length - 6]! ^= 1;
    expect(() => decodeEvents(bad)).toThrow(/bad data checksum/);
  });
});

/** Byte offset of `needle` in `hay`, or -1. */
function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  return Buffer.from(hay).indexOf(Buffer.from(needle));
}

/** What the event file must hold: the scalars of every metrics line, at its step, as float32. */
function expectedScalars(lines: MetricsLine[], task: string): Record<string, [number, number][]> {
  const out: Record<string, [number, number][]> = {};
  for (const l of lines)
    for (const [tag, v] of Object.entries(lineScalars(l, task))) (out[tag] ??= []).push([l.step, Math.fround(v)]);
  return out;
}

async function eventScalars(
  dir: string,
): Promise<{ files: string[]; scalars: Record<string, [number, number][]>; events: TbEvent[] }> {
  const files = (await readdir(dir)).filter((f) => f.includes(EVENTS_FILE_MARK));
  const events = files.length === 1 ? decodeEvents(new Uint8Array(await readFile(join(dir, files[0]!)))) : [];
  const scalars: Record<string, [number, number][]> = {};
  for (const e of events)
    for (const [tag, v] of Object.entries(e.scalars ?? {})) (scalars[tag] ??= []).push([e.step, v]);
  return { files, scalars, events };
}

describe('runTraining with tensorboard', () => {
  const config: RunConfig = tinyRunConfig({ steps: 8, evalEvery: 4, checkpointEvery: 2, logEvery: 2 });
  const run = (outDir: string, extra: { resume?: boolean; shouldStop?: () => boolean } = {}) =>
    runTraining({
      outDir,
      config,
      createModel: () => createFromConfig(config),
      evaluate: tinyEvaluate,
      tensorboard: true,
      ...extra,
    }).then((r) => r.model.params.dispose());

  it('writes one event file whose scalars and steps are the metrics lines', async () => {
    const dir = join(root, 'fresh');
    await run(dir);
    const lines = await readJsonLines<MetricsLine>(join(dir, 'metrics.jsonl'));
    const { files, scalars, events } = await eventScalars(dir);
    expect(files).toHaveLength(1);
    expect(events[0]!.fileVersion).toBe('brain.Event:2');
    expect(scalars).toEqual(expectedScalars(lines, 'copy'));
    expect(scalars['train/loss']!.map(([s]) => s)).toEqual([2, 4, 6, 8]);
    expect(scalars['TaskEvaluation/copy/L3/char_acc']!.map(([s]) => s)).toEqual([4, 8]);
    expect(Object.keys(scalars)).toEqual(
      expect.arrayContaining([
        'train/tokens_per_second',
        'train/maskedTokens',
        'TaskEvaluation/copy/L3/seq_acc',
        'TaskEvaluation/copy/L3/pos_q4_acc',
      ]),
    );
    const walls = events.map((e) => e.wallTime);
    expect(walls).toEqual([...walls].sort((a, b) => a - b));
  });

  it('on resume, rewrites the file from the metrics lines kept: no step twice, same scalars as an uninterrupted run', async () => {
    const dir = join(root, 'resumed');
    let steps = 0;
    await run(dir, { shouldStop: () => ++steps === 5 }); // stops after step 5 (checkpoint 5): resumes with the lines of steps 2 and 4
    await run(dir, { resume: true });
    const lines = await readJsonLines<MetricsLine>(join(dir, 'metrics.jsonl'));
    const { files, scalars } = await eventScalars(dir);
    expect(files).toHaveLength(1);
    expect(scalars).toEqual(expectedScalars(lines, 'copy'));
    const fresh = await eventScalars(join(root, 'fresh'));
    expect(scalars['train/loss']).toEqual(fresh.scalars['train/loss']); // bit-identical resume, also in the event file
  });

  it.skipIf(!hasTensorBoard)(
    "TensorBoard's own reader (EventAccumulator) reads the same scalars and steps",
    async () => {
      const dir = join(root, 'fresh');
      const out = execFileSync(PYTHON, [join(ROOT, 'tools', 'torch', 'read_tensorboard.py'), dir, '--json'], {
        encoding: 'utf8',
      });
      const read = JSON.parse(out) as Record<string, [number, number][]>;
      const lines = await readJsonLines<MetricsLine>(join(dir, 'metrics.jsonl'));
      expect(read).toEqual(expectedScalars(lines, 'copy'));
    },
  );
});
