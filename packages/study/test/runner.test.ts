import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BackendError } from '@tarm/core';
import { loadStudy } from '../src/presets.js';
import { collectResults } from '../src/results.js';
import { writeReport } from '../src/report.js';
import { mixedSessions, planWorkers, resumeStudy, runStudy, type RunStudyOptions } from '../src/runner.js';
import type { GridProgress } from '../src/grid.js';
import { defineStudy } from '../src/schema.js';
import { openStudyFile, readStudyFile } from '../src/study-file.js';
import { FAKE_TARM, invocations, tempDir } from './helpers.js';

/** A study on the fake train command: no progress display, env switches for the fake. */
function options(
  outDir: string,
  log: string,
  env: Record<string, string> = {},
  extra: Partial<RunStudyOptions> = {},
): RunStudyOptions {
  return {
    outDir,
    cliEntry: FAKE_TARM,
    workers: 2,
    backend: 'wasm',
    progress: false,
    env: { ...process.env, FAKE_TARM_LOG: log, ...env },
    ...extra,
  };
}

const SMOKE = loadStudy({ preset: 'smoke' });
const GRID6 = loadStudy({ preset: 'smoke' }, { arms: ['dense', 'dual-ut'], tasks: ['copy', 'reverse'] });

describe('runStudy with a fake train command', () => {
  it('runs the smoke grid, records study.json and reports grid progress', async () => {
    const out = join(tempDir(), 'smoke');
    const log = join(out, '..', 'invocations.log');
    const seen: GridProgress[] = [];
    const outcome = await runStudy(SMOKE, { ...options(out, log), onProgress: (g) => seen.push(g) });
    expect(outcome.ok).toBe(true);
    expect(outcome.runs.map((r) => [r.id, r.status])).toEqual([
      ['dense-copy-s1337', 'done'],
      ['dual-ut-copy-s1337', 'done'],
    ]);
    expect(invocations(log)).toEqual(
      expect.arrayContaining([
        ['dense-copy-s1337', 'fresh'],
        ['dual-ut-copy-s1337', 'fresh'],
      ]),
    );
    const study = JSON.parse(readFileSync(join(out, 'study.json'), 'utf8'));
    expect(study).toMatchObject({ schema: 'tarm-study', version: 2, study: JSON.parse(JSON.stringify(SMOKE)) });
    expect(study.sessions[0]).toMatchObject({ backend: 'wasm', workers: 2, threads: 1 });
    expect(study.sessions).toHaveLength(1);
    expect(existsSync(join(out, '.lock'))).toBe(false);
    // the children's progress messages reached the grid: steps, accuracy, an estimate once runs finished
    expect(seen.some((g) => g.running.some((r) => r.step !== undefined && r.step > 0 && r.acc !== undefined))).toBe(
      true,
    );
    expect(seen.at(-1)).toMatchObject({ total: 2, finished: 2, failed: 0, pending: 0 });
    expect(seen.some((g) => g.event?.kind === 'finished')).toBe(true);
    // the child's result message is kept
    expect(outcome.runs[0]!.result).toMatchObject({ model: 'dense', params: 26000 });
    // results and report follow
    const results = collectResults(out);
    expect(results.runs.every((r) => r.status === 'finished')).toBe(true);
    await writeReport(out, results);
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toContain('| dense | 99.0 (n=1) (paper 100) |');
    expect(results.runs.map((r) => r.backend)).toEqual(['wasm', 'wasm']);
  });

  it('a crashed worker is recorded as failed, the others finish, and a rerun trains only it again', async () => {
    const out = join(tempDir(), 'crash');
    const log = join(out, '..', 'invocations.log');
    const first = await runStudy(GRID6, options(out, log, { FAKE_TARM_CRASH: 'dual-ut-copy-s1337' }));
    expect(first.ok).toBe(false);
    expect(first.failed.map((r) => r.id)).toEqual(['dual-ut-copy-s1337']);
    expect(first.failed[0]!.exitCode).toBe(3);
    expect(first.failed[0]!.stderrTail).toContain('fake crash after config.json');
    expect(first.runs.filter((r) => r.status === 'done')).toHaveLength(3);
    expect(JSON.parse(readFileSync(join(out, 'logs', 'dual-ut-copy-s1337.failed.json'), 'utf8'))).toMatchObject({
      exitCode: 3,
    });
    expect(collectResults(out).runs.find((r) => r.id === 'dual-ut-copy-s1337')!.status).toBe('failed');

    const second = await runStudy(GRID6, options(out, log, {})); // the crash was transient
    expect(second.ok).toBe(true);
    expect(second.runs.filter((r) => r.status === 'skipped')).toHaveLength(3);
    const calls = invocations(log);
    expect(calls).toHaveLength(5);
    // it crashed after config.json, before any checkpoint: its folder is emptied and it is trained from step 0
    expect(calls.at(-1)).toEqual(['dual-ut-copy-s1337', 'fresh']);
    expect(readFileSync(join(out, 'logs', 'dual-ut-copy-s1337.log'), 'utf8')).toContain(
      '(no checkpoint in the run folder: trained again from step 0)',
    );
    expect(existsSync(join(out, 'logs', 'dual-ut-copy-s1337.failed.json'))).toBe(false);
    const results = collectResults(out);
    expect(results.runs.map((r) => r.status)).toEqual(Array(4).fill('finished'));
    expect(results.sessions).toHaveLength(2);
    // the folder the crash left (config.json, a torn metrics line, no checkpoint) was emptied: the curve is the new run's
    expect(results.runs.find((r) => r.id === 'dual-ut-copy-s1337')!.curve.map((p) => p.step)).toEqual([10, 20]);
  });

  it('a study killed midway resumes without repeating any finished run', async () => {
    const out = join(tempDir(), 'killed');
    const log = join(out, '..', 'invocations.log');
    const ac = new AbortController();
    const env = { FAKE_TARM_STEP_MS: '25' };
    const first = await runStudy(GRID6, {
      ...options(out, log, env),
      signal: ac.signal,
      onProgress: (g) => {
        if (g.finished >= 2 && g.running.some((r) => (r.step ?? 0) >= 5)) ac.abort();
      },
    });
    expect(first.aborted).toBe(true);
    expect(first.ok).toBe(false);
    const finishedFirst = first.runs.filter((r) => r.status === 'done').map((r) => r.id);
    expect(finishedFirst.length).toBeGreaterThanOrEqual(2);
    expect(finishedFirst.length).toBeLessThan(4);
    expect(first.failed).toEqual([]);
    const afterFirst = invocations(log).length;

    // resuming from the folder alone runs the recorded study
    const second = await resumeStudy(options(out, log, env));
    expect(second.ok).toBe(true);
    const calls = invocations(log).slice(afterFirst);
    // no run finished in the first session is started again ...
    for (const id of finishedFirst) expect(calls.map((c) => c[0])).not.toContain(id);
    // ... every other run is started exactly once, interrupted ones with --resume
    expect(calls.map((c) => c[0]).sort()).toEqual(
      second.runs
        .filter((r) => r.status === 'done')
        .map((r) => r.id)
        .sort(),
    );
    expect(calls.length).toBe(4 - finishedFirst.length);
    expect(calls.some(([, mode]) => mode === 'resume')).toBe(true);
    const counts = new Map<string, number>();
    for (const [id] of invocations(log)) counts.set(id, (counts.get(id) ?? 0) + 1);
    for (const id of finishedFirst) expect(counts.get(id)).toBe(1);
    expect(collectResults(out).runs.every((r) => r.status === 'finished')).toBe(true);
  });

  it('a run that wrote its summary and is stopped on its way out is done, not failed', async () => {
    const out = join(tempDir(), 'linger');
    const log = join(out, '..', 'invocations.log');
    const ac = new AbortController();
    const summaryOf = (id: string) => join(out, 'runs', id, 'summary.json');
    const first = await runStudy(GRID6, {
      ...options(out, log, { FAKE_TARM_LINGER_MS: '60000' }),
      signal: ac.signal,
      onProgress: (g) => {
        if (g.running.some((r) => existsSync(summaryOf(r.id)))) ac.abort();
      },
    });
    expect(first.aborted).toBe(true);
    expect(first.failed).toEqual([]);
    const finished = first.runs.filter((r) => existsSync(summaryOf(r.id))).map((r) => r.id);
    expect(finished.length).toBeGreaterThanOrEqual(1);
    expect(first.runs.filter((r) => r.status === 'done').map((r) => r.id)).toEqual(finished);
    for (const id of finished) expect(existsSync(join(out, 'logs', `${id}.failed.json`))).toBe(false);
  });

  it('a failing run does not stop the others', async () => {
    const out = join(tempDir(), 'fail');
    const log = join(out, '..', 'invocations.log');
    const outcome = await runStudy(GRID6, { ...options(out, log, { FAKE_TARM_FAIL: 'dense-copy-s1337' }), workers: 1 });
    expect(outcome.failed.map((r) => r.id)).toEqual(['dense-copy-s1337']);
    expect(outcome.failed[0]!.stderrTail).toContain('out of memory');
    expect(outcome.runs.filter((r) => r.status === 'done')).toHaveLength(3);
  });

  it('refuses a study folder made with another study file, and a folder in use', async () => {
    const out = join(tempDir(), 'refuse');
    const log = join(out, '..', 'invocations.log');
    await runStudy(SMOKE, options(out, log));
    const custom = loadStudy({ preset: 'smoke' }, { config: { steps: 10 } });
    await expect(runStudy(custom, options(out, log))).rejects.toThrow(
      /was made with another study file: config\.steps: 20 -> 10/,
    );
    await expect(runStudy(loadStudy({ preset: 'cpu' }), options(out, log))).rejects.toThrow(/name: "smoke" -> "cpu"/);
    // the same command again: nothing to do
    const again = await runStudy(SMOKE, options(out, log));
    expect(again.runs.map((r) => r.status)).toEqual(['skipped', 'skipped']);
    expect(invocations(log)).toHaveLength(2);
    // a live process holding the lock (this one's parent) blocks a second study
    writeFileSync(join(out, '.lock'), String(process.ppid));
    await expect(runStudy(SMOKE, options(out, log))).rejects.toThrow(/is being run by process/);
  });

  it('a study grown to more steps continues its finished runs from their checkpoints', async () => {
    const out = join(tempDir(), 'grow');
    const log = join(out, '..', 'invocations.log');
    await runStudy(SMOKE, options(out, log));
    const longer = loadStudy({ preset: 'smoke' }, { config: { steps: 30 } });
    // once the folder records the longer study, its 20-step runs are not finished results
    openStudyFile(
      out,
      longer,
      { startedAt: 'now', wallSeconds: 0, backend: 'wasm', workers: 1, threads: 1 },
      { growSteps: true },
    );
    expect(collectResults(out, { write: false }).runs.map((r) => r.status)).toEqual(['incomplete', 'incomplete']);
    const outcome = await runStudy(longer, options(out, log));
    expect(outcome.runs.map((r) => [r.status, r.resumed])).toEqual([
      ['done', true],
      ['done', true],
    ]);
    expect(
      invocations(log)
        .slice(2)
        .map(([, how]) => how),
    ).toEqual(['resume', 'resume']);
    for (const r of outcome.runs) {
      const dir = join(out, 'runs', r.id);
      expect(JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')).step).toBe(30);
      // steps 21-30 were trained on top of the first 20, once each
      const steps = readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .filter((l) => l.lr !== undefined)
        .map((l) => l.step);
      expect(steps).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    }
    expect(readStudyFile(out)!.study.config.steps).toBe(30);
    // the same command again: nothing to do
    expect((await runStudy(longer, options(out, log))).runs.map((r) => r.status)).toEqual(['skipped', 'skipped']);
  });

  it('a run still moving at its steps trains on, one evaluation interval at a time, until it settles or reaches maxSteps', async () => {
    const study = defineStudy({ ...SMOKE, tasks: [{ name: 'copy', maxSteps: 60 }] });
    // the fake accuracy climbs until step 30, then stays: evaluations at 10, 20, 30 move, 40 equals 30
    const settle = join(tempDir(), 'settle');
    const log = join(settle, '..', 'invocations.log');
    const outcome = await runStudy(study, options(settle, log, { FAKE_TARM_RISE_UNTIL: '30' }));
    expect(outcome.runs.map((r) => [r.status, r.steps])).toEqual([
      ['done', 40],
      ['done', 40],
    ]);
    expect(
      invocations(log)
        .filter(([id]) => id === 'dense-copy-s1337')
        .map(([, how]) => how),
    ).toEqual(['fresh', 'resume', 'resume']);
    const results = collectResults(settle, { write: false });
    for (const r of results.runs) {
      expect(r.status).toBe('finished');
      expect(r.curve.map((p) => p.step)).toEqual([10, 20, 30, 40]);
      const steps = readFileSync(join(settle, 'runs', r.id, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .filter((l) => l.lr !== undefined)
        .map((l) => l.step);
      expect(steps).toEqual(Array.from({ length: 40 }, (_, i) => i + 1)); // each step trained once
    }
    await writeReport(settle, results);
    const report = readFileSync(join(settle, 'report.md'), 'utf8');
    expect(report).toContain('copy (L 10, 20 steps, up to 60 while still moving');
    expect(report).toMatch(/\| dense \| copy \| 99\.0 \(s1337, 40 steps\) \|/);
    // still rising at the cap: it stops there
    const capped = join(tempDir(), 'capped');
    const capOutcome = await runStudy(
      study,
      options(capped, join(capped, '..', 'invocations.log'), { FAKE_TARM_RISE_UNTIL: '200' }),
    );
    expect(capOutcome.runs.map((r) => r.steps)).toEqual([60, 60]);
    // the same command again: nothing to do
    expect(
      (
        await runStudy(study, options(capped, join(capped, '..', 'again.log'), { FAKE_TARM_RISE_UNTIL: '200' }))
      ).runs.map((r) => r.status),
    ).toEqual(['skipped', 'skipped']);
  });

  it('tracks runs from their messages, whatever the progress text on stderr says', async () => {
    const track = async (bar: string) => {
      const out = join(tempDir(), bar);
      const seen: GridProgress[] = [];
      const outcome = await runStudy(SMOKE, {
        ...options(out, join(out, '..', 'log'), { FAKE_TARM_BAR: bar, FAKE_TARM_STEP_MS: '5' }),
        onProgress: (g) => seen.push(g),
      });
      expect(outcome.ok).toBe(true);
      expect(readFileSync(join(out, 'logs', 'dense-copy-s1337.log'), 'utf8')).toMatch(
        bar === 'other' ? /\(20 of 20\), xent=/ : /step 20\/20 \| loss/,
      );
      const steps = seen.flatMap((g) => g.running.filter((r) => r.id === 'dense-copy-s1337').map((r) => r.step ?? 0));
      const last = seen
        .flatMap((g) => g.running)
        .filter((r) => r.id === 'dense-copy-s1337' && r.step === 20)
        .at(-1);
      const { wallSeconds: _, ...result } = outcome.runs[0]!.result!;
      return {
        max: Math.max(...steps),
        increasing: steps.every((x, i) => i === 0 || x >= steps[i - 1]!),
        acc: last?.acc,
        loss: last?.loss,
        result,
      };
    };
    const usual = await track('bar');
    const changed = await track('other');
    expect(usual.max).toBe(20);
    expect(usual.increasing).toBe(true);
    expect(changed).toEqual(usual);
  });

  it('backend auto: node where tfjs-node loads, wasm where it does not; the session and every run record it', async () => {
    const out = join(tempDir(), 'auto');
    const node = await runStudy(SMOKE, {
      ...options(out, join(out, '..', 'log')),
      backend: 'auto',
      resolve: async () => ({ name: 'node', reason: 'auto: loads' }),
      workers: 1,
    });
    expect(node).toMatchObject({ backend: 'node', workers: 1 });
    expect(collectResults(out).runs.map((r) => r.backend)).toEqual(['node', 'node']);
    const out2 = join(tempDir(), 'auto2');
    const { resolveBackend } = await import('@tarm/core/internal');
    const missing = async (name: string) => {
      if (name === 'node') throw new BackendError('node', 'the package @tensorflow/tfjs-node is not installed');
    };
    const wasm = await runStudy(SMOKE, {
      ...options(out2, join(out2, '..', 'log')),
      backend: 'auto',
      resolve: (c) => resolveBackend(c, missing),
    });
    expect(wasm.backend).toBe('wasm');
    expect(wasm.backendReason).toMatch(/tfjs-node is not installed/);
    expect(JSON.parse(readFileSync(join(out2, 'study.json'), 'utf8')).sessions[0].backend).toBe('wasm');
  });

  it('workers x threads for the machine: a worker per core, one thread each unless asked', () => {
    expect(planWorkers({ cores: 2, runs: 10 })).toEqual({ workers: 2, threads: 1 });
    expect(planWorkers({ cores: 16, runs: 4 })).toEqual({ workers: 4, threads: 1 });
    expect(planWorkers({ cores: 8, runs: 20, workers: 2 })).toEqual({ workers: 2, threads: 1 });
    expect(planWorkers({ cores: 8, runs: 20, workers: 2, threads: 4 })).toEqual({ workers: 2, threads: 4 });
    expect(() => planWorkers({ cores: 2, runs: 1, threads: 0 })).toThrow(/--threads: a positive integer/);
  });

  it('names the earlier sessions that trained under another backend, thread count or CPU kind', () => {
    const at = (backend: 'node' | 'wasm', threads: number) => ({
      startedAt: '2026-12-04T00:00:00.000Z',
      wallSeconds: 1,
      backend,
      workers: 2,
      threads,
    });
    expect(mixedSessions([at('node', 1), at('node', 1)])).toBeUndefined();
    expect(mixedSessions([at('wasm', 1), at('wasm', 1)])).toBeUndefined();
    expect(mixedSessions([at('node', 1), at('node', 2), at('node', 2), at('node', 1)])).toBe(
      '2 earlier sessions of this folder ran node x 2 threads',
    );
    expect(mixedSessions([at('wasm', 1), at('node', 1)])).toBe('1 earlier session of this folder ran wasm');
    // the CPU kind counts where both sessions recorded it (oneDNN picks kernels by instruction set)
    const on = (cpu?: string) => ({ ...at('node', 1), cpu });
    expect(mixedSessions([on('Intel Xeon (avx2)'), on('AMD EPYC (avx2, avx512f)')])).toBe(
      '1 earlier session of this folder ran node x 1 thread on Intel Xeon (avx2)',
    );
    expect(mixedSessions([on(undefined), on('AMD EPYC (avx2, avx512f)')])).toBeUndefined();
    expect(mixedSessions([on('AMD EPYC (avx2, avx512f)'), on('AMD EPYC (avx2, avx512f)')])).toBeUndefined();
  });
});

describe('a study defined inline', () => {
  it('runs arms that share a rung under their own names', async () => {
    const out = join(tempDir(), 'inline');
    const study = defineStudy({
      name: 'two',
      arms: [
        { name: 'plain', rung: 'ar-trm' },
        { name: 'ds', rung: 'ar-trm', deepSupervision: 0 },
      ],
      tasks: [{ name: 'copy' }],
      seeds: [1],
      config: { budget: 12, dModel: 16, nHeads: 2, steps: 4, evalEvery: 2, evalLengths: [10] },
    });
    const outcome = await runStudy(study, options(out, join(out, '..', 'log')));
    expect(outcome.runs.map((r) => r.id)).toEqual(['plain-copy-s1', 'ds-copy-s1']);
    expect(
      JSON.parse(readFileSync(join(out, 'runs', 'ds-copy-s1', 'config.json'), 'utf8')).flags['deep-supervision'],
    ).toBe('0');
    expect(existsSync(join(out, 'runs', 'plain-copy-s1', 'summary.json'))).toBe(true);
  });
});
