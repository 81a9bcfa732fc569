// `tarm study --queue` and `tarm worker` against a real redis-server (Debian's; started here on 127.0.0.1 on a free
// port): workers in separate processes and working folders, a worker killed mid-run, Redis restarted mid-study, a
// password that must appear nowhere. Skipped, with a message, where redis-server is not installed.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { redisServerBinary, startTestRedis, type TestRedis } from '@tarm/test-utils/redis';
import { MAIN, tarm } from './tarm.js';

const HAVE_REDIS = redisServerBinary() !== undefined;
if (!HAVE_REDIS)
  console.warn('SKIPPED: the tarm worker / tarm study --queue tests need redis-server (apt-get install redis-server)');

const tmp = (what = 'q') => mkdtempSync(join(tmpdir(), `tarm-cli-${what}-`));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** 2 arms x 1 task x 3 seeds = 6 short runs, checkpointed every 5 steps (the evaluation interval). */
const STUDY = {
  name: 'six',
  description: 'six short runs for the queue tests',
  arms: [
    { name: 'dense', rung: 'dense' },
    { name: 'ut', rung: 'ut' },
  ],
  tasks: [{ name: 'copy', length: 4, evalLengths: [4] }],
  seeds: [1, 2, 3],
  config: {
    dModel: 16,
    nHeads: 2,
    budget: 2,
    steps: 60,
    batch: 8,
    lr: 1e-3,
    dropout: 0,
    decode: 'greedy',
    evalEvery: 5,
    evalN: 5,
  },
};
const IDS = ['dense-copy-s1', 'ut-copy-s1', 'dense-copy-s2', 'ut-copy-s2', 'dense-copy-s3', 'ut-copy-s3'];

interface Proc {
  readonly child: ChildProcess;
  /** stdout + stderr so far. */
  output(): string;
  readonly exit: Promise<number | null>;
}

const started: Proc[] = [];
const servers: TestRedis[] = [];

/** `tarm ...args` in its own process group (so that a kill takes its training children with it). */
function spawnTarm(args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Proc {
  const child = spawn(process.execPath, [MAIN, ...args], {
    cwd: o.cwd,
    env: o.env ?? process.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exit = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  const p = { child, output: () => out, exit };
  started.push(p);
  return p;
}

function killGroup(p: Proc, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(-p.child.pid!, signal);
  } catch {
    // already gone
  }
}

afterEach(async () => {
  for (const p of started.splice(0)) {
    if (p.child.exitCode === null && p.child.signalCode === null) {
      killGroup(p);
      await p.exit;
    }
  }
  for (const s of servers.splice(0)) await s.stop();
});

async function redisServer(password?: string, tls = false): Promise<TestRedis> {
  const s = await startTestRedis({ password, tls });
  servers.push(s);
  return s;
}

function writeStudy(dir: string, study: object = STUDY): string {
  const path = join(dir, 'study.json');
  writeFileSync(path, JSON.stringify(study, null, 2));
  return path;
}

/** Workers in separate processes, each in a working folder of its own. */
function workers(n: number, args: string[], env?: NodeJS.ProcessEnv): Proc[] {
  return Array.from({ length: n }, () =>
    spawnTarm(['worker', ...args, '--backend', 'wasm'], { cwd: tmp('worker'), env }),
  );
}

const checkpointStep = (out: string, id: string): number | undefined => {
  const path = join(out, 'runs', id, 'checkpoint', 'model.json');
  try {
    return JSON.parse(readFileSync(path, 'utf8')).meta.step;
  } catch {
    return undefined;
  }
};
const finished = (out: string, id: string) => existsSync(join(out, 'runs', id, 'summary.json'));
const sessions = (log: string) => log.split('\n').filter((l) => l.startsWith('# '));

/** The trained parameters and optimizer state of a run: its checkpoint's tensor list and the hash of its bytes. */
function finalState(out: string, id: string): { tensors: unknown; sha256: string; step: number } {
  const dir = join(out, 'runs', id, 'checkpoint');
  const model = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  const hash = createHash('sha256');
  for (const p of model.weightsManifest.flatMap((g: { paths: string[] }) => g.paths))
    hash.update(readFileSync(join(dir, p)));
  return {
    tensors: model.weightsManifest.map((g: { weights: unknown }) => g.weights),
    sha256: hash.digest('hex'),
    step: model.meta.step,
  };
}

/** results.json without what depends on the clock or the session (wall times, throughput, dates, sessions). */
function comparable(out: string): unknown {
  const r = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  const { generatedAt: _g, createdAt: _c, sessions: _s, wallSeconds: _w, ...rest } = r;
  return {
    ...rest,
    runs: r.runs.map(
      ({
        wallSeconds: _rw,
        tokensPerSecond: _t,
        curve,
        ...run
      }: {
        wallSeconds: unknown;
        tokensPerSecond: unknown;
        curve: { wallSeconds: unknown }[];
      }) => ({
        ...run,
        curve: curve.map(({ wallSeconds: _cw, ...p }) => p),
      }),
    ),
  };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe.skipIf(!HAVE_REDIS)('tarm study --queue with tarm workers (real redis-server)', () => {
  it(
    '3 workers share 6 runs; one is SIGKILLed mid-run; its run resumes from its checkpoint on another; every run bit-identical to the local study, same results.json',
    { timeout: 300_000 },
    async () => {
      const dir = tmp();
      const file = writeStudy(dir);
      const local = join(dir, 'local');
      const queued = join(dir, 'queued');
      const ref = await tarm(['study', '--config', file, '--out', local, '--backend', 'wasm', '--workers', '2']);
      expect(ref.code, ref.stderr).toBe(0);

      const redis = await redisServer();
      const ws = workers(3, ['--queue', redis.url, '--lock-duration', '2000', '--stalled-interval', '1000']);
      const driver = spawnTarm(['study', '--config', file, '--queue', redis.url, '--out', queued]);

      // kill the worker of a run that has checkpointed past its start and is far from its end
      let victim: { worker: number; id: string } | undefined;
      for (let t = 0; !victim && t < 2400; t++) {
        for (const [i, w] of ws.entries()) {
          for (const [, id] of w.output().matchAll(/tarm worker: started (\S+)/g)) {
            const step = checkpointStep(queued, id!);
            if (!victim && step !== undefined && step >= 10 && step <= 40 && !finished(queued, id!)) {
              killGroup(w);
              victim = { worker: i, id: id! };
            }
          }
        }
        await sleep(50);
      }
      expect(victim, 'no run was caught mid-run').toBeDefined();
      const { id } = victim!;
      await ws[victim!.worker]!.exit;
      const left = checkpointStep(queued, id)!; // the checkpoint the dead worker left behind
      expect(left).toBeGreaterThanOrEqual(10);

      // status shows the runs across the workers
      const status = await tarm(['study', 'status', queued, '--queue', redis.url]);
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toMatch(
        /^study six \(.+\) on redis:\/\/127\.0\.0\.1:\d+\/0: \d\/6 done, \d running, 0 failed, \d left/,
      );
      expect(status.stdout).toMatch(/^workers: [^,\s]+:\d+, [^,\s]+:\d+$/m); // the two left

      expect(await driver.exit, driver.output()).toBe(0);
      expect(driver.output()).toMatch(
        new RegExp(`study ${queued}: 6 of 6 runs finished \\(\\d in this session\\), 0 failed`),
      );
      // the killed run was taken over and resumed from the dead worker's checkpoint, not from scratch
      const log = readFileSync(join(queued, 'logs', `${id}.log`), 'utf8');
      expect(sessions(log)).toHaveLength(2);
      expect(sessions(log)[1]).toContain('--resume');
      const survivors = ws
        .filter((_, i) => i !== victim!.worker)
        .map((w) => w.output())
        .join('\n');
      expect(survivors).toContain(`tarm worker: resuming ${id} from step ${left} `);
      expect(survivors).toMatch(new RegExp(`tarm worker: finished ${id} in [\\d.]+s \\(resumed from step ${left}\\)`));
      // its metrics: one line per step logged, none repeated, none missing (the resumed part continues the first)
      const losses = readFileSync(join(queued, 'runs', id, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .filter((l) => l.kind === 'loss')
        .map((l) => l.step);
      expect(losses).toEqual([10, 20, 30, 40, 50, 60]);
      for (const other of IDS.filter((x) => x !== id))
        expect(sessions(readFileSync(join(queued, 'logs', `${other}.log`), 'utf8'))).toHaveLength(1);

      // every run's final parameters and optimizer state: bit for bit those of the local study
      for (const run of IDS) {
        const a = finalState(local, run);
        expect(a.step).toBe(60);
        expect(finalState(queued, run), run).toEqual(a);
      }
      expect(comparable(queued)).toEqual(comparable(local));
      for (const w of ws) killGroup(w, 'SIGTERM');
    },
  );

  it(
    'Redis killed and restarted mid-study: the workers reconnect, the study completes, no run is repeated',
    { timeout: 300_000 },
    async () => {
      const dir = tmp();
      const file = writeStudy(dir);
      const out = join(dir, 'out');
      const redis = await redisServer();
      const ws = workers(2, ['--queue', redis.url, '--lock-duration', '10000', '--stalled-interval', '2000']);
      const driver = spawnTarm(['study', '--config', file, '--queue', redis.url, '--out', out]);
      for (
        let t = 0;
        t < 2400 &&
        !(
          IDS.some((x) => finished(out, x)) &&
          IDS.some((x) => !finished(out, x) && checkpointStep(out, x) !== undefined)
        );
        t++
      )
        await sleep(50);
      expect(IDS.filter((x) => finished(out, x)).length).toBeLessThan(6);
      await redis.kill();
      await sleep(1500);
      await redis.start();
      expect(await driver.exit, driver.output()).toBe(0);
      expect(driver.output()).toMatch(
        new RegExp(`study ${out}: 6 of 6 runs finished \\(\\d in this session\\), 0 failed`),
      );
      for (const x of IDS) expect(sessions(readFileSync(join(out, 'logs', `${x}.log`), 'utf8')), x).toHaveLength(1);
      const all = ws.map((w) => w.output()).join('\n');
      expect(all).toMatch(/tarm worker: redis: /); // they saw Redis go
      for (const x of IDS)
        expect(all.match(new RegExp(`tarm worker: (started|resuming) ${x} `, 'g')), x).toHaveLength(1);
      for (const w of ws) killGroup(w, 'SIGTERM');
    },
  );

  it(
    'the password of redis://:PASSWORD@... appears in no output and no file; a wrong one is refused without being shown',
    { timeout: 300_000 },
    async () => {
      const password = 'secret-Zq7-pw';
      const redis = await redisServer(password);
      const dir = tmp();
      const out = join(dir, 'out');
      const file = writeStudy(dir, {
        ...STUDY,
        arms: [STUDY.arms[0]],
        seeds: [1, 2],
        config: { ...STUDY.config, steps: 20 },
      });
      // the worker reads the URL from TARM_QUEUE (kept out of the process list), the study from --queue
      const [w] = workers(1, [], { ...process.env, TARM_QUEUE: redis.url });
      // --detach enqueues and returns; the same command without it follows to the end
      const detached = await tarm(['study', '--config', file, '--queue', redis.url, '--out', out, '--detach']);
      expect(detached.code, detached.stderr).toBe(0);
      expect(detached.stderr).toMatch(/tarm: queue redis:\/\/127\.0\.0\.1:\d+\/0: 2 runs enqueued/);
      expect(detached.stdout).toMatch(/2 runs on redis:\/\/127\.0\.0\.1:\d+\/0; follow with: tarm study status/);
      const driver = spawnTarm(['study', '--config', file, '--queue', redis.url, '--out', out]);
      expect(await driver.exit, driver.output()).toBe(0);
      expect(driver.output()).toMatch(/0 runs enqueued, \d already queued/);
      const status = await tarm(['study', 'status', '--queue', redis.url]);
      expect(status.stdout).toContain('2/2 done');
      const folder = await tarm(['study', 'status', out]);
      expect(folder.stdout).toMatch(/^study six \(.+\): 2\/2 done, 0 running, 0 failed, 0 left/);
      const wrong = await tarm(['study', 'status', '--queue', `redis://:not-${password}@127.0.0.1:${redis.port}`]);
      expect(wrong.code).toBe(2);
      expect(wrong.stderr).toMatch(/^tarm: cannot reach the queue at redis:\/\/127\.0\.0\.1:\d+\/0: WRONGPASS/);
      const bad = await tarm(['worker', '--queue', `redis://:${password}@127.0.0.1:${redis.port}/zz`]);
      expect(bad.code).toBe(2);
      killGroup(w!, 'SIGTERM');
      await w!.exit;

      const outputs = [
        detached.stdout,
        detached.stderr,
        driver.output(),
        w!.output(),
        status.stdout,
        status.stderr,
        folder.stdout,
        folder.stderr,
        wrong.stdout,
        wrong.stderr,
        bad.stdout,
        bad.stderr,
      ];
      expect(outputs.join('\n')).toMatch(/2 of 2 runs finished \(\d in this session\), 0 failed/);
      for (const o of outputs) expect(o).not.toContain(password);
      const files = filesUnder(out);
      expect(files.length).toBeGreaterThan(10);
      for (const f of files) expect(readFileSync(f).includes(password), f).toBe(false);
    },
  );

  it(
    'tarm report DIR after a detached study: collects the run folders the workers wrote (issue 30)',
    { timeout: 300_000 },
    async () => {
      const redis = await redisServer();
      const dir = tmp();
      const out = join(dir, 'out');
      const file = writeStudy(dir, {
        ...STUDY,
        arms: [STUDY.arms[0]],
        seeds: [1, 2],
        config: { ...STUDY.config, steps: 10 },
      });
      const detached = await tarm(['study', '--config', file, '--queue', redis.url, '--out', out, '--detach']);
      expect(detached.code, detached.stderr).toBe(0);
      const [w] = workers(1, ['--queue', redis.url]);
      let status = '';
      for (let t = 0; t < 240 && !/2\/2 done/.test(status); t++) {
        await sleep(1000);
        status = (await tarm(['study', 'status', out])).stdout;
      }
      expect(status).toMatch(/2\/2 done/);
      expect(existsSync(join(out, 'results.json'))).toBe(false); // nobody followed the study to write it
      const report = await tarm(['report', out]);
      expect(report.code, report.stderr).toBe(0);
      expect(report.stderr).toContain(`tarm: collected 2 run folders of ${out} into results.json (2 finished)`);
      expect(report.stdout).toContain(`wrote ${join(out, 'report.md')}`);
      killGroup(w!, 'SIGTERM');
      await w!.exit;
    },
  );

  it(
    'rediss://: enqueue and status over TLS, the server certificate checked (refused without its CA)',
    { timeout: 120_000 },
    async () => {
      const redis = await redisServer(undefined, true);
      expect(redis.url).toMatch(/^rediss:\/\/127\.0\.0\.1:\d+$/);
      const dir = tmp();
      const out = join(dir, 'out');
      const file = writeStudy(dir, { ...STUDY, arms: [STUDY.arms[0]], seeds: [1, 2] });
      const trusting = { ...process.env, NODE_EXTRA_CA_CERTS: redis.caFile! };
      const untrusted = await tarm(['study', 'status', '--queue', redis.url]);
      expect(untrusted.code).toBe(2);
      expect(untrusted.stderr).toMatch(
        /cannot reach the queue at rediss:\/\/127\.0\.0\.1:\d+\/0: .*(self.signed|unable to (verify|get)).*certificate/i,
      );
      const enqueued = await tarm(
        ['study', '--config', file, '--queue', redis.url, '--out', out, '--detach'],
        trusting,
      );
      expect(enqueued.code, enqueued.stderr).toBe(0);
      expect(enqueued.stderr).toContain('2 runs enqueued');
      const status = await tarm(['study', 'status', '--queue', redis.url], trusting);
      expect(status.stdout).toMatch(
        /^study six \(.+\) on rediss:\/\/127\.0\.0\.1:\d+\/0: 0\/2 done, 0 running, 0 failed, 2 left/,
      );
    },
  );
});
