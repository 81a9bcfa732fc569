#!/usr/bin/env node
// Cross-implementation harness: the same (rung, task, budget, configuration, seeds) through tarm's CLI and through
// the authors' implementation (github.com/pauliusrauba/autoregressive-TRM, imported from a checkout by
// authors_run.py, never copied), then one side-by-side table. See docs/parity.md, "Cross-implementation harness".
//
//   node tools/crosscheck/crosscheck.mjs --authors ../autoregressive-TRM --python .venv/bin/python \
//     [--rungs ar-trm,dense | all] [--tasks reverse,copy] [--budgets 6,12] [--seeds 1337,1,2,3] [--length 10]
//     [--d-model 64] [--heads 4] [--steps 800] [--batch 32] [--lr 1e-3] [--dropout 0] [--eval-n 100]
//     [--backend node] [--side both|tarm|authors] [--jobs 1] [--out docs/results/crosscheck] [--table-only]
//     [--from-study DIR]
//
// --from-study DIR: tarm's side is not trained but read from the finished runs of a study folder (DIR/runs/
// <rung>-<task>-s<seed>/, unpacked first from DIR/runs.tar.gz when the study is committed as one; decoded by
// sampling at T = 1 by tools/study/eval-sampled.sh), after checking that each run's config.json is this
// configuration; the study's seeds that have such a run are tarm's seeds.
//
// Every (side, cell, seed) run is one JSON file under <out>/cells/<config>/<side>/ (a few hundred bytes, the
// table's only source: committed as they are, not archived; docs/decisions.md); a file that exists is not run
// again (the harness resumes where it stopped), and the table (<out>/<config>.md) is rewritten after every run.
// `npm run build` first (the tarm side runs apps/cli/dist/main.js).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unpackRuns } from '@tarm/study';
import { fisherExact, welchDiffCI } from '@tarm/study/internal';

/** The one rung-name mapping: tarm's ladder name -> the authors' --model name (their models/__init__.py). */
const AUTHORS_MODEL = Object.freeze({
  dense: 'gpt',
  iterative: 'gpt_level1',
  'iterative-step': 'gpt_level2',
  ut: 'ut',
  'dual-ut': 'ut_level1',
  'dual-nested-ut': 'ut_level2',
  'ar-trm': 'trm',
});
/** A run counts as a success at this character accuracy (issue 12). */
const SUCCESS = 0.9;

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function parseArgs(argv) {
  const o = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) fail(`unexpected argument ${a}`);
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) o[a.slice(2)] = true;
    else ((o[a.slice(2)] = next), i++);
  }
  return o;
}

function fail(msg) {
  console.error(`crosscheck: ${msg}`);
  process.exit(2);
}

const list = (s) =>
  String(s)
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
const num = (o, k, d) => {
  const v = o[k] === undefined ? d : Number(o[k]);
  if (!Number.isFinite(v)) fail(`--${k}: a number, got ${o[k]}`);
  return v;
};

function run(cmd, args) {
  return new Promise((res) => {
    const child = spawn(cmd, args, {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => res({ code, out, err }));
  });
}

const o = parseArgs(process.argv.slice(2));
const cfg = {
  length: num(o, 'length', 10),
  dModel: num(o, 'd-model', 64),
  heads: num(o, 'heads', 4),
  steps: num(o, 'steps', 800),
  batch: num(o, 'batch', 32),
  lr: num(o, 'lr', 1e-3),
  dropout: num(o, 'dropout', 0),
  evalN: num(o, 'eval-n', 100),
};
const rungs = o.rungs === undefined || o.rungs === 'all' ? Object.keys(AUTHORS_MODEL) : list(o.rungs);
for (const r of rungs)
  if (!(r in AUTHORS_MODEL)) fail(`--rungs: ${r} is not one of ${Object.keys(AUTHORS_MODEL).join(', ')}, all`);
const tasks = list(o.tasks ?? 'reverse');
for (const t of tasks)
  if (!['copy', 'reverse', 'addition'].includes(t)) fail(`--tasks: ${t} is not one of copy, reverse, addition`);
const budgets = list(o.budgets ?? '6').map(Number);
const seeds = list(o.seeds ?? '1337,1,2,3').map(Number);
if ([...budgets, ...seeds].some((x) => !Number.isInteger(x))) fail('--budgets and --seeds: comma-separated integers');
const side = o.side ?? 'both';
if (!['both', 'tarm', 'authors'].includes(side)) fail(`--side: both, tarm or authors, got ${side}`);
const backend = o.backend ?? 'node';
const jobs = num(o, 'jobs', 1);
const out = resolve(o.out ?? join(ROOT, 'docs/results/crosscheck'));
const tag = `L${cfg.length}-d${cfg.dModel}-h${cfg.heads}-steps${cfg.steps}-batch${cfg.batch}-lr${cfg.lr}-drop${cfg.dropout}-n${cfg.evalN}`;
const runsDir = join(out, 'cells', tag);
const authors = o.authors ? resolve(o.authors) : undefined;
const python = o.python ?? 'python3';
const fromStudy = o['from-study'] ? resolve(o['from-study']) : undefined;
if (fromStudy) {
  try {
    unpackRuns(fromStudy); // a study committed as runs.tar.gz (docs/results): its run folders, unpacked on demand
  } catch (e) {
    fail(`--from-study: ${e.message}`);
  }
  if (!existsSync(join(fromStudy, 'runs')))
    fail(`--from-study: ${fromStudy} has no runs/ folder nor runs.tar.gz (not a study folder)`);
}
if (!o['table-only'] && side !== 'tarm') {
  if (!authors || !existsSync(join(authors, 'models', 'trm.py')))
    fail(
      '--authors: the path of a checkout of pauliusrauba/autoregressive-TRM (git clone https://github.com/pauliusrauba/autoregressive-TRM)',
    );
}

const fileOf = (s, rung, task, budget, seed) => join(runsDir, s, `${rung}-${task}-b${budget}-s${seed}.json`);

function tarmArgs(rung, task, budget, seed, dir) {
  return [
    'apps/cli/dist/main.js',
    'train',
    '--model',
    rung,
    '--task',
    task,
    '--length',
    cfg.length,
    '--eval-lengths',
    cfg.length,
    '--budget',
    budget,
    '--d-model',
    cfg.dModel,
    '--heads',
    cfg.heads,
    '--steps',
    cfg.steps,
    '--batch',
    cfg.batch,
    '--lr',
    cfg.lr,
    '--dropout',
    cfg.dropout,
    '--decode',
    'sample',
    '--eval-every',
    cfg.steps,
    '--eval-n',
    cfg.evalN,
    '--seed',
    seed,
    '--backend',
    backend,
    '--out',
    dir,
  ].map(String);
}
function authorsArgs(rung, task, budget, seed, file) {
  return [
    join(ROOT, 'tools/crosscheck/authors_run.py'),
    '--repo',
    authors,
    '--model',
    AUTHORS_MODEL[rung],
    '--task',
    task,
    '--length',
    cfg.length,
    '--budget',
    budget,
    '--d-model',
    cfg.dModel,
    '--heads',
    cfg.heads,
    '--steps',
    cfg.steps,
    '--batch',
    cfg.batch,
    '--lr',
    cfg.lr,
    '--dropout',
    cfg.dropout,
    '--eval-n',
    cfg.evalN,
    '--seed',
    seed,
    '--out',
    file,
  ].map(String);
}

function writeAtomic(file, text) {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file + '.tmp', text);
  renameSync(file + '.tmp', file);
}

async function runOne(s, rung, task, budget, seed) {
  const file = fileOf(s, rung, task, budget, seed);
  if (existsSync(file)) return;
  mkdirSync(dirname(file), { recursive: true });
  const t0 = Date.now();
  if (s === 'tarm' && fromStudy) {
    const rec = fromStudyRun(rung, task, budget, seed);
    if (!rec) return;
    writeAtomic(file, JSON.stringify(rec) + '\n');
  } else if (s === 'tarm') {
    const dir = join(tmpdir(), 'tarm-crosscheck', tag, `${rung}-${task}-b${budget}-s${seed}`); // the run folder, removed after
    rmSync(dir, { recursive: true, force: true });
    const args = tarmArgs(rung, task, budget, seed, dir);
    const r = await run('node', args);
    if (r.code !== 0)
      return console.error(`tarm ${rung} ${task} b${budget} s${seed} failed (${r.code}):\n${r.err.slice(-2000)}`);
    const sum = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
    const ev = sum.evals[String(cfg.length)];
    writeAtomic(
      file,
      JSON.stringify({
        side: 'tarm',
        rung,
        task,
        budget,
        seed,
        charAcc: ev.charAcc,
        exactMatch: ev.exactMatch,
        finalLoss: sum.loss,
        wallSeconds: sum.wallSeconds,
        command: `node ${args.slice(0, -1).join(' ')} <dir>`,
      }) + '\n',
    );
    rmSync(dir, { recursive: true, force: true });
  } else {
    const tmp = file + '.raw';
    const args = authorsArgs(rung, task, budget, seed, tmp);
    const r = await run(python, args);
    if (r.code !== 0)
      return console.error(
        `authors ${AUTHORS_MODEL[rung]} ${task} b${budget} s${seed} failed (${r.code}):\n${r.err.slice(-2000)}`,
      );
    const raw = JSON.parse(readFileSync(tmp, 'utf8'));
    const ev = raw.eval[String(cfg.length)];
    writeAtomic(
      file,
      JSON.stringify({
        side: 'authors',
        rung,
        authorsModel: AUTHORS_MODEL[rung],
        task,
        budget,
        seed,
        charAcc: ev.char_acc,
        exactMatch: ev.seq_acc,
        finalLoss: raw.finalLoss,
        compute: raw.compute,
        wallSeconds: raw.trainSeconds,
        command: `${python} ${args
          .slice(0, -2)
          .join(' ')
          .replace(authors, '<checkout>')
          .replace(ROOT + '/', '')}`,
      }) + '\n',
    );
    rmSync(tmp, { force: true });
  }
  console.log(`${s} ${rung} ${task} b${budget} s${seed}: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  writeTable();
}

/** tarm's run of a study folder as a cell file, or undefined (with the reason on stderr) when it cannot be one. */
function fromStudyRun(rung, task, budget, seed) {
  const dir = join(fromStudy, 'runs', `${rung}-${task}-s${seed}`);
  const read = (f) => (existsSync(join(dir, f)) ? JSON.parse(readFileSync(join(dir, f), 'utf8')) : undefined);
  const [config, summary, sampled] = [read('config.json'), read('summary.json'), read('eval-sample.json')];
  if (!summary || !sampled)
    return void console.error(
      `from-study: ${dir}: ${summary ? 'no eval-sample.json (run tools/study/eval-sampled.sh)' : 'not finished'}; skipped`,
    );
  const m = config.model,
    t = config.train;
  const want = {
    model: rung,
    budget,
    dModel: cfg.dModel,
    nHeads: cfg.heads,
    dropout: cfg.dropout,
    task,
    length: cfg.length,
    steps: cfg.steps,
    batchSize: cfg.batch,
    lr: cfg.lr,
    n: cfg.evalN,
  };
  const got = {
    model: m.model,
    budget: m.budget,
    dModel: m.dModel,
    nHeads: m.nHeads,
    dropout: m.dropout,
    task: t.task,
    length: t.length,
    steps: t.steps,
    batchSize: t.batchSize,
    lr: t.optimizer.lr,
    n: sampled.evals[String(cfg.length)]?.n,
  };
  const off = Object.keys(want).filter((k) => want[k] !== got[k]);
  if (off.length || m.switches)
    fail(
      `--from-study: ${dir} is not this configuration (${off.map((k) => `${k} ${got[k]}, not ${want[k]}`).join('; ') || 'switches set'})`,
    );
  const ev = sampled.evals[String(cfg.length)];
  return {
    side: 'tarm',
    rung,
    task,
    budget,
    seed,
    charAcc: ev.charAcc,
    exactMatch: ev.exactMatch,
    finalLoss: summary.loss,
    wallSeconds: summary.wallSeconds,
    command: `from the study run ${relative(ROOT, dir)} (its eval-sample.json: sampled, T = 1)`,
  };
}

function readCell(s, rung, task, budget) {
  const dir = join(runsDir, s);
  if (!existsSync(dir)) return [];
  const prefix = `${rung}-${task}-b${budget}-s`;
  return readdirSync(dir)
    .filter((f) => f.startsWith(prefix) && f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')))
    .sort((a, b) => a.seed - b.seed);
}

function writeTable() {
  const pct = (x) => (100 * x).toFixed(1);
  const lines = [
    `# Cross-implementation table: ${tag}`,
    '',
    `Written by tools/crosscheck/crosscheck.mjs (docs/parity.md). Configuration: L = ${cfg.length} (train and eval), d_model ${cfg.dModel}, ${cfg.heads} heads,`,
    `${cfg.steps} steps, batch ${cfg.batch}, AdamW lr ${cfg.lr} (weight decay 0.01), dropout ${cfg.dropout}, sampled decoding (T = 1), ${cfg.evalN} evaluation problems.`,
    `tarm: \`node apps/cli/dist/main.js train --model <rung> --task <task> --budget <B> --seed <s> ...\` (backend ${backend}); authors: \`tools/crosscheck/authors_run.py --model <theirs> ...\`.`,
    `Per seed: character accuracy % / final training loss (the last step's batch). Success: accuracy >= ${SUCCESS * 100}%. p: two-sided Fisher exact test on the success counts.`,
    'tarm - authors: the difference of the mean accuracies in points with its 95% Welch interval (the test for cells where neither side reaches the success level).',
    'The exact command of every run is in its JSON file under cells/.',
    '',
    '| rung (authors) | task | B | tarm acc % (seeds) | tarm final loss | authors acc % | authors final loss | success tarm | success authors | Fisher p | tarm - authors (Welch 95%) |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  // every cell with a result on either side (not only the ones this invocation runs), in ladder order
  const present = new Set();
  for (const s of ['tarm', 'authors']) {
    const d = join(runsDir, s);
    if (existsSync(d))
      for (const f of readdirSync(d)) {
        const m = /^(.+)-(copy|reverse|addition)-b(\d+)-s-?\d+\.json$/.exec(f);
        if (m) present.add(`${m[2]} ${m[3]} ${m[1]}`);
      }
  }
  const order = Object.keys(AUTHORS_MODEL);
  const cells = [...present]
    .map((k) => k.split(' '))
    .sort((a, b) => a[0].localeCompare(b[0]) || a[1] - b[1] || order.indexOf(a[2]) - order.indexOf(b[2]));
  for (const [task, budget, rung] of cells) {
    const t = readCell('tarm', rung, task, budget);
    const a = readCell('authors', rung, task, budget);
    if (!t.length && !a.length) continue;
    const accs = (rs) => rs.map((r) => `${pct(r.charAcc)} (${r.seed})`).join(', ') || '-';
    const losses = (rs) => rs.map((r) => r.finalLoss.toFixed(3)).join(', ') || '-';
    const ok = (rs) => rs.filter((r) => r.charAcc >= SUCCESS).length;
    const p = t.length && a.length ? fisherExact(ok(t), t.length, ok(a), a.length).toFixed(3) : '-';
    const w = welchDiffCI(
      t.map((r) => r.charAcc),
      a.map((r) => r.charAcc),
    );
    const signed = (x) => `${x >= 0.0005 ? '+' : x <= -0.0005 ? '-' : ''}${Math.abs(100 * x).toFixed(1)}`;
    const diff = w.lo === undefined ? '-' : `${signed(w.diff)} [${signed(w.lo)}, ${signed(w.hi)}]`;
    lines.push(
      `| ${rung} (${AUTHORS_MODEL[rung]}) | ${task} | ${budget} | ${accs(t)} | ${losses(t)} | ${accs(a)} | ${losses(a)} | ${t.length ? `${ok(t)}/${t.length}` : '-'} | ${a.length ? `${ok(a)}/${a.length}` : '-'} | ${p} | ${diff} |`,
    );
  }
  // the order of the rungs by mean accuracy on each side, per (task, budget) with two or more rungs on both
  const groups = [...new Set(cells.map(([task, budget]) => `${task} ${budget}`))];
  const orders = groups.flatMap((g) => {
    const [task, budget] = g.split(' ');
    const side = (s) =>
      cells
        .filter((c) => c[0] === task && c[1] === budget)
        .map(([, , rung]) => ({ rung, rs: readCell(s, rung, task, budget) }))
        .filter((x) => x.rs.length);
    const order = (xs) =>
      xs
        .map((x) => ({ ...x, m: x.rs.reduce((acc, r) => acc + r.charAcc, 0) / x.rs.length }))
        .sort((p, q) => q.m - p.m)
        .map((x) => `${x.rung} ${pct(x.m)}`)
        .join(' > ');
    const [t, a] = [side('tarm'), side('authors')];
    return t.length >= 2 && a.length >= 2 ? [`- ${task}, budget ${budget}: tarm ${order(t)}; authors ${order(a)}`] : [];
  });
  if (orders.length) lines.push('', 'Order of the rungs by mean accuracy on each side:', '', ...orders);
  writeAtomic(join(out, `${tag}.md`), lines.join('\n') + '\n');
}

if (!o['table-only']) {
  const queue = [];
  for (const task of tasks)
    for (const budget of budgets)
      for (const rung of rungs)
        for (const seed of seeds)
          for (const s of side === 'both' ? ['tarm', 'authors'] : [side]) queue.push([s, rung, task, budget, seed]);
  const worker = async () => {
    while (queue.length) await runOne(...queue.shift());
  };
  await Promise.all(Array.from({ length: Math.max(1, jobs) }, worker));
}
writeTable();
console.log(readFileSync(join(out, `${tag}.md`), 'utf8'));
