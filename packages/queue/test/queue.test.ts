import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { defineStudy } from '@tarm/study';
import { openStudyFile } from '@tarm/study/internal';
import { redisServerBinary, startTestRedis, type TestRedis } from '@tarm/test-utils/redis';
import { connect, enqueueStudy, openQueue } from '../src/jobs.js';
import { takeLock } from '../src/lock.js';
import { runStudyOnQueue } from '../src/study.js';
import { parseQueueUrl } from '../src/url.js';
import { startWorker } from '../src/worker.js';

const FAKE_TARM = fileURLToPath(new URL('../../study/test/fixtures/fake-tarm.mjs', import.meta.url));
const STUDY = defineStudy({
  name: 'q',
  description: 'queue test',
  arms: [
    { name: 'dense', rung: 'dense' },
    { name: 'ut', rung: 'ut' },
  ],
  tasks: [{ name: 'copy', length: 4, evalLengths: [4] }],
  seeds: [1, 2],
  config: { dModel: 16, nHeads: 2, budget: 2, steps: 10, batch: 8, evalEvery: 5, evalN: 5 },
});
const tmp = () => mkdtempSync(join(tmpdir(), 'tarm-queue-'));
const HAVE_REDIS = redisServerBinary() !== undefined;
if (!HAVE_REDIS) console.warn('SKIPPED: the queue tests need redis-server (apt-get install redis-server)');

describe.skipIf(!HAVE_REDIS)('the queue on a real redis-server', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startTestRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('enqueues each unfinished run once, as a job whose id is the run id; a second enqueue adds nothing', async () => {
    const loc = parseQueueUrl(`${redis.url}?queue=idem`);
    const out = tmp();
    mkdirSync(join(out, 'runs', 'ut-copy-s2'), { recursive: true });
    writeFileSync(join(out, 'runs', 'ut-copy-s2', 'summary.json'), '{"finished":true}');
    const client = await connect(loc);
    const queue = openQueue(loc, client);
    try {
      const first = await enqueueStudy(queue, STUDY, out);
      expect(first).toEqual({
        finished: ['ut-copy-s2'],
        added: ['dense-copy-s1', 'ut-copy-s1', 'dense-copy-s2'],
        queued: [],
        retried: [],
      });
      expect((await queue.getJob('dense-copy-s1'))?.data).toEqual({ outDir: out, id: 'dense-copy-s1', study: 'q' });
      const second = await enqueueStudy(queue, STUDY, out);
      expect(second.added).toEqual([]);
      expect(second.queued).toEqual(['dense-copy-s1', 'ut-copy-s1', 'dense-copy-s2']);
      expect(await queue.getJobCounts('waiting')).toEqual({ waiting: 3 });
      // another study folder while these wait: refused, naming the folder that holds the queue
      await expect(enqueueStudy(queue, STUDY, tmp())).rejects.toThrow(
        `already holds run dense-copy-s1 of the study folder ${out}`,
      );
    } finally {
      await queue.close();
      client.disconnect();
    }
  });

  it('a lock across hosts: a second holder is refused with the first one named; a dead holder frees it after its ttl', async () => {
    const a = new Redis(redis.url);
    const b = new Redis(redis.url);
    try {
      const held = await takeLock(a, 'tarm:test-lock', 'host-a:1', 600);
      await expect(takeLock(b, 'tarm:test-lock', 'host-b:2', 600)).rejects.toThrow(/driven by host-a:1 since/);
      await new Promise((r) => setTimeout(r, 900)); // renewed while held
      await expect(takeLock(b, 'tarm:test-lock', 'host-b:2', 600)).rejects.toThrow(/host-a:1/);
      await held.release();
      const second = await takeLock(b, 'tarm:test-lock', 'host-b:2', 300);
      // host b "dies": it stops renewing (its client goes away); the key expires
      b.disconnect();
      await new Promise((r) => setTimeout(r, 600));
      expect(await a.get('tarm:test-lock')).toBeNull();
      void second;
    } finally {
      a.disconnect();
      b.disconnect();
    }
  });

  it('a run that fails for a reason of its own is failed after its attempts, with its error; the others finish', async () => {
    const loc = parseQueueUrl(`${redis.url}?queue=fail`);
    const out = join(tmp(), 'study');
    const log = join(out, '..', 'invocations.log');
    const lines: string[] = [];
    const worker = await startWorker({
      location: loc,
      cliEntry: FAKE_TARM,
      backend: 'wasm',
      concurrency: 2,
      env: { ...process.env, FAKE_TARM_LOG: log, FAKE_TARM_FAIL: 'ut-copy-s1' },
      log: (l) => lines.push(l),
    });
    try {
      const outcome = await runStudyOnQueue(STUDY, {
        location: loc,
        outDir: out,
        attempts: 2,
        progress: false,
        pollMs: 200,
      });
      expect(outcome.ok).toBe(false);
      expect(outcome.runs.map((r) => [r.id, r.status])).toEqual([
        ['dense-copy-s1', 'done'],
        ['ut-copy-s1', 'failed'],
        ['dense-copy-s2', 'done'],
        ['ut-copy-s2', 'done'],
      ]);
      expect(outcome.failed[0]!.stderrTail).toMatch(
        /ut-copy-s1 failed on .+ \(exit code 1\):[\s\S]*fake failure for the test/,
      );
      const tries = readFileSync(log, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('ut-copy-s1'));
      expect(tries).toHaveLength(2); // attempts: 2
      expect(JSON.parse(readFileSync(join(out, 'logs', 'ut-copy-s1.failed.json'), 'utf8')).stderrTail).toMatch(
        /fake failure/,
      );
      expect(lines.some((l) => l.startsWith('FAILED ut-copy-s1'))).toBe(true);
      // the session is recorded with the queue, never a password
      expect(JSON.parse(readFileSync(join(out, 'study.json'), 'utf8')).sessions.at(-1)).toMatchObject({
        queue: `redis://127.0.0.1:${redis.port}/0?queue=fail`,
      });
    } finally {
      await worker.close();
    }
  });

  it('a run still moving at its steps is continued by its worker, an evaluation interval at a time, until it settles', async () => {
    const loc = parseQueueUrl(`${redis.url}?queue=extend`);
    const out = join(tmp(), 'study');
    const log = join(out, '..', 'invocations.log');
    const study = defineStudy({ ...STUDY, tasks: [{ name: 'copy', length: 4, evalLengths: [4], maxSteps: 30 }] });
    // the fake accuracy climbs until step 15: evaluations at 5, 10, 15 move, 20 equals 15
    const worker = await startWorker({
      location: loc,
      cliEntry: FAKE_TARM,
      backend: 'wasm',
      concurrency: 2,
      env: { ...process.env, FAKE_TARM_LOG: log, FAKE_TARM_RISE_UNTIL: '15' },
    });
    try {
      const outcome = await runStudyOnQueue(study, { location: loc, outDir: out, progress: false, pollMs: 100 });
      expect(outcome.ok).toBe(true);
      for (const r of outcome.runs) {
        expect(JSON.parse(readFileSync(join(out, 'runs', r.id, 'summary.json'), 'utf8')).step).toBe(20);
        expect(
          readFileSync(log, 'utf8')
            .split('\n')
            .filter((l) => l.startsWith(`${r.id} `)),
        ).toEqual([`${r.id} fresh`, `${r.id} resume`, `${r.id} resume`]);
      }
      // settled: a second session has nothing to put on the queue
      const client = await connect(loc);
      const queue = openQueue(loc, client);
      try {
        expect((await enqueueStudy(queue, study, out)).finished).toHaveLength(4);
      } finally {
        await queue.close();
        client.disconnect();
      }
    } finally {
      await worker.close();
    }
  });

  it('a second driver of the same queue is refused while the first follows', async () => {
    const loc = parseQueueUrl(`${redis.url}?queue=drivers`);
    const out = join(tmp(), 'study');
    const first = runStudyOnQueue(STUDY, { location: loc, outDir: out, progress: false, pollMs: 100 });
    await new Promise((r) => setTimeout(r, 500));
    await expect(runStudyOnQueue(STUDY, { location: loc, outDir: out, progress: false })).rejects.toThrow(
      /this queue is being driven by .+:\d+ since/,
    );
    const worker = await startWorker({ location: loc, cliEntry: FAKE_TARM, backend: 'wasm', concurrency: 2 });
    try {
      expect((await first).ok).toBe(true);
    } finally {
      await worker.close();
    }
  });

  it('a worker that is stopped (close, as on SIGTERM) puts its running run back on the queue at once; another resumes it', async () => {
    const loc = parseQueueUrl(`${redis.url}?queue=stop`);
    const out = join(tmp(), 'study');
    const log = join(out, '..', 'invocations.log');
    const env = { ...process.env, FAKE_TARM_LOG: log, FAKE_TARM_STEP_MS: '200' }; // 2 s a run; progress once a second
    const a = await startWorker({ location: loc, cliEntry: FAKE_TARM, backend: 'wasm', env });
    const following = runStudyOnQueue(STUDY, { location: loc, outDir: out, progress: false, pollMs: 100 });
    const client = await connect(loc);
    const queue = openQueue(loc, client);
    try {
      let active: string | undefined;
      for (let t = 0; !active && t < 200; t++) {
        await new Promise((r) => setTimeout(r, 50));
        const [job] = await queue.getJobs(['active']);
        if (job && (job.progress as { step?: number })?.step) active = job.id;
      }
      expect(active).toBeDefined();
      await a.close();
      const job = (await queue.getJob(active!))!;
      expect(await job.getState()).toBe('waiting');
      expect(job.attemptsMade).toBe(0);
      const b = await startWorker({ location: loc, cliEntry: FAKE_TARM, backend: 'wasm', env });
      try {
        expect((await following).ok).toBe(true);
      } finally {
        await b.close();
      }
      expect(
        readFileSync(log, 'utf8')
          .split('\n')
          .filter((l) => l.startsWith(`${active} `)),
      ).toEqual([`${active} fresh`, `${active} resume`]);
    } finally {
      await queue.close();
      client.disconnect();
    }
  });

  it('a worker whose lock of a run is lost (Redis no longer has it) kills that training at once; the run is resumed, not repeated', async () => {
    const loc = parseQueueUrl(`${redis.url}?queue=lost`);
    const out = join(tmp(), 'study');
    const log = join(out, '..', 'invocations.log');
    const lines: string[] = [];
    // one run of 10 steps of 300 ms; the lock (1 s) is renewed every 500 ms
    const env = { ...process.env, FAKE_TARM_LOG: log, FAKE_TARM_STEP_MS: '300' };
    const worker = await startWorker({
      location: loc,
      cliEntry: FAKE_TARM,
      backend: 'wasm',
      env,
      lockDuration: 1000,
      stalledInterval: 500,
      log: (l) => lines.push(l),
    });
    const following = runStudyOnQueue(
      { ...STUDY, arms: [STUDY.arms[0]!], seeds: [1] },
      { location: loc, outDir: out, progress: false, pollMs: 100 },
    );
    const client = await connect(loc);
    const queue = openQueue(loc, client);
    try {
      let victim: string | undefined;
      for (let t = 0; !victim && t < 200; t++) {
        await new Promise((r) => setTimeout(r, 50));
        const [job] = await queue.getJobs(['active']);
        // its training has passed its first step, so the run folder holds a checkpoint (a run stopped before its
        // first checkpoint is trained again from step 0 in an emptied folder, not resumed)
        if (job?.progress && typeof job.progress === 'object' && ((job.progress as { step?: number }).step ?? 0) >= 2)
          victim = job.id;
      }
      expect(victim).toBe('dense-copy-s1');
      await client.del(`bull:lost:${victim}:lock`); // as after an outage longer than the lock
      expect((await following).ok).toBe(true);
      expect(lines, lines.join('\n')).toContain(`lost the lock of ${victim}: stopping it (another worker may take it)`);
      expect(
        readFileSync(log, 'utf8')
          .split('\n')
          .filter((l) => l.startsWith(`${victim} `)),
      ).toEqual([`${victim} fresh`, `${victim} resume`]);
    } finally {
      await worker.close();
      await queue.close();
      client.disconnect();
    }
  });
});
