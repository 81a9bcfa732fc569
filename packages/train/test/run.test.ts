import { spawn } from 'node:child_process';
import { appendFile, mkdtemp, readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CheckpointError } from '@tarm/core';
import { describeOnBackends, expectNoLeaks } from '@tarm/test-utils/vitest';
import {
  runTraining,
  RunFolderError,
  type MetricsLine,
  type ResumeInfo,
  type RunConfig,
  type RunOptions,
} from '../src/node/index.js';
import { readJsonLines } from '../src/node/internal.js';
import { paramValues } from './helpers/tiny-model.js';
import { createFromConfig, tinyEvaluate, tinyRunConfig } from './helpers/tiny-run.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tarm-train-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

let dirCount = 0;
const freshDir = () => join(root, `run-${++dirCount}`);

function options(outDir: string, config: RunConfig, extra: Partial<RunOptions> = {}): RunOptions {
  return { outDir, config, createModel: () => createFromConfig(config), evaluate: tinyEvaluate, ...extra };
}

/** The deterministic part of metrics.jsonl (wall times and throughput vary run to run). */
async function metrics(outDir: string): Promise<unknown[]> {
  const lines = await readJsonLines<MetricsLine>(join(outDir, 'metrics.jsonl'));
  return lines.map((l) =>
    l.kind === 'loss'
      ? { kind: l.kind, step: l.step, loss: l.loss }
      : { kind: l.kind, step: l.step, loss: l.loss, evals: l.evals },
  );
}

/** The uninterrupted reference run for a config: final params and metrics (computed once per config). */
const references = new Map<string, Promise<{ params: Record<string, number[]>; metrics: unknown[]; outDir: string }>>();
function reference(config: RunConfig) {
  const key = JSON.stringify(config);
  if (!references.has(key)) {
    references.set(
      key,
      (async () => {
        const outDir = freshDir();
        const res = await runTraining(options(outDir, config));
        expect(res).toMatchObject({ step: config.train.steps, stopped: false, resumedFrom: null });
        const params = await paramValues(res.model);
        res.model.params.dispose();
        return { params, metrics: await metrics(outDir), outDir };
      })(),
    );
  }
  return references.get(key)!;
}

describeOnBackends('runTraining', ['cpu'], () => {
  it('writes config.json, metrics.jsonl, checkpoint/ and summary.json', async () => {
    const config = tinyRunConfig({ steps: 12, evalEvery: 5, checkpointEvery: 4, logEvery: 3 });
    const ref = await reference(config);
    const dir = ref.outDir;
    expect((await readdir(dir)).sort()).toEqual(['checkpoint', 'config.json', 'metrics.jsonl', 'summary.json']);
    expect(JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'))).toEqual(config);
    const lines = await readJsonLines<MetricsLine>(join(dir, 'metrics.jsonl'));
    expect(lines.map((l) => `${l.kind}@${l.step}`)).toEqual([
      'loss@3',
      'eval@5',
      'loss@6',
      'loss@9',
      'eval@10',
      'loss@12',
      'eval@12',
    ]);
    const loss3 = lines[0]!;
    expect(loss3).toMatchObject({ kind: 'loss', step: 3 });
    expect(loss3.kind === 'loss' && loss3.tokensPerSecond > 0 && loss3.stats?.maskedTokens === 32).toBe(true);
    const ev = lines[1]!;
    expect(ev.kind === 'eval' && typeof ev.evals['3']!.charAcc === 'number' && ev.wallSeconds >= 0).toBe(true);
    const ckpt = JSON.parse(await readFile(join(dir, 'checkpoint', 'model.json'), 'utf8'));
    expect(ckpt.meta).toMatchObject({ kind: 'tarm-train-state', step: 12, steps: 12, seed: 1337, codeVersion: 'test' });
    const names = ckpt.weightsManifest[0].weights.map((w: { name: string }) => w.name) as string[];
    expect(names).toContain('blocks.0.attn.qkv.weight');
    expect(names).toContain('optimizer.m.blocks.0.attn.qkv.weight');
    expect(names).toContain('optimizer.v.embed.token');
    expect(names).toContain('optimizer.step.head.out.weight');
    expect(await readdir(join(dir, 'checkpoint'))).toEqual(['model.json', 'weights-step-00000012.bin']);
    const summary = JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8'));
    expect(summary).toMatchObject({ finished: true, step: 12, codeVersion: 'test' });
    expect(summary.cpu).toEqual(expect.any(String)); // node's kernels depend on the CPU kind
    expect(summary.evals).toEqual((lines[6] as { evals: unknown }).evals); // the final evaluation
  });

  it('interrupted (shouldStop) and resumed, gives bit-identical parameters and the same losses and evals', async () => {
    const config = tinyRunConfig({ steps: 30 });
    const ref = await reference(config);
    const dir = freshDir();
    let n = 0;
    const first = await runTraining(options(dir, config, { shouldStop: () => ++n === 13 }));
    expect(first).toMatchObject({ step: 13, stopped: true, resumedFrom: null, summary: undefined });
    first.model.params.dispose();
    expect(await readdir(dir)).not.toContain('summary.json');
    expect(JSON.parse(await readFile(join(dir, 'checkpoint', 'model.json'), 'utf8')).meta.step).toBe(13);
    // A second interruption right after the resume, then the rest.
    let m = 0;
    const second = await runTraining(options(dir, config, { resume: true, shouldStop: () => ++m === 1 }));
    expect(second).toMatchObject({ step: 14, stopped: true, resumedFrom: 13 });
    second.model.params.dispose();
    const before = tf.memory().numTensors;
    const third = await runTraining(options(dir, config, { resume: true }));
    expect(third).toMatchObject({ step: 30, stopped: false, resumedFrom: 14 });
    expect(await paramValues(third.model)).toEqual(ref.params);
    third.model.params.dispose();
    expect(tf.memory().numTensors).toBeLessThanOrEqual(before); // model and optimizer state all released
    expect(await metrics(dir)).toEqual(ref.metrics);
  });

  it('survives a SIGKILL of a child process mid-run: resuming gives the uninterrupted result', async () => {
    const config = tinyRunConfig({ steps: 30 });
    const ref = await reference(config);
    const dir = freshDir();
    const fixture = fileURLToPath(new URL('./fixtures/child-run.mjs', import.meta.url));
    const child = spawn(process.execPath, [fixture, JSON.stringify({ outDir: dir, delayMs: 15 })], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const killedAt = await new Promise<number>((resolve, reject) => {
      child.stdout.on('data', (d) => {
        out += d;
        const steps = [...out.matchAll(/step (\d+)\n/g)].map((x) => Number(x[1]));
        const last = steps.at(-1) ?? 0;
        if (last >= 17 && child.exitCode === null && !child.killed) {
          child.kill('SIGKILL');
          resolve(last);
        }
      });
      child.on('exit', (code, signal) => {
        if (signal !== 'SIGKILL') reject(new Error(`child exited early (code ${code}, ${signal}): ${err}`));
      });
    });
    await new Promise((r) => child.once('close', r));
    expect(killedAt).toBeGreaterThanOrEqual(17);
    expect(await readdir(dir)).not.toContain('summary.json');
    // Simulate the worst case as well: a kill during an append leaves a torn last line.
    await appendFile(join(dir, 'metrics.jsonl'), '{"kind":"loss","step":99,"lo');
    // ... and a kill during an atomic write leaves its temporary file (and maybe an orphan weights file).
    await writeFile(join(dir, 'metrics.jsonl.tmp-99999-1'), 'partial');
    await writeFile(join(dir, 'checkpoint', 'weights-step-00000099.bin'), 'orphan');
    await writeFile(join(dir, 'checkpoint', 'model.json.tmp-99999-2'), '{"partial');
    const res = await runTraining(options(dir, config, { resume: true }));
    expect(res.stopped).toBe(false);
    expect(res.resumedFrom).toBeGreaterThanOrEqual(15);
    expect(res.resumedFrom).toBeLessThan(30);
    expect(await paramValues(res.model)).toEqual(ref.params);
    res.model.params.dispose();
    expect(await metrics(dir)).toEqual(ref.metrics);
    // No temporary or orphan files left.
    expect((await readdir(dir)).sort()).toEqual(['checkpoint', 'config.json', 'metrics.jsonl', 'summary.json']);
    expect((await readdir(join(dir, 'checkpoint'))).sort()).toEqual(['model.json', 'weights-step-00000030.bin']);
  });

  it('refuses to resume with a different configuration, naming the field', async () => {
    const dir = freshDir();
    const config = tinyRunConfig({ steps: 6 });
    (await runTraining(options(dir, config, { shouldStop: () => true }))).model.params.dispose();
    const other = tinyRunConfig({ steps: 6, optimizer: { lr: 1e-3 } });
    const err = await runTraining(options(dir, other, { resume: true })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunFolderError);
    expect((err as RunFolderError).field).toBe('train.optimizer.lr');
    expect((err as Error).message).toMatch(
      /"train\.optimizer\.lr" differs \(the run folder has 0\.003, this run has 0\.001\)/,
    );
    const err2 = await runTraining(options(dir, { ...config, seed: 7 }, { resume: true })).catch((e: unknown) => e);
    expect((err2 as RunFolderError).field).toBe('seed');
  });

  it('lists every differing field at once', async () => {
    const dir = freshDir();
    const config = tinyRunConfig({ steps: 6 });
    (await runTraining(options(dir, config, { shouldStop: () => true }))).model.params.dispose();
    const other = { ...tinyRunConfig({ steps: 6, batchSize: 4, optimizer: { lr: 1e-3 } }), seed: 7 };
    const err = await runTraining(options(dir, other, { resume: true })).catch((e: unknown) => e);
    expect((err as RunFolderError).field).toBe('train.batchSize');
    for (const f of ['train\\.batchSize', 'train\\.optimizer\\.lr', 'seed'])
      expect((err as Error).message).toMatch(new RegExp(`"${f}" differs`));
  });

  it('says what a resume found: the checkpoint step, the metrics lines kept and dropped, a missing metrics.jsonl', async () => {
    const config = tinyRunConfig({ steps: 12, checkpointEvery: 4, logEvery: 1 });
    const dir = freshDir();
    let n = 0;
    (await runTraining(options(dir, config, { shouldStop: () => ++n === 6 }))).model.params.dispose();
    // a kill after step 7's loss line, before step 8's checkpoint: the line is dropped, training goes on from 6
    await appendFile(
      join(dir, 'metrics.jsonl'),
      JSON.stringify({ kind: 'loss', step: 7, loss: 1, tokensPerSecond: 1, wallSeconds: 1 }) + '\n',
    );
    const infos: ResumeInfo[] = [];
    let m = 0;
    (
      await runTraining(
        options(dir, config, { resume: true, onResume: (i) => infos.push(i), shouldStop: () => ++m === 1 }),
      )
    ).model.params.dispose();
    expect(infos).toEqual([
      expect.objectContaining({
        step: 6,
        steps: 12,
        savedSteps: 12,
        checkpoint: true,
        finished: false,
        metricsKept: 6,
        metricsDropped: 1,
        metricsMissing: false,
      }),
    ]);
    await rm(join(dir, 'metrics.jsonl'));
    const res = await runTraining(options(dir, config, { resume: true, onResume: (i) => infos.push(i) }));
    res.model.params.dispose();
    expect(infos[1]).toMatchObject({ step: 7, metricsKept: 0, metricsMissing: true }); // logEvery 1: a line was due at step 1
  });

  it('refuses to resume a folder whose checkpoint was deleted, but restarts one stopped before its first checkpoint', async () => {
    const config = tinyRunConfig({ steps: 12, checkpointEvery: 4, evalEvery: 4, logEvery: 1 });
    const dir = freshDir();
    let n = 0;
    (await runTraining(options(dir, config, { shouldStop: () => ++n === 6 }))).model.params.dispose();
    await rm(join(dir, 'checkpoint'), { recursive: true });
    const err = await runTraining(options(dir, config, { resume: true })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunFolderError);
    expect((err as Error).message).toMatch(/checkpoint\/ is missing, but metrics\.jsonl goes to step 6 .*deleted/);
    // stopped at step 2 (the folder gets its checkpoint of step 2 on the stop; remove it to stand for a kill)
    const early = freshDir();
    let k = 0;
    (await runTraining(options(early, config, { shouldStop: () => ++k === 2 }))).model.params.dispose();
    await rm(join(early, 'checkpoint'), { recursive: true });
    const infos: ResumeInfo[] = [];
    const res = await runTraining(options(early, config, { resume: true, onResume: (i) => infos.push(i) }));
    expect(res).toMatchObject({ step: 12, resumedFrom: 0 });
    res.model.params.dispose();
    expect(infos).toEqual([expect.objectContaining({ step: 0, checkpoint: false, metricsDropped: 2 })]);
  });

  it('refuses a non-empty folder without --resume, saying what it holds', async () => {
    const config = tinyRunConfig({ steps: 6 });
    const partial = freshDir();
    (await runTraining(options(partial, config, { shouldStop: () => true }))).model.params.dispose();
    await expect(runTraining(options(partial, config))).rejects.toThrow(
      /holds a partial run \(checkpoint at step 1\); pass --resume to continue it, or choose another --out/,
    );
    const done = freshDir();
    (await runTraining(options(done, config))).model.params.dispose();
    await expect(runTraining(options(done, config))).rejects.toThrow(/holds a finished run \(step 6\)/);
    const junk = freshDir();
    await runTraining(options(junk, config, { shouldStop: () => true })).then((r) => r.model.params.dispose());
    await rm(join(junk, 'config.json'));
    await expect(runTraining(options(junk, config))).rejects.toThrow(RunFolderError);
    await expect(runTraining(options(junk, config, { resume: true }))).rejects.toThrow(/not a run folder/);
    // Resuming a finished run does no more training and keeps its result.
    const again = await runTraining(options(done, config, { resume: true }));
    expect(again).toMatchObject({ step: 6, stopped: false, resumedFrom: 6 });
    again.model.params.dispose();
    expect(JSON.parse(await readFile(join(done, 'summary.json'), 'utf8'))).toMatchObject({ finished: true, step: 6 });
  });

  it('continues a finished run to more steps, bit for bit the run asked for them from the start', async () => {
    const long = tinyRunConfig({ steps: 12, evalEvery: 4, checkpointEvery: 4 });
    const ref = await reference(long);
    const dir = freshDir();
    const short = tinyRunConfig({ steps: 6, evalEvery: 4, checkpointEvery: 4 });
    (await runTraining(options(dir, short))).model.params.dispose();
    expect(JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8'))).toMatchObject({ finished: true, step: 6 });
    const more = await runTraining(options(dir, long, { resume: true }));
    expect(more).toMatchObject({ step: 12, stopped: false, resumedFrom: 6 });
    expect(await paramValues(more.model)).toEqual(ref.params);
    more.model.params.dispose();
    expect(JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'))).toEqual(long); // the folder now says 12 steps
    // Fewer steps than the run has done: refused, naming train.steps, and the folder is left as it was.
    const before = await readFile(join(dir, 'config.json'), 'utf8');
    const err = await runTraining(options(dir, short, { resume: true })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunFolderError);
    expect((err as RunFolderError).field).toBe('train.steps');
    expect((err as Error).message).toMatch(/cannot resume to 6 steps: the run has already done 12/);
    expect(await readFile(join(dir, 'config.json'), 'utf8')).toBe(before);
    expect(JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8'))).toMatchObject({ finished: true, step: 12 });
  });

  it('a crash while evaluating loses no training: the checkpoint comes first, and the resume evaluates that step', async () => {
    const config = tinyRunConfig({ steps: 8, evalEvery: 4, checkpointEvery: 4 });
    const ref = await reference(config);
    const dir = freshDir();
    const crash = (model: Parameters<typeof tinyEvaluate>[0], step: number) =>
      step === 8 ? Promise.reject(new Error('out of memory')) : tinyEvaluate(model, step);
    await expect(runTraining(options(dir, config, { evaluate: crash }))).rejects.toThrow(/out of memory/);
    const resumed = await runTraining(options(dir, config, { resume: true }));
    expect(resumed).toMatchObject({ step: 8, resumedFrom: 8 }); // no step trained again
    expect(await paramValues(resumed.model)).toEqual(ref.params);
    resumed.model.params.dispose();
    expect(await metrics(dir)).toEqual(ref.metrics);
    expect(JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8')).evals).toEqual(
      JSON.parse(await readFile(join(ref.outDir, 'summary.json'), 'utf8')).evals,
    );
  });

  it('a truncated or corrupted weights file is a CheckpointError naming the file', async () => {
    const config = tinyRunConfig({ steps: 6 });
    const dir = freshDir();
    (await runTraining(options(dir, config, { shouldStop: () => true }))).model.params.dispose();
    const bin = join(
      dir,
      'checkpoint',
      (await readdir(join(dir, 'checkpoint'))).find((f) => f.endsWith('.bin'))!,
    );
    const bytes = await readFile(bin);
    await truncate(bin, 100);
    // the model built for the resume is released
    const err = await expectNoLeaks(() => runTraining(options(dir, config, { resume: true })).catch((e: unknown) => e));
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as CheckpointError).path).toBe(bin);
    expect((err as Error).message).toMatch(/truncated/);
    bytes[10] = bytes[10]! ^ 0xff;
    await writeFile(bin, bytes);
    await expect(runTraining(options(dir, config, { resume: true }))).rejects.toThrow(/checksum/);
    await writeFile(join(dir, 'checkpoint', 'model.json'), '{"format": "tarm-chec');
    const err3 = await runTraining(options(dir, config, { resume: true })).catch((e: unknown) => e);
    expect(err3).toBeInstanceOf(CheckpointError);
    expect((err3 as CheckpointError).path).toBe(join(dir, 'checkpoint', 'model.json'));
  });
});
