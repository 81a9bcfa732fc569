import * as tf from '@tensorflow/tfjs-core';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, readdirSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  backendCapabilities,
  BackendError,
  CheckpointError,
  ConfigError,
  DEFAULT_CAPABILITIES,
  mixSeeds,
  ParamStore,
  Rng,
  useBackend,
} from '../src/index.js';
import { configDefiner } from '../src/internal.js';
import { loadCheckpoint, saveCheckpoint } from '../src/node/index.js';
import { writeFileAtomic } from '../src/node/internal.js';

describe('Rng', () => {
  it('is a pure function of its seed, and its state restores exactly', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xs);
    const saved = a.state();
    const next = [a.nextUint32(), a.nextUint32()];
    const c = new Rng(saved);
    expect([c.nextUint32(), c.nextUint32()]).toEqual(next);
    expect(new Rng(43).next()).not.toBe(xs[0]);
  });

  it('draws uniform integers in range and derives independent streams', () => {
    const r = new Rng(1);
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 10000; i++) counts[r.int(10)]++;
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(150);
    expect(mixSeeds(1, 2)).not.toBe(mixSeeds(2, 1));
    expect(Rng.derive(7, 1).next()).toBe(Rng.derive(7, 1).next());
  });
});

describe('configDefiner', () => {
  const define = configDefiner(
    z.strictObject({ width: z.int().min(1).default(4), mode: z.enum(['a', 'b']).default('a') }),
  );

  it('fills defaults and freezes the result', () => {
    const c = define({});
    expect(c).toEqual({ width: 4, mode: 'a' });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('names the field and the allowed values, and rejects unknown keys', () => {
    expect(() => define({ width: 0 })).toThrow(/invalid width: got 0; allowed: >= 1/);
    expect(() => define({ mode: 'c' as 'a' })).toThrow(/invalid mode: got "c"; allowed: "a", "b"/);
    const err = (() => {
      try {
        define({ colour: 1 } as never);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).field).toBe('colour');
  });
});

describe('backends', () => {
  it('rejects unknown backend names and reports a missing adapter package with the install command', async () => {
    await expect(useBackend('tpu' as 'cpu')).rejects.toThrow(
      /backend.*"wasm", "cpu", "node", "webgpu"|allowed: wasm, cpu, node, webgpu/,
    );
    await expect(useBackend({ name: 'fake', tfName: 'nope', setup: async () => {} })).rejects.toThrow(BackendError);
  });

  it("answers the active backend's declared capabilities, the defaults for what an adapter leaves out", async () => {
    await import('@tensorflow/tfjs-backend-cpu');
    await tf.setBackend('cpu');
    expect(backendCapabilities()).toBe(DEFAULT_CAPABILITIES); // selected without an adapter
    expect(DEFAULT_CAPABILITIES).toEqual({
      syncReads: true,
      hostOptimizer: false,
      matMulTransposeFlags: true,
      batchedMatMul: true,
      sumOverRows: true,
    });
    const fake = {
      name: 'fake',
      tfName: 'cpu',
      setup: () => tf.setBackend('cpu').then(() => {}),
      capabilities: { hostOptimizer: true, sumOverRows: false },
    };
    await useBackend(fake);
    expect(backendCapabilities()).toEqual({ ...DEFAULT_CAPABILITIES, hostOptimizer: true, sumOverRows: false });
    expect(Object.isFrozen(backendCapabilities())).toBe(true);
    await useBackend({ ...fake, capabilities: undefined });
    expect(backendCapabilities()).toEqual(DEFAULT_CAPABILITIES);
  });
});

describe('checkpoints', () => {
  beforeAll(async () => {
    // core sits below the backend packages: use tfjs's cpu backend directly (no cycle through @tarm/backend-cpu)
    await import('@tensorflow/tfjs-backend-cpu');
    await tf.setBackend('cpu');
  });

  it('round-trips named tensors and rejects truncated or corrupted weights, naming the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tarm-core-'));
    const store = new ParamStore(new Rng(3));
    store.normal('a.weight', [3, 4]);
    store.zeros('a.bias', [4]);
    await saveCheckpoint(dir, Object.fromEntries(store.entries()), { step: 7 }, 'x');
    const { json, tensors } = await loadCheckpoint(dir);
    expect(json.meta).toEqual({ step: 7 });
    expect(Array.from(tensors['a.weight']!.dataSync())).toEqual(Array.from(store.get('a.weight').dataSync()));
    tf.dispose(Object.values(tensors));
    const bin = join(
      dir,
      readdirSync(dir).find((f) => f.endsWith('.bin'))!,
    );
    const bytes = readFileSync(bin);
    bytes[5] = bytes[5]! ^ 0xff;
    writeFileSync(bin, bytes);
    await expect(loadCheckpoint(dir)).rejects.toThrow(/checksum .*\(corrupted\)/);
    truncateSync(bin, 10);
    await expect(loadCheckpoint(dir)).rejects.toThrow(CheckpointError);
    await expect(loadCheckpoint(join(dir, 'missing'))).rejects.toThrow(/model.json: file not found/);
    store.dispose();
  });

  it('writes files atomically (no temporary left behind)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tarm-core-'));
    await writeFileAtomic(join(dir, 'a.json'), '{"x":1}');
    await writeFileAtomic(join(dir, 'a.json'), '{"x":2}');
    expect(readFileSync(join(dir, 'a.json'), 'utf8')).toBe('{"x":2}');
    expect(readdirSync(dir)).toEqual(['a.json']);
    // a write that fails at the rename (the target is a folder) leaves no temporary file either
    mkdirSync(join(dir, 'folder'));
    await expect(writeFileAtomic(join(dir, 'folder'), 'x')).rejects.toMatchObject({ code: 'EISDIR' });
    expect(readdirSync(dir).sort()).toEqual(['a.json', 'folder']);
  });
});
