#!/usr/bin/env node
// npm run bench [-- --json] [--quick] [--backends wasm,node] [--models dense,ut] [--budget cpu=300] [--no-torch]
//
// Training tokens/s of the ladder on every tfjs backend (cpu, wasm, node, webgpu), next to a float32 PyTorch
// implementation of the same models (tools/bench/torch_ladder.py) measured in the same run:
//   (a) dense, d_model 128, 4 heads, budget 4, batch 64, addition L = 10 (T = 33: 2112 tokens a step)
//   (b) every rung at budget 12, same width, batch and task
//   decoding: greedy, batch 100 addition problems at L = 10 (tokens generated / s), model (a) with the KV cache
//     (the main row) and without it (recomputing the prefix every token), and ar-trm at budget 12 with the cache
// Each backend runs in its own child process (tools/bench/worker.mjs); a backend that cannot run becomes rows with
// a `reason`. Warm-up steps, then the median of timed steps; slow backends get fewer steps through a per-backend
// time budget. See docs/performance.md.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const ALL_BACKENDS = ['wasm', 'node', 'cpu', 'webgpu'];
const RUNGS = ['dense', 'iterative', 'iterative-step', 'ut', 'dual-ut', 'dual-nested-ut', 'ar-trm'];
/** Which PyTorch thread count each backend is compared with (tfjs wasm is single-threaded in Node; cpu is JS). */
const REFERENCE_THREADS = { wasm: 1, cpu: 1, node: 2, webgpu: 2 };
const THREAD_NOTES = {
  wasm: '1 (tfjs-backend-wasm has no threads in Node)',
  cpu: '1 (plain JavaScript)',
  node: `libtensorflow's own pools (${os.cpus().length} = cores, unless TF_NUM_INTRAOP_THREADS is set)`,
  webgpu: `Dawn on Mesa llvmpipe here (LP_NUM_THREADS, default ${os.cpus().length} = cores); a real GPU elsewhere`,
};
/** Seconds of measurement per backend (whole items are skipped, with a reason, once it is spent). */
const DEFAULT_BUDGET = { wasm: 200, node: 100, cpu: 90, webgpu: 200, torch: 60 };

// --- arguments -----------------------------------------------------------------------------------------------------
const HELP = `npm run bench -- [options]
  --json                 print one JSON object {"rows":[...]} as the last stdout line (the table goes to stderr)
  --quick                fewer warm-up/timed steps and half the time budgets (a smoke run, ~3-4 minutes)
  --backends a,b         backends to run (default ${ALL_BACKENDS.join(',')})
  --models a,b           rungs for the budget-12 rows (default all seven)
  --budget name=seconds  time budget of a backend or of torch (per thread count), e.g. --budget cpu=900
  --node-threads N       set TF_NUM_INTRAOP_THREADS/TF_NUM_INTEROP_THREADS for the node backend (default: TF's own)
  --rounds N             repeat the whole measurement (PyTorch, then each backend) N times; rows give medians
                         over rounds and the median and range of the per-round ratios (default 1)
  --no-torch             skip the PyTorch reference
  --no-setup             never run the node backend's setup command
  --help`;
const args = process.argv.slice(2);
const opt = {
  json: false,
  quick: false,
  backends: ALL_BACKENDS,
  models: RUNGS,
  budget: { ...DEFAULT_BUDGET },
  budgetGiven: new Set(),
  torch: true,
  setup: true,
  nodeThreads: undefined,
  rounds: 1,
};
for (let i = 0; i < args.length; i++) {
  const [name, inline] =
    args[i].startsWith('--') && args[i].includes('=')
      ? [args[i].slice(0, args[i].indexOf('=')), args[i].slice(args[i].indexOf('=') + 1)]
      : [args[i], undefined];
  const val = () => {
    const v = inline ?? args[++i];
    if (v === undefined) fail(`${name} needs a value`);
    return v;
  };
  if (name === '--json') opt.json = true;
  else if (name === '--quick') opt.quick = true;
  else if (name === '--no-torch') opt.torch = false;
  else if (name === '--no-setup') opt.setup = false;
  else if (name === '--backends') opt.backends = list(val(), ALL_BACKENDS, '--backends');
  else if (name === '--models') opt.models = list(val(), RUNGS, '--models');
  else if (name === '--node-threads') opt.nodeThreads = positiveInt(val(), '--node-threads');
  else if (name === '--rounds') opt.rounds = positiveInt(val(), '--rounds');
  else if (name === '--budget') {
    for (const kv of val().split(',')) {
      const [k, s] = kv.split('=');
      if (!(k in DEFAULT_BUDGET) || !(Number(s) > 0))
        fail(
          `--budget takes name=seconds with name in ${Object.keys(DEFAULT_BUDGET).join(', ')} (got ${JSON.stringify(kv)})`,
        );
      opt.budget[k] = Number(s);
      opt.budgetGiven.add(k);
    }
  } else if (name === '--help' || name === '-h') {
    console.log(HELP);
    process.exit(0);
  } else fail(`unknown option ${args[i]}`);
}
if (opt.quick) for (const k of Object.keys(opt.budget)) if (!opt.budgetGiven.has(k)) opt.budget[k] /= 2;

function fail(msg) {
  console.error(`bench: ${msg}\n\n${HELP}`);
  process.exit(2);
}
function list(v, allowed, flag) {
  const xs = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = xs.find((x) => !allowed.includes(x));
  if (bad || xs.length === 0) fail(`${flag}: ${JSON.stringify(bad ?? v)} is not one of ${allowed.join(', ')}`);
  return xs;
}
function positiveInt(v, flag) {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) fail(`${flag} needs an integer >= 1 (got ${v})`);
  return n;
}

const out = opt.json ? (s) => process.stderr.write(s + '\n') : (s) => process.stdout.write(s + '\n');
const progress = (s) => process.stderr.write(`[bench] ${s}\n`);

// --- the plan ------------------------------------------------------------------------------------------------------
const steps = opt.quick
  ? { a: [1, 3], b: [1, 2], decode: [1, 1], torchA: [2, 5], torchB: [1, 3], torchDecode: [1, 2] }
  : { a: [2, 5], b: [1, 3], decode: [1, 2], torchA: [3, 10], torchB: [2, 5], torchDecode: [1, 3] };
const slow = (b) => b === 'cpu' || b === 'webgpu';
function itemsFor(who) {
  // Slow backends: fewer steps. cpu compiles nothing, so its budget-12 rows (same shapes as (a)) skip the warm-up;
  // webgpu compiles shaders for new ops on a model's first step, so it keeps one.
  const [aw, at] = who === 'torch' ? steps.torchA : slow(who) ? [1, 2] : steps.a;
  const [bw, bt] = who === 'torch' ? steps.torchB : who === 'cpu' ? [0, 1] : who === 'webgpu' ? [1, 1] : steps.b;
  const [dw, dt] = who === 'torch' ? steps.torchDecode : steps.decode;
  return [
    { kind: 'train', config: 'a', model: 'dense', budget: 4, warmup: aw, timed: at },
    ...opt.models.map((model) => ({ kind: 'train', config: 'b', model, budget: 12, warmup: bw, timed: bt })),
    { kind: 'decode', config: 'a', model: 'dense', budget: 4, warmup: dw, timed: dt, batch: 100, cache: true },
    { kind: 'decode', config: 'a', model: 'dense', budget: 4, warmup: dw, timed: dt, batch: 100, cache: false },
    { kind: 'decode', config: 'b', model: 'ar-trm', budget: 12, warmup: dw, timed: dt, batch: 100, cache: true },
  ];
}
const TORCH_OMP_WAIT_POLICY = process.env.OMP_WAIT_POLICY ?? 'PASSIVE';
const shared = { task: 'addition', L: 10, batchSize: 64, dModel: 128, nHeads: 4, dropout: 0.1 };

// --- child processes -----------------------------------------------------------------------------------------------
/** Runs a child, streams its stderr as progress, returns {results, code, tail}. Never throws. */
function runChild(cmd, argv, env = {}, timeoutS = 900) {
  return new Promise((resolve) => {
    const results = [];
    let buf = '';
    let errTail = '';
    let child;
    try {
      child = spawn(cmd, argv, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      resolve({ results, code: -1, tail: String(e?.message ?? e) });
      return;
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutS * 1000);
    child.stdout.on('data', (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith('BENCH_RESULT ')) {
          try {
            results.push(JSON.parse(line.slice('BENCH_RESULT '.length)));
          } catch {
            /* a torn line: ignore */
          }
        }
      }
    });
    child.stderr.on('data', (d) => {
      const s = String(d);
      errTail = (errTail + s).slice(-4000);
      for (const line of s.split('\n')) if (line.startsWith('[bench')) process.stderr.write(line + '\n');
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ results, code: -1, tail: String(e?.message ?? e) });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ results, code: code ?? -1, signal, tail: errTail });
    });
  });
}
const lastMeaningfulLine = (s) =>
  String(s)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('at ') && !l.startsWith('Warning:') && !l.startsWith('[bench'))
    .pop() ?? '';

async function runBackend(backend) {
  const plan = { ...shared, backend, budgetSeconds: opt.budget[backend], items: itemsFor(backend) };
  const env = { TF_CPP_MIN_LOG_LEVEL: process.env.TF_CPP_MIN_LOG_LEVEL ?? '2' };
  if (backend === 'node' && opt.nodeThreads)
    Object.assign(env, {
      TF_NUM_INTRAOP_THREADS: String(opt.nodeThreads),
      TF_NUM_INTEROP_THREADS: String(opt.nodeThreads),
    });
  const go = () =>
    runChild(
      process.execPath,
      [path.join(HERE, 'worker.mjs'), JSON.stringify(plan)],
      env,
      opt.budget[backend] * 3 + 120,
    );
  let r = await go();
  let setup = r.results.find((x) => x.kind === 'setup');
  let setupNote;
  if (backend === 'node' && setup?.reason && opt.setup) {
    const cmd = path.join(ROOT, 'tools/backend-node/setup.sh');
    if (!existsSync(cmd)) {
      setupNote =
        'the node backend is not installed and this checkout has no setup command (tools/backend-node/setup.sh)';
    } else {
      progress(
        `node backend unavailable (${setup.reason}); running its setup command: bash tools/backend-node/setup.sh`,
      );
      const s = spawnSync('bash', [cmd], { cwd: ROOT, encoding: 'utf8', timeout: 900_000 });
      for (const line of String(s.stdout ?? '').split('\n')) if (line.trim()) progress(line);
      if (s.status !== 0) {
        setupNote = `its setup command failed: ${lastMeaningfulLine((s.stderr ?? '') + (s.error ? String(s.error.message) : '')) || `exit ${s.status}`}`;
      } else {
        r = await go();
        setup = r.results.find((x) => x.kind === 'setup');
        setupNote =
          setup && !setup.reason
            ? 'installed by this run through tools/backend-node/setup.sh'
            : 'tools/backend-node/setup.sh ran and succeeded, but the backend still does not load';
      }
    }
  }
  let reason;
  if (!setup)
    reason = `the worker process died before setting the backend up (exit ${r.code}${r.signal ? `, ${r.signal}` : ''}): ${lastMeaningfulLine(r.tail)}`;
  else if (setup.reason) reason = setup.reason + (setupNote ? `; ${setupNote}` : '');
  const byKey = new Map(r.results.filter((x) => x.kind !== 'setup').map((x) => [key(x), x]));
  return plan.items.map((item) => {
    const got = byKey.get(key(item));
    if (got) return { ...got, setupNote };
    const why =
      reason ??
      `no result: the worker process ended early (exit ${r.code}${r.signal ? `, ${r.signal}` : ''}): ${lastMeaningfulLine(r.tail)}`;
    return {
      backend,
      kind: item.kind,
      config: item.config,
      model: item.model,
      budget: item.budget,
      cache: item.cache,
      reason: why,
    };
  });
}
const key = (x) => `${x.kind}|${x.model}|${x.budget}|${x.kind === 'decode' ? x.cache !== false : ''}`;

function findPython() {
  const venv = path.join(ROOT, '.venv/bin/python');
  const ok = (py) => spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
  if (existsSync(venv) && ok(venv)) return { py: venv };
  const setup = path.join(ROOT, 'tools/torch/setup.sh');
  if (existsSync(setup)) {
    progress('no .venv with torch: running tools/torch/setup.sh (offline wheel index)');
    const s = spawnSync('bash', [setup], { cwd: ROOT, encoding: 'utf8', timeout: 600_000 });
    if (s.status === 0 && ok(venv)) return { py: venv };
    return {
      reason: `PyTorch unavailable: tools/torch/setup.sh failed: ${lastMeaningfulLine(s.stderr) || `exit ${s.status}`}`,
    };
  }
  return { reason: 'PyTorch unavailable: no .venv with torch and no tools/torch/setup.sh' };
}

async function runTorch(threads, py) {
  const plan = { ...shared, items: itemsFor('torch') };
  // OpenMP's default spin-waiting collapses under oversubscription (a shared machine): 2-thread torch measured 3x
  // slower than 1-thread with other processes on the cores, and on par with PASSIVE waiting otherwise.
  const env = { OMP_WAIT_POLICY: TORCH_OMP_WAIT_POLICY };
  const r = await runChild(
    py,
    [
      path.join(HERE, 'torch_ladder.py'),
      '--threads',
      String(threads),
      '--plan',
      JSON.stringify(plan),
      '--budget',
      String(opt.budget.torch),
    ],
    env,
    opt.budget.torch * 4 + 120,
  );
  const map = new Map();
  for (const x of r.results) if (x.kind !== 'setup') map.set(key(x), x);
  for (const item of plan.items) {
    if (!map.has(key(item)))
      map.set(key(item), {
        reason: `PyTorch x${threads} gave no result (exit ${r.code}): ${lastMeaningfulLine(r.tail)}`,
      });
  }
  return { map, version: r.results.find((x) => x.kind === 'setup')?.torch };
}

// --- run -----------------------------------------------------------------------------------------------------------
const t0 = Date.now();
const loadStart = os.loadavg();
progress(
  `backends ${opt.backends.join(', ')}; ${os.cpus().length} CPUs, load average ${loadStart.map((x) => x.toFixed(2)).join(' ')}${opt.quick ? '; --quick' : ''}`,
);
const missingDist = ['core', 'recursion', 'train', 'tasks', 'layers'].filter(
  (p) => !existsSync(path.join(ROOT, 'packages', p, 'dist/index.js')),
);
if (missingDist.length) {
  progress(`packages not built (${missingDist.join(', ')}): running npm run build`);
  spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
}

let torchReason;
let torchVersion;
/** One round: the PyTorch reference, then every backend in its own process; returns the rows of this round. */
async function measureRound() {
  const torch = { 1: undefined, 2: undefined };
  if (opt.torch) {
    const found = findPython();
    if (found.reason) torchReason = found.reason;
    else {
      const needed = [...new Set(opt.backends.map((b) => REFERENCE_THREADS[b]).concat([1, 2]))].sort();
      for (const th of needed) {
        progress(`PyTorch reference, ${th} thread(s)`);
        const r = await runTorch(th, found.py);
        torch[th] = r.map;
        torchVersion ??= r.version;
      }
    }
  } else torchReason = 'PyTorch reference skipped (--no-torch)';

  const rows = [];
  for (const backend of opt.backends) {
    progress(`${backend}: starting (time budget ${opt.budget[backend]} s)`);
    const load0 = os.loadavg()[0];
    const results = await runBackend(backend);
    for (const r of results) {
      const th = backend === 'node' && opt.nodeThreads ? Math.min(opt.nodeThreads, 2) : REFERENCE_THREADS[backend];
      const ref = torch[th]?.get(key(r));
      const ref1 = torch[1]?.get(key(r));
      const ref2 = torch[2]?.get(key(r));
      const tps = r.tokensPerSecond ?? null;
      const refTps = ref?.tokensPerSecond ?? null;
      const row = {
        backend,
        model: r.model,
        kind: r.kind,
        config: r.config,
        budget: r.budget,
        ...(r.kind === 'decode' ? { cache: r.cache !== false } : {}),
        tokensPerSecond: round(tps),
        referenceTokensPerSecond: round(refTps),
        ratio: tps && refTps ? round(tps / refTps, 3) : null,
        reference: `pytorch ${torchVersion ?? ''} float32, ${th} thread${th > 1 ? 's' : ''}`.replace('  ', ' '),
        referenceThreads: th,
        threads: THREAD_NOTES[backend],
        ratio1Thread: tps && ref1?.tokensPerSecond ? round(tps / ref1.tokensPerSecond, 3) : null,
        ratio2Threads: tps && ref2?.tokensPerSecond ? round(tps / ref2.tokensPerSecond, 3) : null,
        reference1Thread: round(ref1?.tokensPerSecond ?? null),
        reference2Threads: round(ref2?.tokensPerSecond ?? null),
        tokensPerCpuSecond: round(r.tokensPerCpuSecond ?? null),
        referenceTokensPerCpuSecond: round(ref1?.tokensPerCpuSecond ?? null),
        // single-threaded pairs only: tfjs tokens per CPU-second / PyTorch x1 tokens per CPU-second (robust to load)
        cpuTimeRatio:
          REFERENCE_THREADS[backend] === 1 && r.tokensPerCpuSecond && ref1?.tokensPerCpuSecond
            ? round(r.tokensPerCpuSecond / ref1.tokensPerCpuSecond, 3)
            : null,
        passes: r.passes ?? null,
        referencePasses: ref?.passes ?? null,
        stepMs: round(r.stepMs ?? r.decodeMs ?? null, 1),
        warmup: r.warmupSteps ?? r.warmupRuns ?? null,
        timed: r.timedSteps ?? r.timedRuns ?? null,
        loadAvg: r.loadAvg ?? [round(load0, 2)],
      };
      if (r.reason) row.reason = r.reason;
      if (!r.reason && !refTps) row.referenceReason = ref?.reason ?? torchReason ?? 'no PyTorch measurement';
      if (r.setupNote) row.setupNote = r.setupNote;
      rows.push(row);
    }
  }
  return rows;
}

const roundRows = [];
for (let r = 0; r < opt.rounds; r++) {
  if (opt.rounds > 1) progress(`round ${r + 1} of ${opt.rounds}`);
  roundRows.push(await measureRound());
}
const rows = opt.rounds === 1 ? roundRows[0] : combineRounds(roundRows);

/**
 * Several rounds: one row per measurement with the medians over rounds of tok/s (tfjs and PyTorch, each) and the
 * median of the per-round ratios, plus their range (`ratioRange`, `cpuTimeRatioRange`) and `rounds`.
 */
function combineRounds(all) {
  const med = (xs) => {
    const v = xs.filter((x) => x !== null && x !== undefined && Number.isFinite(x)).sort((a, b) => a - b);
    if (!v.length) return null;
    const m = v.length >> 1;
    return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
  };
  const range = (xs) => {
    const v = xs.filter((x) => x !== null && Number.isFinite(x));
    return v.length ? [Math.min(...v), Math.max(...v)] : null;
  };
  return all[0].map((first, i) => {
    const same = all.map((rs) => rs[i]);
    const pick = (f) => same.map((r) => r?.[f] ?? null);
    const row = { ...first, rounds: all.length };
    for (const f of [
      'tokensPerSecond',
      'referenceTokensPerSecond',
      'reference1Thread',
      'reference2Threads',
      'tokensPerCpuSecond',
      'referenceTokensPerCpuSecond',
      'stepMs',
      'passes',
      'referencePasses',
    ])
      row[f] = round(med(pick(f)), f === 'stepMs' ? 1 : 0);
    for (const f of ['ratio', 'ratio1Thread', 'ratio2Threads', 'cpuTimeRatio']) row[f] = round(med(pick(f)), 3);
    row.ratioRange = range(pick('ratio'));
    row.cpuTimeRatioRange = range(pick('cpuTimeRatio'));
    row.loadAvg = [
      round(Math.min(...same.flatMap((r) => r.loadAvg)), 2),
      round(Math.max(...same.flatMap((r) => r.loadAvg)), 2),
    ];
    const reasons = [...new Set(same.map((r) => r.reason).filter(Boolean))];
    if (reasons.length) row.reason = reasons.join(' | ');
    return row;
  });
}
function round(x, d = 0) {
  if (x === null || x === undefined || !Number.isFinite(x)) return null;
  const f = 10 ** d;
  return Math.round(x * f) / f;
}

// --- report --------------------------------------------------------------------------------------------------------
const loadEnd = os.loadavg();
const fmt = (x) => (x === null || x === undefined ? '-' : String(x));
const table = [
  [
    'backend',
    'what',
    'model',
    'budget',
    'passes',
    'tok/s',
    'torch tok/s',
    'thr',
    'ratio',
    'cpu-time ratio',
    'steps',
    'load',
    'note',
  ],
];
for (const r of rows) {
  table.push([
    r.backend,
    r.kind === 'decode' ? (r.cache ? 'decode' : 'decode, no cache') : `train ${r.config}`,
    r.model,
    String(r.budget),
    r.passes === null
      ? '-'
      : `${r.passes}${r.referencePasses !== null && r.referencePasses !== r.passes ? `/${r.referencePasses}` : ''}`,
    fmt(r.tokensPerSecond),
    fmt(r.referenceTokensPerSecond),
    `x${r.referenceThreads}`,
    r.ratio === null
      ? '-'
      : r.ratioRange && r.rounds > 1
        ? `${r.ratio.toFixed(2)} (${r.ratioRange[0].toFixed(2)}-${r.ratioRange[1].toFixed(2)})`
        : r.ratio.toFixed(2),
    r.cpuTimeRatio === null ? '-' : r.cpuTimeRatio.toFixed(2),
    r.timed === null ? '-' : `${r.warmup}+${r.timed}`,
    r.loadAvg ? Math.max(...r.loadAvg).toFixed(1) : '-',
    r.reason ?? r.referenceReason ?? '',
  ]);
}
const widths = table[0].map((_, c) =>
  Math.max(...table.filter((row) => row.length > 1).map((row) => (c === table[0].length - 1 ? 0 : row[c].length))),
);
out('');
for (const [i, row] of table.entries()) {
  out(
    row
      .map((cell, c) =>
        c === row.length - 1 ? cell : c >= 4 && c <= 10 ? cell.padStart(widths[c]) : cell.padEnd(widths[c]),
      )
      .join('  ')
      .trimEnd(),
  );
  if (i === 0)
    out(
      widths
        .map((w) => '-'.repeat(w))
        .join('  ')
        .trimEnd(),
    );
}
out('');
out(
  `tok/s: training tokens (batch x T = 64 x 33) per second, median of the timed steps after warm-up (steps = warm-up+timed);`,
);
out(`decode: answer tokens generated per second (greedy, 100 problems; KV cache: prefill, then one token per call;`);
out(`'no cache': the whole prefix every token; torch does the same). ratio = tok/s / torch tok/s with`);
out(`torch at 'thr' threads; cpu-time ratio compares tokens per CPU-second with torch x1 (single-threaded rows only,`);
out(`robust to other load). passes a/b: block passes run by tfjs / torch (ACT stops early; webgpu never stops early).`);
if (opt.rounds > 1)
  out(
    `${opt.rounds} rounds: tok/s are medians over rounds; ratio is the median of the per-round ratios (its range in brackets).`,
  );
out(
  `Machine: ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), load average ${loadStart[0].toFixed(2)} at start, ${loadEnd[0].toFixed(2)} at end${loadStart[0] > os.cpus().length * 0.75 || loadEnd[0] > os.cpus().length * 0.75 ? ': LOADED, other processes competed for the cores' : ''}; ${((Date.now() - t0) / 1000).toFixed(0)} s.`,
);
const meta = {
  node: process.version,
  torch: torchVersion ?? null,
  torchOmpWaitPolicy: TORCH_OMP_WAIT_POLICY,
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model ?? null,
  loadAvgStart: loadStart.map((x) => round(x, 2)),
  loadAvgEnd: loadEnd.map((x) => round(x, 2)),
  seconds: round((Date.now() - t0) / 1000),
  quick: opt.quick,
  rounds: opt.rounds,
  budgets: opt.budget,
  config: { ...shared, seqLen: 33, tokensPerStep: 64 * 33 },
};
if (opt.json) process.stdout.write(JSON.stringify({ rows, meta }) + '\n');
