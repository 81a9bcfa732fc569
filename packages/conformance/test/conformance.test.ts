/**
 * Backend conformance: every case of src/cases runs on the cpu backend (the reference) and on the backend named
 * by TARM_BACKEND (cpu, wasm, node, webgpu); results must agree within each case's tolerance, and no case may
 * leave tensors behind. Run through scripts/run.mjs (`npm test`, `test:node`, `test:webgpu`, `test:all`), or
 * directly: `TARM_BACKEND=wasm npx vitest run`.
 *
 * What each backend skips, and why:
 * - cpu:    nothing (it is the reference; the run checks determinism and leaks).
 * - wasm:   nothing. The layers avoid what wasm lacks: no UnsortedSegmentSum kernel (so no gradient of
 *           tf.gather: embeddings are oneHot @ W) and no Einsum.
 * - node:   nothing.
 * - webgpu: nothing, but only asynchronous reads work (`dataSync()` fails in Node, so the harness never calls
 *           it), and every reference result is computed before the first webgpu run, because moving a tensor
 *           back from webgpu to cpu needs a synchronous read.
 * A case that has to skip a backend says so in its `skip` field; the test is then reported as skipped.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { BACKEND_NAMES, useBackend, type BackendName } from '@tarm/core';
import { CASES, compareResults, runMeasured, type Measured } from '../src/index.js';

const target = (process.env.TARM_BACKEND ?? 'cpu') as BackendName;
if (!BACKEND_NAMES.includes(target))
  throw new Error(`TARM_BACKEND=${target}: expected one of ${BACKEND_NAMES.join(', ')}`);

const reference = new Map<string, Measured>();
const report: string[] = [];

describe(`conformance: ${target} vs cpu`, () => {
  beforeAll(async () => {
    // The reference results first, all of them, then the backend under test (see the note on webgpu above).
    await useBackend('cpu');
    for (const c of CASES) if (!c.skip?.[target]) reference.set(c.name, await runMeasured(c));
    await useBackend(target);
  }, 600_000);

  afterAll(() => {
    if (report.length > 0) console.log(`\n[conformance] ${target} vs cpu\n${report.join('\n')}\n`);
  });

  test('the backend under test is active', () => {
    expect(tf.getBackend()).toBe(target === 'node' ? 'tensorflow' : target);
  });

  for (const c of CASES) {
    const skip = c.skip?.[target];
    test.skipIf(skip !== undefined)(`${c.name}${skip ? ` (skipped: ${skip})` : ''}`, async () => {
      const ref = reference.get(c.name)!;
      expect(ref.leakedTensors, `${c.name} leaks tensors on cpu`).toBe(0);
      const got = await runMeasured(c);
      const cmp = compareResults(c, ref, got);
      const speed =
        got.timings?.msPerStep !== undefined
          ? `; train step ${got.timings.msPerStep.toFixed(1)} ms (${Math.round(got.timings.tokensPerSecond ?? 0)} tokens/s), cpu ${ref.timings!.msPerStep!.toFixed(1)} ms`
          : '';
      report.push(
        `  ${c.name}: worst |diff|/max|ref| ${cmp.worstScaled.toExponential(1)} (${cmp.worstOutput}); ${got.ms.toFixed(0)} ms${speed}`,
      );
      if (got.summary) report.push(`    ${got.summary}`);
      for (const n of [...(ref.notes ?? []), ...(got.notes ?? [])]) report.push(`    note: ${n}`);
      expect(cmp.mismatches, cmp.mismatches.map((m) => `${m.output}: ${m.detail}`).join('\n')).toEqual([]);
      expect(got.leakedTensors, `${c.name} leaks tensors on ${target}`).toBe(0);
      expect(got.notes ?? [], 'tensor count must stay flat across training steps').toEqual([]);
    });
  }
});
