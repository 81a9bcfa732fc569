#!/usr/bin/env node
// node tools/bench/queue-workers.mjs [--workers 1,2,3] [--seeds 6] [--backend wasm]
//
// Runs per hour of `tarm study --queue` with 1, 2, 3 `tarm worker` processes on this machine: the smoke preset's
// configuration (dense and dual-ut on copy, C 32, budget 2, 20 steps of batch 16) over `--seeds` seeds, on a
// redis-server started here (Debian's; 127.0.0.1, a free port). Each worker count gets a fresh study folder and a
// fresh queue. Prints one line per count and a JSON line. Build first (npm run build). See docs/distributed.md.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestRedis } from '@tarm/test-utils/redis';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const MAIN = join(ROOT, 'apps/cli/dist/main.js');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const counts = arg('workers', '1,2,3').split(',').map(Number);
const seeds = Array.from({ length: Number(arg('seeds', '6')) }, (_, i) => i + 1).join(',');
const backend = arg('backend', 'wasm');

const run = (args, opts = {}) => {
  const child = spawn(process.execPath, [MAIN, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
    ...opts,
  });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  return { child, exit: new Promise((r) => child.on('close', (code) => r({ code, err }))) };
};

const redis = await startTestRedis();
const rows = [];
try {
  for (const n of counts) {
    const dir = mkdtempSync(join(tmpdir(), 'tarm-bench-queue-'));
    const url = `${redis.url}?queue=bench-${n}`;
    const workers = Array.from({ length: n }, () =>
      run(['worker', '--queue', url, '--backend', backend], { cwd: dir }),
    );
    const t0 = performance.now();
    const { code, err } = await run([
      'study',
      '--preset',
      'smoke',
      '--seeds',
      seeds,
      '--queue',
      url,
      '--out',
      join(dir, 'out'),
    ]).exit;
    const seconds = (performance.now() - t0) / 1000;
    for (const w of workers) process.kill(-w.child.pid, 'SIGTERM');
    await Promise.all(workers.map((w) => w.exit));
    if (code !== 0) throw new Error(`study with ${n} workers exited ${code}: ${err.slice(-2000)}`);
    const runs = 2 * seeds.split(',').length;
    const row = {
      workers: n,
      runs,
      seconds: Number(seconds.toFixed(1)),
      runsPerHour: Math.round((runs / seconds) * 3600),
    };
    rows.push(row);
    console.log(`${n} worker${n === 1 ? '' : 's'}: ${runs} runs in ${row.seconds}s = ${row.runsPerHour} runs/hour`);
    rmSync(dir, { recursive: true, force: true });
  }
} finally {
  await redis.stop();
}
console.log(JSON.stringify({ backend, rows }));
