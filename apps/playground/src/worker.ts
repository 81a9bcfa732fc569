/**
 * The training worker: owns tfjs, the model and the optimizer, so the page stays responsive. It answers the
 * requests of protocol.ts. Jobs run one at a time; while training, decode / save / list / delete jobs run
 * between two optimizer steps, and jobs that replace the model (reset, load) first stop the training loop.
 */
// tfjs-core's browser bundle registers no gradients; @tarm/core's registerGradients only covers Node. Import them
// AFTER tfjs-core itself (a side-effect import, so it is never dropped): the list registers a few kernels twice,
// and that duplicate check reads the DEBUG flag, which tfjs-core's entry defines. In Vite's dev pre-bundle the
// gradients module does not load that entry itself and would throw "Cannot evaluate flag 'DEBUG'".
import '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import type * as tf from '@tensorflow/tfjs-core';
import { checkCheckpointJson, decodeCheckpoint, encodeCheckpoint } from '@tarm/core';
import {
  createModel,
  defineModelConfig,
  solveBudget,
  analyticParamCount,
  RUNGS,
  type LadderModel,
  type ModelConfig,
} from '@tarm/recursion';
import { CONTEXT_LENGTH, getTask, VOCAB_SIZE, type Task } from '@tarm/tasks';
import { evaluateLength } from '@tarm/eval';
import { AdamW, train } from '@tarm/train';
import { OPTIMIZER_PREFIX } from '@tarm/train/internal';
import { startBackend } from './backends.js';
import { decodeWithTrace } from './trace.js';
import { ModelStorage } from './storage.js';
import { describeStorageError } from './storage-errors.js';
import {
  EVAL_PROBLEMS,
  type History,
  type ModelSummary,
  type PlaygroundConfig,
  type Request,
  type WorkerEvent,
} from './protocol.js';

const scope = self as unknown as {
  postMessage(e: WorkerEvent): void;
  onmessage: ((e: MessageEvent<Request>) => void) | null;
};
const post = (e: WorkerEvent) => scope.postMessage(e);
const errorText = (e: unknown) => String((e as Error)?.message ?? e);

interface Session {
  config: PlaygroundConfig;
  readonly model: LadderModel;
  readonly task: Task;
  optimizer?: AdamW;
  step: number;
  readonly history: History;
}

let session: Session | undefined;
let backendReady: Promise<void> | undefined;
let training = false;
let stopRequested = false;
const storage = new ModelStorage();

// ---- job queue ---------------------------------------------------------------------------------------------

interface Job {
  readonly run: () => Promise<void>;
  /** May run between two training steps (does not replace the model). */
  readonly duringTraining: boolean;
  readonly where: string;
}
const queue: Job[] = [];
let draining = false;

function submit(job: Job): void {
  queue.push(job);
  void drain();
}

async function runJob(job: Job): Promise<void> {
  try {
    await job.run();
  } catch (e) {
    post({ type: 'error', where: job.where, message: errorText(e) });
  }
}

async function drain(): Promise<void> {
  if (draining) return;
  draining = true;
  try {
    while (queue.length > 0) await runJob(queue.shift()!);
  } finally {
    draining = false;
  }
}

/** Called by the training loop between steps: runs the queued jobs that may interleave with training. */
async function runJobsBetweenSteps(): Promise<void> {
  for (let i = 0; i < queue.length;) {
    if (queue[i]!.duringTraining) await runJob(queue.splice(i, 1)[0]!);
    else i++;
  }
}

/** Lets queued messages in: a macrotask turn (MessageChannel: no timer clamping). */
function yieldToEvents(): Promise<void> {
  return new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => {
      ch.port1.close();
      resolve();
    };
    ch.port2.postMessage(null);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- model -------------------------------------------------------------------------------------------------

/** The @tarm/recursion config of a playground config: the paper's vocabulary and context, dropout off. */
function modelInput(c: PlaygroundConfig) {
  // Dropout 0: these tiny models train for a few hundred steps on an endless stream; nothing to regularise.
  return {
    model: c.model,
    dModel: c.dModel,
    nHeads: c.nHeads,
    budget: c.budget,
    dropout: 0,
    vocabSize: VOCAB_SIZE,
    contextLength: CONTEXT_LENGTH,
  };
}

function summarize(config: ModelConfig): ModelSummary {
  const s = solveBudget(config);
  const r = RUNGS[config.model];
  return {
    params: analyticParamCount(config),
    schedule: { steps: s.steps, H: s.H, L: s.L, passesPerStep: s.passesPerStep, blockPasses: s.blockPasses },
    rung: { tied: r.tied, dualStream: r.dualStream, nested: r.nested, halting: r.halting },
  };
}

function checkTraining(c: PlaygroundConfig): void {
  const int = (field: string, v: number, min: number, max: number) => {
    if (!Number.isInteger(v) || v < min || v > max)
      throw new Error(`${field} must be an integer in [${min}, ${max}], got ${v}`);
  };
  int('length', c.length, 1, 40);
  int('steps', c.steps, 1, 1_000_000);
  int('batch', c.batchSize, 1, 1024);
  int('eval every', c.evalEvery, 1, 1_000_000);
  int('seed', c.seed, 0, 2 ** 31 - 1);
  if (!(c.lr > 0 && c.lr < 1)) throw new Error(`learning rate must be in (0, 1), got ${c.lr}`);
  const task = getTask(c.task);
  const needed = task.promptLength(c.length) + task.answerLength(c.length) + 1;
  if (needed > CONTEXT_LENGTH)
    throw new Error(`length ${c.length} needs ${needed} positions; the context has ${CONTEXT_LENGTH}`);
}

/** The rung's EMA of the weights (trm-faithful: 0.999, as TRM), used for evaluation and decoding; 0: none. */
function emaDecay(c: PlaygroundConfig): number {
  return RUNGS[c.model].defaults?.ema ?? 0;
}

/** Runs `fn` with the weights evaluation uses: the EMA weights when the optimizer keeps an average. */
function withEvalWeights<T>(s: Session, fn: () => Promise<T>): Promise<T> {
  return s.optimizer ? s.optimizer.withEmaWeights(fn) : fn();
}

/** Fields that define the model and its training stream: changing one needs a reset. */
function sameModel(a: PlaygroundConfig, b: PlaygroundConfig): boolean {
  const keys: (keyof PlaygroundConfig)[] = [
    'task',
    'model',
    'dModel',
    'nHeads',
    'budget',
    'length',
    'batchSize',
    'lr',
    'seed',
  ];
  return keys.every((k) => a[k] === b[k]);
}

function disposeSession(): void {
  session?.optimizer?.dispose();
  session?.model.dispose();
  session = undefined;
}

function newSession(config: PlaygroundConfig): Session {
  checkTraining(config);
  const mc = defineModelConfig(modelInput(config));
  disposeSession();
  const model = createModel(mc, config.seed);
  session = { config, model, task: getTask(config.task), step: 0, history: { loss: [], evals: [] } };
  post({ type: 'model', config, summary: summarize(model.config) });
  return session;
}

function postState(): void {
  const s = session;
  const state = !s ? 'empty' : training ? 'training' : s.step >= s.config.steps ? 'done' : 'paused';
  post({ type: 'state', state, step: s?.step ?? 0 });
}

// ---- training ----------------------------------------------------------------------------------------------

async function runTraining(config: PlaygroundConfig): Promise<void> {
  await backendReady;
  let s = session;
  if (!s || !sameModel(s.config, config)) s = newSession(config);
  else {
    checkTraining(config);
    s.config = config; // steps and eval interval may change between runs
  }
  if (s.step >= config.steps) return postState();
  const cfg = config;
  const sess = s;
  training = true;
  stopRequested = false;
  postState();
  try {
    const result = await train({
      model: sess.model,
      task: sess.task,
      length: cfg.length,
      batchSize: cfg.batchSize,
      steps: cfg.steps,
      seed: cfg.seed,
      evalEvery: cfg.evalEvery,
      startStep: sess.step,
      optimizer: sess.optimizer ?? { lr: cfg.lr, ema: emaDecay(cfg) },
      evaluate: async () => {
        const r = await evaluateLength(sess.model, sess.task, cfg.length, {
          n: EVAL_PROBLEMS,
          decode: { strategy: 'greedy' },
        });
        return { [String(cfg.length)]: r };
      },
      onStep: async (info) => {
        sess.step = info.step;
        sess.history.loss.push({ step: info.step, value: info.loss });
        post({
          type: 'step',
          step: info.step,
          loss: info.loss,
          tokensPerSecond: info.tokensPerSecond,
          passes: info.stats.passes,
        });
        await yieldToEvents();
        await runJobsBetweenSteps();
      },
      onEval: (step, record) => {
        const m = record[String(cfg.length)]!;
        const point = { step, charAcc: m.charAcc, exactMatch: m.exactMatch };
        sess.history.evals.push(point);
        post({ type: 'eval', point, examples: (m.examples ?? []).slice(0, 5) });
      },
      shouldStop: () => stopRequested,
    });
    sess.optimizer = result.optimizer;
  } finally {
    training = false;
    postState();
  }
}

// ---- storage -----------------------------------------------------------------------------------------------

async function listModels(): Promise<void> {
  const [list, est] = await Promise.all([storage.list(), storage.estimate()]);
  post({ type: 'models', list, usage: est?.usage, quota: est?.quota });
}

async function saveModel(name: string): Promise<void> {
  const s = session;
  if (!s) throw new Error('train or load a model before saving');
  const tensors: Record<string, tf.Tensor> = Object.fromEntries(s.model.params.entries());
  const optState = s.optimizer?.state() ?? {};
  let encoded;
  try {
    encoded = await encodeCheckpoint(
      { ...tensors, ...optState },
      { source: '@tarm/playground', step: s.step, config: s.config, modelConfig: s.model.config },
    );
  } finally {
    for (const t of Object.values(optState)) t.dispose();
  }
  const info = {
    name,
    savedAt: new Date().toISOString(),
    bytes: encoded.data.byteLength,
    step: s.step,
    config: s.config,
  };
  try {
    await storage.save({
      info,
      modelConfig: s.model.config,
      history: s.history,
      checkpoint: encoded.json,
      weights: encoded.data,
    });
  } catch (e) {
    post({ type: 'storage-error', message: describeStorageError(e, info.bytes, await storage.estimate()) });
    return;
  }
  post({ type: 'saved', info });
  await listModels();
}

async function loadModel(name: string): Promise<void> {
  await backendReady;
  let stored;
  try {
    stored = await storage.load(name);
  } catch (e) {
    post({ type: 'storage-error', message: `Could not load "${name}": ${describeStorageError(e, 0)}` });
    return;
  }
  const json = checkCheckpointJson(stored.checkpoint, name);
  const tensors = decodeCheckpoint(json, stored.weights, name);
  try {
    const config = stored.info.config;
    const mc = defineModelConfig(stored.modelConfig as ModelConfig);
    disposeSession();
    const model = createModel(mc, config.seed);
    model.params.assign(tensors);
    let optimizer: AdamW | undefined;
    if (Object.keys(tensors).some((k) => k.startsWith(OPTIMIZER_PREFIX))) {
      optimizer = new AdamW(model.params, { lr: config.lr, ema: emaDecay(config) });
      await optimizer.loadState(tensors);
    }
    session = { config, model, task: getTask(config.task), optimizer, step: stored.info.step, history: stored.history };
    post({ type: 'loaded', info: stored.info, summary: summarize(model.config), history: stored.history });
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
  postState();
}

// ---- messages ----------------------------------------------------------------------------------------------

scope.onmessage = (e: MessageEvent<Request>) => {
  const req = e.data;
  switch (req.type) {
    case 'init':
      backendReady = startBackend(req.backend).then(
        (detail) => post({ type: 'ready', backend: req.backend, detail }),
        (err) => {
          post({ type: 'error', where: 'backend', message: errorText(err) });
          throw err;
        },
      );
      backendReady.catch(() => undefined);
      return;
    case 'describe':
      try {
        post({ type: 'described', config: req.config, summary: summarize(defineModelConfig(modelInput(req.config))) });
      } catch (err) {
        post({ type: 'described', config: req.config, error: errorText(err) });
      }
      return;
    case 'pause':
      stopRequested = true;
      return;
    case 'train':
      if (training) return;
      submit({ where: 'training', duringTraining: false, run: () => runTraining(req.config) });
      return;
    case 'reset':
      stopRequested = true;
      submit({
        where: 'reset',
        duringTraining: false,
        run: async () => {
          disposeSession();
          postState();
        },
      });
      return;
    case 'load':
      stopRequested = true;
      submit({ where: 'load', duringTraining: false, run: () => loadModel(req.name) });
      return;
    case 'decode':
      submit({
        where: 'decode',
        duringTraining: true,
        run: async () => {
          await backendReady;
          const s = session;
          if (!s) throw new Error('train or load a model first');
          post({ type: 'decode-start', prompt: req.prompt, summary: summarize(s.model.config) });
          const answer = await withEvalWeights(s, () =>
            decodeWithTrace(s.model, req.prompt, req.maxTokens, async (trace) => {
              post({ type: 'token', trace });
              if (req.delayMs > 0) await sleep(req.delayMs);
            }),
          );
          post({ type: 'decode-end', answer });
        },
      });
      return;
    case 'save':
      submit({ where: 'save', duringTraining: true, run: () => saveModel(req.name) });
      return;
    case 'list':
      submit({ where: 'storage', duringTraining: true, run: listModels });
      return;
    case 'delete':
      submit({
        where: 'delete',
        duringTraining: true,
        run: async () => {
          await storage.remove(req.name);
          await listModels();
        },
      });
      return;
  }
};
