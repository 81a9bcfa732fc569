import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { collectResults, runStudy, SMOKE_PRESET, writeReport, type GridProgress, type RunStudyOptions } from '../src/index.js';
import { FAKE_TARM, invocations, tempDir } from './helpers.js';

/** A study on the fake train command: no progress display, env switches for the fake. */
function options(outDir: string, log: string, env: Record<string, string> = {}, extra: Partial<RunStudyOptions> = {}): RunStudyOptions {
  return {
    preset: 'smoke',
    outDir,
    cliEntry: FAKE_TARM,
    workers: 2,
    progress: false,
    env: { ...process.env, FAKE_TARM_LOG: log, ...env },
    ...extra,
  };
}

const GRID6 = { models: ['dense', 'ut', 'dual-ut'], tasks: ['copy', 'reverse'] };

describe('runStudy with a fake train command', () => {
  it('runs the smoke grid, records study.json and reports grid progress', async () => {
    const out = join(tempDir(), 'smoke');
    const log = join(out, '..', 'invocations.log');
    const seen: GridProgress[] = [];
    const outcome = await runStudy({ ...options(out, log), onProgress: (g) => seen.push(g) });
    expect(outcome.ok).toBe(true);
    expect(outcome.runs.map((r) => [r.id, r.status])).toEqual([
      ['dense-copy-s1337', 'done'],
      ['dual-ut-copy-s1337', 'done'],
    ]);
    expect(invocations(log)).toEqual(expect.arrayContaining([['dense-copy-s1337', 'fresh'], ['dual-ut-copy-s1337', 'fresh']]));
    const study = JSON.parse(readFileSync(join(out, 'study.json'), 'utf8'));
    expect(study).toMatchObject({ schema: 'tarm-study', version: 1, preset: { name: 'smoke', config: SMOKE_PRESET.config }, grid: { models: ['dense', 'dual-ut'], tasks: ['copy'], seeds: [1337] } });
    expect(study.sessions).toHaveLength(1);
    expect(existsSync(join(out, '.lock'))).toBe(false);
    // the stderr progress lines reached the grid: steps, accuracy, an estimate once runs finished
    expect(seen.some((g) => g.running.some((r) => r.step !== undefined && r.step > 0 && r.acc !== undefined))).toBe(true);
    expect(seen.at(-1)).toMatchObject({ total: 2, finished: 2, failed: 0, pending: 0 });
    expect(seen.some((g) => g.event?.kind === 'finished')).toBe(true);
    // the child's JSON result line is kept
    expect(outcome.runs[0]!.result).toMatchObject({ model: 'dense', params: 26000 });
    // results and report follow
    const results = collectResults(out);
    expect(results.runs.every((r) => r.status === 'finished')).toBe(true);
    await writeReport(out, results);
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toContain('| dense | 99.0 (n=1) (paper 100) |');
  });

  it('a crashed worker is recorded as failed, the others finish, and a rerun resumes only it', async () => {
    const out = join(tempDir(), 'crash');
    const log = join(out, '..', 'invocations.log');
    const first = await runStudy({ ...options(out, log, { FAKE_TARM_CRASH: 'ut-copy-s1337' }), ...GRID6 });
    expect(first.ok).toBe(false);
    expect(first.failed.map((r) => r.id)).toEqual(['ut-copy-s1337']);
    expect(first.failed[0]!.exitCode).toBe(3);
    expect(first.failed[0]!.stderrTail).toContain('fake crash after config.json');
    expect(first.runs.filter((r) => r.status === 'done')).toHaveLength(5);
    expect(JSON.parse(readFileSync(join(out, 'logs', 'ut-copy-s1337.failed.json'), 'utf8'))).toMatchObject({ exitCode: 3 });
    expect(collectResults(out).runs.find((r) => r.id === 'ut-copy-s1337')!.status).toBe('failed');

    const second = await runStudy({ ...options(out, log, { FAKE_TARM_CRASH: 'ut-copy-s1337' }), ...GRID6 });
    expect(second.ok).toBe(true);
    expect(second.runs.filter((r) => r.status === 'skipped')).toHaveLength(5);
    const calls = invocations(log);
    expect(calls).toHaveLength(7);
    expect(calls.at(-1)).toEqual(['ut-copy-s1337', 'resume']);
    expect(existsSync(join(out, 'logs', 'ut-copy-s1337.failed.json'))).toBe(false);
    const results = collectResults(out);
    expect(results.runs.map((r) => r.status)).toEqual(Array(6).fill('finished'));
    expect(results.study.sessions).toBe(2);
    // the torn line the crash left in metrics.jsonl does not break the curve
    expect(results.runs.find((r) => r.id === 'ut-copy-s1337')!.curve.map((p) => p.step)).toEqual([10, 20]);
  });

  it('a study killed midway resumes without repeating any finished run', async () => {
    const out = join(tempDir(), 'killed');
    const log = join(out, '..', 'invocations.log');
    const ac = new AbortController();
    const env = { FAKE_TARM_STEP_MS: '25' };
    const first = await runStudy({
      ...options(out, log, env),
      ...GRID6,
      signal: ac.signal,
      onProgress: (g) => {
        if (g.finished >= 2 && g.running.some((r) => (r.step ?? 0) >= 5)) ac.abort();
      },
    });
    expect(first.aborted).toBe(true);
    expect(first.ok).toBe(false);
    const finishedFirst = first.runs.filter((r) => r.status === 'done').map((r) => r.id);
    expect(finishedFirst.length).toBeGreaterThanOrEqual(2);
    expect(finishedFirst.length).toBeLessThan(6);
    expect(first.failed).toEqual([]);
    const afterFirst = invocations(log).length;

    const second = await runStudy({ ...options(out, log, env), ...GRID6 });
    expect(second.ok).toBe(true);
    const calls = invocations(log).slice(afterFirst);
    // no run finished in the first session is started again ...
    for (const id of finishedFirst) expect(calls.map((c) => c[0])).not.toContain(id);
    // ... every other run is started exactly once, interrupted ones with --resume
    expect(calls.map((c) => c[0]).sort()).toEqual(second.runs.filter((r) => r.status === 'done').map((r) => r.id).sort());
    expect(calls.length).toBe(6 - finishedFirst.length);
    expect(calls.some(([, mode]) => mode === 'resume')).toBe(true);
    const counts = new Map<string, number>();
    for (const [id] of invocations(log)) counts.set(id, (counts.get(id) ?? 0) + 1);
    for (const id of finishedFirst) expect(counts.get(id)).toBe(1);
    expect(collectResults(out).runs.every((r) => r.status === 'finished')).toBe(true);
  });

  it('a failing run does not stop the others', async () => {
    const out = join(tempDir(), 'fail');
    const log = join(out, '..', 'invocations.log');
    const outcome = await runStudy({ ...options(out, log, { FAKE_TARM_FAIL: 'dense-copy-s1337' }), ...GRID6, workers: 1 });
    expect(outcome.failed.map((r) => r.id)).toEqual(['dense-copy-s1337']);
    expect(outcome.failed[0]!.stderrTail).toContain('out of memory');
    expect(outcome.runs.filter((r) => r.status === 'done')).toHaveLength(5);
  });

  it('refuses a study folder made with another configuration, and a folder in use', async () => {
    const out = join(tempDir(), 'refuse');
    const log = join(out, '..', 'invocations.log');
    await runStudy(options(out, log));
    const custom = { ...structuredClone(SMOKE_PRESET), config: { ...SMOKE_PRESET.config, steps: 30 } };
    await expect(runStudy({ ...options(out, log), preset: custom })).rejects.toThrow(/preset smoke and a different configuration \(steps: 20 -> 30\)/);
    await expect(runStudy({ ...options(out, log), preset: 'cpu' })).rejects.toThrow(/was made with preset smoke/);
    // the same command again: nothing to do
    const again = await runStudy(options(out, log));
    expect(again.runs.map((r) => r.status)).toEqual(['skipped', 'skipped']);
    expect(invocations(log)).toHaveLength(2);
    // a live process holding the lock (this one's parent) blocks a second study
    writeFileSync(join(out, '.lock'), String(process.ppid));
    await expect(runStudy(options(out, log))).rejects.toThrow(/is being run by process/);
  });
});
