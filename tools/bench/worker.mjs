// One backend's measurements, in its own process (spawned by tools/bench/run.mjs; usable alone for debugging):
//   node tools/bench/worker.mjs '<json plan>'
// Prints one line `BENCH_RESULT <json>` per measured item on stdout; progress goes to stderr. A failure of one
// item becomes a result with a `reason`; a failure to set the backend up becomes one result of kind "setup" with a
// reason, and the process still exits 0, so the parent can tell a broken backend from a crashed process.
import os from 'node:os';
import { performance } from 'node:perf_hooks';

const plan = JSON.parse(process.argv[2] ?? '{}');
const backend = plan.backend ?? 'wasm';
const emit = (r) => process.stdout.write(`BENCH_RESULT ${JSON.stringify({ backend, ...r })}\n`);
const log = (...a) => process.stderr.write(`[bench ${backend}] ${a.join(' ')}\n`);
const firstLine = (e) => String(e?.message ?? e).split('\n')[0];
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

let tf, core, recursion, train, tasks, tasksInternal;
try {
  tf = await import('@tensorflow/tfjs-core');
  core = await import('@tarm/core');
  recursion = await import('@tarm/recursion');
  train = await import('@tarm/train');
  tasks = await import('@tarm/tasks');
  tasksInternal = await import('@tarm/tasks/internal');
} catch (e) {
  emit({ kind: 'setup', reason: `cannot load the tarm packages (${firstLine(e)}); run npm run build first` });
  process.exit(0);
}

try {
  await core.useBackend(backend);
} catch (e) {
  emit({ kind: 'setup', reason: `backend unavailable: ${firstLine(e)}`, errorName: e?.name });
  process.exit(0);
}
emit({ kind: 'setup', tfBackend: tf.getBackend() });

const deadline = performance.now() + (plan.budgetSeconds ?? 600) * 1000;
const left = () => (deadline - performance.now()) / 1000;
const task = tasks.getTask(plan.task ?? 'addition');
const L = plan.L ?? 10;
const batchSize = plan.batchSize ?? 64;
const seqLen = tasksInternal.sequenceLength(task, L);
/** Wall ms of one block pass (forward + backward) per training token, learnt from the first training item. */
let passMsPerToken;

const modelConfig = (item) => ({
  model: item.model,
  dModel: plan.dModel ?? 128,
  nHeads: plan.nHeads ?? 4,
  budget: item.budget,
  dropout: plan.dropout ?? 0.1,
});

async function benchTrain(item) {
  const model = recursion.createModel(modelConfig(item), 1337);
  const opt = new train.AdamW(model.params);
  const batches = Array.from({ length: 4 }, (_, i) => train.trainingTensorBatch(task, L, batchSize, 1337, i));
  const walls = [];
  const cpus = [];
  const passes = [];
  let warm = 0;
  try {
    const step = async (i) => {
      const c0 = cpuSeconds();
      const t0 = performance.now();
      const r = await train.trainStep(model, opt, batches[i % batches.length], 1000 + i);
      const ms = performance.now() - t0;
      if (!Number.isFinite(r.loss)) throw new Error(`loss is ${r.loss} at step ${i}`);
      return { ms, cpuMs: (cpuSeconds() - c0) * 1000, passes: r.stats.passes };
    };
    let lastWarm = 0;
    for (; warm < item.warmup; warm++) lastWarm = (await step(warm)).ms;
    // As many timed steps as asked, fewer when the backend's time budget would run out (at least one).
    const affordable = lastWarm > 0 ? Math.floor((left() * 1000) / lastWarm) : item.timed;
    const n = Math.max(1, Math.min(item.timed, affordable));
    for (let i = 0; i < n; i++) {
      const r = await step(warm + i);
      walls.push(r.ms);
      cpus.push(r.cpuMs);
      passes.push(r.passes);
    }
  } finally {
    for (const b of batches) train.disposeBatch(b);
    opt.dispose();
    model.dispose();
  }
  const ms = median(walls);
  const tokens = batchSize * seqLen;
  if (passMsPerToken === undefined) passMsPerToken = ms / tokens / Math.max(1, median(passes));
  return {
    stepMs: ms,
    tokensPerSecond: (tokens * 1000) / ms,
    tokensPerCpuSecond: (tokens * 1000) / median(cpus),
    warmupSteps: warm,
    timedSteps: walls.length,
    stepMsAll: walls.map((t) => Math.round(t)),
    passes: median(passes),
    blockPasses: model.blockPasses,
    tokensPerStep: tokens,
  };
}

async function benchDecode(item) {
  const model = recursion.createModel(modelConfig(item), 1337);
  const prompts = tasks.evaluationSet(task, L, item.batch ?? 100).map((e) => e.prompt);
  const maxNew = task.answerLength(L) + 1; // the answer and its newline
  const cache = item.cache !== false; // the KV cache (model.startDecoding), or the whole prefix every token
  // Newline masked out: no row ends early, so every run generates exactly maxNew tokens per row (an untrained model
  // may emit newlines at once), the same work as torch_ladder.py's decoding.
  const noNewline = tf.keep(
    tf.tensor1d(Array.from({ length: model.config.vocabSize }, (_, v) => (v === tasks.NEWLINE_ID ? -1e9 : 0))),
  );
  const masked = (logits) => {
    const out = tf.add(logits, noNewline);
    logits.dispose();
    return out;
  };
  let calls = 0;
  const lm = {
    logits: (ids) => (calls++, masked(model.logits(ids))),
    startDecoding: (b) => {
      const s = model.startDecoding(b);
      return {
        append: (ids) => (calls++, masked(s.append(ids))),
        get length() {
          return s.length;
        },
        dispose: () => s.dispose(),
      };
    },
  };
  const walls = [];
  const cpus = [];
  const tokens = [];
  try {
    for (let i = 0; i < item.warmup + item.timed; i++) {
      calls = 0;
      const c0 = cpuSeconds();
      const t0 = performance.now();
      await tasks.decodeAnswers(lm, prompts, maxNew, { strategy: 'greedy', cache });
      const ms = performance.now() - t0;
      if (i >= item.warmup) {
        walls.push(ms);
        cpus.push((cpuSeconds() - c0) * 1000);
        tokens.push(calls * prompts.length);
      }
      if (walls.length > 0 && left() * 1000 < ms) break;
    }
  } finally {
    noNewline.dispose();
    model.dispose();
  }
  const ms = median(walls);
  return {
    decodeMs: ms,
    tokensPerSecond: (median(tokens) * 1000) / ms,
    tokensPerCpuSecond: (median(tokens) * 1000) / median(cpus),
    warmupRuns: item.warmup,
    timedRuns: walls.length,
    batch: prompts.length,
    newTokens: median(tokens) / prompts.length,
    cache,
  };
}

/** Seconds an item would take at the pace measured so far (undefined before the first training item). */
function estimateSeconds(item) {
  if (passMsPerToken === undefined) return undefined;
  const runs = item.warmup + 1;
  if (item.kind === 'decode') {
    // forward only (about a third of a training pass); without a cache on batch x prefix tokens for every new
    // token, with one on batch x (prompt + answer) tokens in all (per-call overhead not counted)
    const P = task.promptLength(L);
    const A = task.answerLength(L) + 1;
    let tok = 0;
    if (item.cache === false) for (let t = P; t < P + A; t++) tok += (item.batch ?? 100) * t;
    else tok = (item.batch ?? 100) * (P + A);
    return (runs * tok * item.budget * passMsPerToken) / 3 / 1000;
  }
  return (runs * batchSize * seqLen * item.budget * passMsPerToken) / 1000;
}

for (const item of plan.items ?? []) {
  const label = `${item.kind}${item.kind === 'decode' && item.cache === false ? ' (no cache)' : ''} ${item.model} budget ${item.budget}`;
  const base = { kind: item.kind, config: item.config, model: item.model, budget: item.budget, cache: item.cache };
  const est = estimateSeconds(item);
  if (left() <= 0 || (est !== undefined && est > left() * 1.5)) {
    const why =
      est !== undefined
        ? `needs ~${Math.round(est)} s at this backend's measured pace, ${Math.max(0, Math.round(left()))} s left`
        : 'no time left';
    log(`${label}: skipped (${why})`);
    emit({
      ...base,
      reason: `skipped: over the ${plan.budgetSeconds} s time budget of the ${backend} backend (${why}); raise it with --budget ${backend}=SECONDS`,
    });
    continue;
  }
  const tensorsBefore = tf.memory().numTensors;
  const load0 = os.loadavg()[0];
  try {
    const t0 = performance.now();
    const r = item.kind === 'decode' ? await benchDecode(item) : await benchTrain(item);
    log(
      `${label}: ${Math.round(r.tokensPerSecond)} tok/s (${((performance.now() - t0) / 1000).toFixed(1)} s, load ${load0.toFixed(1)})`,
    );
    // tensorDelta: tensors alive after the item minus before (causal masks are cached on purpose, one per length)
    emit({
      ...base,
      ...r,
      tensorDelta: tf.memory().numTensors - tensorsBefore,
      loadAvg: [load0, os.loadavg()[0]].map((x) => Math.round(x * 100) / 100),
    });
  } catch (e) {
    log(`${label}: FAILED ${firstLine(e)}`);
    emit({ ...base, reason: `failed: ${firstLine(e)}` });
  }
}
