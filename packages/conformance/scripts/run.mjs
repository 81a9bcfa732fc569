#!/usr/bin/env node
// Runs the conformance suite once per backend (each in its own vitest process, TARM_BACKEND set).
//
//   node scripts/run.mjs [--skip-unavailable] [--bench] BACKEND...
//
// Before each run, the backend is set up in a short probe process. When that fails:
// - with --skip-unavailable (test:all, bench) the backend is skipped and the reason printed;
// - without it (test, test:node, test:webgpu) the run fails, with the same reason.
// --bench runs test/speed.test.ts (training-step speed) instead of the conformance suite.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(dirname(fileURLToPath(import.meta.url)));
const args = process.argv.slice(2);
const skipUnavailable = args.includes('--skip-unavailable');
const bench = args.includes('--bench');
const backends = args.filter((a) => !a.startsWith('--'));
const known = ['cpu', 'wasm', 'node', 'webgpu'];
for (const b of backends) {
  if (!known.includes(b)) {
    console.error(`run.mjs: unknown backend ${b}; expected ${known.join(', ')}`);
    process.exit(2);
  }
}
if (backends.length === 0) {
  console.error('usage: node scripts/run.mjs [--skip-unavailable] [--bench] BACKEND...');
  process.exit(2);
}

const require = createRequire(import.meta.url);
const vitestPkg = require.resolve('vitest/package.json');
const vitestBin = join(dirname(vitestPkg), JSON.parse(readFileSync(vitestPkg, 'utf8')).bin.vitest);

const probe = `
const { useBackend } = await import('@tarm/core');
try {
  await useBackend(process.argv[1]);
} catch (e) {
  console.error(String(e?.message ?? e).split('\\n')[0]);
  process.exit(3);
}`;

const results = [];
for (const backend of backends) {
  const t0 = Date.now();
  console.log(`\n=== ${backend}: setting up`);
  const p = spawnSync(process.execPath, ['--input-type=module', '-e', probe, backend], {
    cwd: here,
    encoding: 'utf8',
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: process.env.TF_CPP_MIN_LOG_LEVEL ?? '2' },
  });
  if (p.status !== 0) {
    const reason =
      (p.stderr || p.stdout || `exit ${p.status}`)
        .trim()
        .split('\n')
        .filter((l) => !/^Warning:|^\s+at /.test(l))
        .pop() ?? '';
    if (skipUnavailable) {
      console.log(`=== ${backend}: SKIPPED, setup failed: ${reason}`);
      results.push({ backend, status: 'skipped', reason });
    } else {
      console.log(`=== ${backend}: FAILED, setup failed: ${reason}`);
      results.push({ backend, status: 'failed', reason: `setup: ${reason}` });
    }
    continue;
  }
  console.log(`=== ${backend}: running ${bench ? 'test/speed.test.ts' : 'the conformance suite'}`);
  const files = bench ? ['test/speed.test.ts'] : ['test/conformance.test.ts'];
  const r = spawnSync(process.execPath, [vitestBin, 'run', ...files], {
    cwd: here,
    stdio: 'inherit',
    env: {
      ...process.env,
      TARM_BACKEND: backend,
      TARM_BENCH: bench ? '1' : '',
      TF_CPP_MIN_LOG_LEVEL: process.env.TF_CPP_MIN_LOG_LEVEL ?? '2',
    },
  });
  const secs = ((Date.now() - t0) / 1000).toFixed(0);
  results.push({
    backend,
    status: r.status === 0 ? 'passed' : 'failed',
    reason: r.status === 0 ? `${secs} s` : `vitest exit ${r.status ?? r.signal}`,
  });
}

console.log('\n=== conformance summary');
for (const r of results) console.log(`  ${r.backend.padEnd(7)} ${r.status.toUpperCase().padEnd(8)} ${r.reason}`);
process.exit(results.some((r) => r.status === 'failed') ? 1 : 0);
