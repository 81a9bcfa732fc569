import { describe, expect, it } from 'vitest';
import type { BackendAdapter } from '@tarm/core';
import { chooseMicroBatch } from '../src/commands/train.js';
import { resolveTrain } from '../src/options.js';
import { tarm } from './tarm.js';

const backend = (memoryLimitBytes?: number): BackendAdapter => ({
  name: 'wasm',
  tfName: 'wasm',
  setup: async () => {},
  memoryLimitBytes,
});

describe('--micro-batch', () => {
  it('auto: the whole batch where the backend has no memory limit or the step fits, pieces that fit where not', () => {
    const paper = resolveTrain({}); // the paper's configuration: C 384, budget 24, batch 64
    expect(chooseMicroBatch(paper.flags, paper.model, backend(undefined))).toBe(64);
    const wasm = chooseMicroBatch(paper.flags, paper.model, backend(4294901760));
    expect(wasm).toBeLessThan(64);
    expect(64 % wasm).toBe(0);
    const small = resolveTrain({ dModel: '64', nHeads: '4', budget: '6' });
    expect(chooseMicroBatch(small.flags, small.model, backend(4294901760))).toBe(64);
    expect(() => chooseMicroBatch(paper.flags, paper.model, backend(2 ** 20))).toThrow(
      /does not fit the wasm backend's 1 MiB; use --backend node/,
    );
    const chosen = resolveTrain({ microBatch: '16' });
    expect(chooseMicroBatch(chosen.flags, chosen.model, backend(2 ** 20))).toBe(16); // the user's choice stands
  });

  it.each([['0'], ['x'], ['65']])('--micro-batch %s -> exit 2 naming the flag', async (v) => {
    const r = await tarm(['train', '--micro-batch', v, '--steps', '1', '--out', '/nonexistent/never-written']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/invalid --micro-batch: .*allowed: auto, or an integer from 1 to --batch/);
  });
});
