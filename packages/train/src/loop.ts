import { ConfigError, mixSeeds, type TrainableLM } from '@tarm/core';
import { SEED_PURPOSE, type Task } from '@tarm/tasks';
import { sequenceLength } from '@tarm/tasks/internal';
import { AdamW, optimizerConfigFor, type AdamWConfig } from './adamw.js';
import { disposeBatch, trainingTensorBatch } from './batch.js';
import { trainStep } from './step.js';

/** One (task, length) entry of an evaluation, as `@tarm/eval`'s evaluateLengths reports it (structurally). */
export interface EvalMetrics {
  readonly charAcc: number;
  readonly exactMatch: number;
  readonly firstCharAcc: number;
  readonly lastCharAcc: number;
  readonly quartiles: readonly number[];
  readonly n: number;
  readonly examples?: readonly { readonly prompt: string; readonly answer: string; readonly prediction: string }[];
}

/** An evaluation: length (as a string key) -> metrics. */
export type EvalRecord = Record<string, EvalMetrics>;

/** Reported after every optimizer step. `step` counts the updates done so far (1 after the first). */
export interface StepInfo {
  readonly step: number;
  readonly loss: number;
  readonly stats: Record<string, number>;
  /** Training throughput of this session: B*T tokens per step over the time spent in steps (evals excluded). */
  readonly tokensPerSecond: number;
  /** Wall-clock seconds since this call of {@link train} began (evaluations and checkpoints included). */
  readonly elapsedSeconds: number;
  /** Remaining steps times this session's mean wall-clock seconds per step. */
  readonly etaSeconds: number;
}

export interface TrainOptions {
  readonly model: TrainableLM;
  readonly task: Task;
  /** Problem length L of the training stream. */
  readonly length: number;
  readonly batchSize: number;
  /** Total optimizer steps of the run (not of this call, when resuming). */
  readonly steps: number;
  /** Run seed: drives the batch stream and the per-step dropout seeds. */
  readonly seed: number;
  /**
   * AdamW settings (fields left unset take the model's `optimizerDefaults`, then AdamW's defaults), or an optimizer
   * (e.g. with state restored from a checkpoint) to continue with.
   */
  readonly optimizer?: AdamWConfig | AdamW;
  /** Evaluate every this many steps (and always after the final step). Default: `steps` (only at the end). */
  readonly evalEvery?: number;
  readonly evaluate?: (step: number) => Promise<EvalRecord>;
  /** Steps already done (resume): training continues with batch `startStep`. Default 0. */
  readonly startStep?: number;
  readonly onStep?: (info: StepInfo) => void | Promise<void>;
  /** Called after each evaluation with the record and the training loss of that step. */
  readonly onEval?: (step: number, record: EvalRecord, loss: number) => void | Promise<void>;
  /** Checked after every step but the last: true stops the loop (after a checkpoint of that step). */
  readonly shouldStop?: () => boolean;
  /** Saves the state after `step` updates. Called every `checkpointEvery` steps, at the end, and on a stop. */
  readonly checkpoint?: (step: number) => Promise<void>;
  /** Default: `evalEvery`. */
  readonly checkpointEvery?: number;
  /** Rows per forward/backward pass (gradient accumulation, {@link trainStep}); default: the whole batch. */
  readonly microBatch?: number;
  /**
   * Evaluate `startStep` before training on (resume): its evaluation was due but never finished, because the
   * process died after that step's checkpoint. `startLoss` is the loss reported with it.
   */
  readonly evaluateStart?: boolean;
  readonly startLoss?: number;
}

export interface TrainResult {
  /** Updates done when the loop returned (== steps unless stopped). */
  readonly step: number;
  /** True when `shouldStop` ended the loop early. */
  readonly stopped: boolean;
  /** Loss of the last step this call ran (NaN when it ran none). */
  readonly loss: number;
  /** The last evaluation this call made, if any. */
  readonly lastEval?: { readonly step: number; readonly record: EvalRecord };
  /** Steps this call ran. */
  readonly stepsRun: number;
  /** Mean training throughput of this call (tokens per second of step time). */
  readonly tokensPerSecond: number;
  readonly elapsedSeconds: number;
  /**
   * The optimizer used. When `opts.optimizer` was a config, it was created here and the caller owns it
   * (checkpoint its state, then `dispose()` it).
   */
  readonly optimizer: AdamW;
}

/**
 * Lets the event loop run once (timers, I/O, signal handlers, worker messages) before the next step: setImmediate
 * where there is one (Node: after the poll phase, where signals arrive), else a MessageChannel message (browsers and
 * workers: a task without setTimeout's 4 ms clamp), else a zero-delay timeout. Costs well under a millisecond.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => {
    const g = globalThis as { setImmediate?: (f: () => void) => unknown; MessageChannel?: typeof MessageChannel };
    if (typeof g.setImmediate === 'function') g.setImmediate(resolve);
    else if (typeof g.MessageChannel === 'function') {
      const ch = new g.MessageChannel();
      ch.port1.onmessage = () => {
        ch.port1.close();
        resolve();
      };
      ch.port2.postMessage(null);
    } else setTimeout(resolve, 0);
  });
}

/** Steps counted from 1: the evaluation/checkpoint schedule is "every `every` steps, plus the final step". */
export function due(step: number, every: number, steps: number): boolean {
  return step === steps || step % every === 0;
}

function checkPositiveInt(field: string, x: number, min = 1): void {
  if (!Number.isInteger(x) || x < min) throw new ConfigError(field, `an integer >= ${min}`, x);
}

/** The numbers a training schedule needs, checked up front (ConfigError naming `train.<field>` or `seed`). */
export function checkSchedule(s: {
  readonly length: number;
  readonly batchSize: number;
  readonly steps: number;
  readonly evalEvery: number;
  readonly checkpointEvery?: number;
  readonly microBatch?: number;
  readonly seed: number;
}): void {
  checkPositiveInt('train.length', s.length);
  checkPositiveInt('train.batchSize', s.batchSize);
  checkPositiveInt('train.steps', s.steps);
  checkPositiveInt('train.evalEvery', s.evalEvery);
  if (s.checkpointEvery !== undefined) checkPositiveInt('train.checkpointEvery', s.checkpointEvery);
  if (s.microBatch !== undefined) checkPositiveInt('train.microBatch', s.microBatch);
  if (!Number.isInteger(s.seed)) throw new ConfigError('seed', 'an integer', s.seed);
}

/**
 * The training loop. Update `s` (0-based) trains on `trainingBatch(task, length, batchSize, seed, s)` with the
 * step seed `mixSeeds(seed, SEED_PURPOSE.dropout, s)`: everything the update sees is a pure function of
 * (seed, s) and the weights, so a run resumed at any step continues exactly as an uninterrupted one.
 *
 * After update `s` the step count is k = s + 1, and in this order: `onStep`; when k is a multiple of
 * `checkpointEvery` or final, `checkpoint(k)`; when k is a multiple of `evalEvery` or the final step,
 * `evaluate(k)` then `onEval`; then the loop yields to the event loop once ({@link yieldToEventLoop}: a signal
 * handler that sets the stop flag runs here, within one step); then, if k is not final, `shouldStop()`: true
 * checkpoints step k (unless just done) and returns.
 * Nothing is evaluated at step 0.
 */
export async function train(opts: TrainOptions): Promise<TrainResult> {
  const { model, task, length, batchSize, steps, seed } = opts;
  const evalEvery = opts.evalEvery ?? steps;
  const startStep = opts.startStep ?? 0;
  const checkpointEvery = opts.checkpointEvery ?? evalEvery;
  checkSchedule({ length, batchSize, steps, evalEvery, checkpointEvery, seed, microBatch: opts.microBatch });
  checkPositiveInt('train.startStep', startStep, 0);
  if (startStep > steps) throw new ConfigError('train.startStep', `at most train.steps (${steps})`, startStep);

  const optimizer =
    opts.optimizer instanceof AdamW
      ? opts.optimizer
      : new AdamW(model.params, optimizerConfigFor(model, opts.optimizer));
  const tokensPerStep = batchSize * sequenceLength(task, length);
  const t0 = performance.now();
  let stepMs = 0;
  let loss = NaN;
  let lastEval: TrainResult['lastEval'];
  let k = startStep;
  let stopped = false;
  const elapsed = () => (performance.now() - t0) / 1000;
  const evaluateAt = async (step: number, stepLoss: number) => {
    const record = await optimizer.withEmaWeights(() => opts.evaluate!(step)); // EMA weights when kept
    await opts.onEval?.(step, record, stepLoss);
    return { step, record };
  };
  if (opts.evaluate && opts.evaluateStart) lastEval = await evaluateAt(startStep, opts.startLoss ?? NaN);

  while (k < steps) {
    const s = k;
    const ts = performance.now();
    const batch = trainingTensorBatch(task, length, batchSize, seed, s);
    let result;
    try {
      result = await trainStep(model, optimizer, batch, mixSeeds(seed, SEED_PURPOSE.dropout, s), {
        microBatch: opts.microBatch,
      });
    } finally {
      disposeBatch(batch);
    }
    stepMs += performance.now() - ts;
    k = s + 1;
    loss = result.loss;
    const done = k - startStep;
    const el = elapsed();
    await opts.onStep?.({
      step: k,
      loss,
      stats: result.stats,
      tokensPerSecond: (done * tokensPerStep) / Math.max(stepMs / 1000, 1e-9),
      elapsedSeconds: el,
      etaSeconds: ((steps - k) * el) / done,
    });
    let saved = false;
    if (opts.checkpoint && due(k, checkpointEvery, steps)) {
      await opts.checkpoint(k); // before the evaluation: a crash while evaluating loses no training
      saved = true;
    }
    if (opts.evaluate && due(k, evalEvery, steps)) lastEval = await evaluateAt(k, loss);
    // A step on a synchronous backend (node, cpu, wasm) never returns to the event loop by itself: without this,
    // a SIGINT handler or a progress redraw would wait for the next file write (up to logEvery steps).
    await yieldToEventLoop();
    if (k < steps && opts.shouldStop?.()) {
      if (opts.checkpoint && !saved) await opts.checkpoint(k);
      stopped = true;
      break;
    }
  }

  const stepsRun = k - startStep;
  return {
    step: k,
    stopped,
    loss,
    lastEval,
    stepsRun,
    tokensPerSecond: stepsRun === 0 ? 0 : (stepsRun * tokensPerStep) / Math.max(stepMs / 1000, 1e-9),
    elapsedSeconds: elapsed(),
    optimizer,
  };
}
