import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import { CheckpointError, ConfigError, type TrainableLM } from '@tarm/core';
import { describeCpu, loadCheckpoint, saveCheckpoint } from '@tarm/core/node';
import { readJsonIfExists, writeJsonAtomic } from '@tarm/core/node/internal';
import { getTask, type Task } from '@tarm/tasks';
import { AdamW, OPTIMIZER_PREFIX, optimizerConfigFor } from '../adamw.js';
import { checkSchedule, due, train, type EvalRecord, type StepInfo } from '../loop.js';
import { appendJsonLine, readJsonLines, syncFile, writeJsonLinesAtomic } from './jsonl.js';
import { RunFolderError, differences, toJson, type RunConfig } from './run-config.js';
import { TensorBoardLog } from './tensorboard.js';

/** File names inside a run folder. */
export const RUN_FILES = Object.freeze({
  config: 'config.json',
  metrics: 'metrics.jsonl',
  checkpoint: 'checkpoint',
  summary: 'summary.json',
});

export type { LossLine, EvalLine, MetricsLine } from './metrics-line.js';
import type { EvalLine, LossLine, MetricsLine } from './metrics-line.js';

/** Checkpoint metadata (checkpoint/model.json `meta`). */
export interface CheckpointMeta {
  readonly kind: 'tarm-train-state';
  readonly step: number;
  readonly steps: number;
  readonly seed: number;
  readonly loss: number;
  /** Wall-clock seconds of the run up to this checkpoint, over all sessions. */
  readonly wallSeconds: number;
  readonly codeVersion: string;
}

/** summary.json, written when the run reaches its final step. */
export interface RunSummary {
  readonly finished: true;
  readonly step: number;
  readonly loss: number;
  /** The final evaluation (at the final step), if the run evaluates. */
  readonly evals: EvalRecord | null;
  readonly wallSeconds: number;
  /** Training throughput of the last session. */
  readonly tokensPerSecond: number;
  readonly paramCount: number;
  readonly codeVersion: string;
  /** The CPU kind of the last session, e.g. "AMD EPYC (avx2, avx512f)": node's kernels depend on it (docs/compute.md). */
  readonly cpu: string;
}

/** What a resume found in the run folder, reported before training goes on ({@link RunOptions.onResume}). */
export interface ResumeInfo {
  /** The step training continues from: the checkpoint's (0 when the run was stopped before its first checkpoint). */
  readonly step: number;
  /** The steps the run now trains to. */
  readonly steps: number;
  /** The steps config.json recorded (differs from `steps` when the run is continued to another number). */
  readonly savedSteps: number;
  /** The folder held a checkpoint (false: stopped before its first one, so training starts again at step 0). */
  readonly checkpoint: boolean;
  /** The folder held summary.json: the run had finished (it is continued to more steps). */
  readonly finished: boolean;
  /** metrics.jsonl lines kept (up to the checkpoint's step) and dropped (after it: those steps are trained again). */
  readonly metricsKept: number;
  readonly metricsDropped: number;
  /** metrics.jsonl was missing though the checkpoint is past its first loss line: the history before `step` is lost. */
  readonly metricsMissing: boolean;
  /** Wall-clock seconds of the run up to the checkpoint, over all sessions. */
  readonly wallSeconds: number;
}

export interface RunOptions {
  /** The run folder (created when missing). */
  readonly outDir: string;
  /** The resolved configuration; stored as config.json, compared on resume. */
  readonly config: RunConfig;
  /** Builds the model from the caller's model config and the run seed (same result every call). */
  readonly createModel: () => TrainableLM;
  /**
   * Continue the run in `outDir` (a missing or empty folder starts a new run). A folder whose checkpoint was
   * deleted after it had been written (metrics.jsonl goes past the first checkpoint's step) is refused.
   */
  readonly resume?: boolean;
  /** Called once when a run is resumed, before training goes on: from which step, and what the folder held. */
  readonly onResume?: (info: ResumeInfo) => void;
  /** The training task; default: `getTask(config.train.task)`. Its name must equal `config.train.task`. */
  readonly task?: Task;
  readonly evaluate?: (model: TrainableLM, step: number) => Promise<EvalRecord>;
  readonly onStep?: (info: StepInfo) => void | Promise<void>;
  readonly onEval?: (step: number, record: EvalRecord, loss: number) => void | Promise<void>;
  /** Polled after every step; true checkpoints the current step and returns (e.g. on SIGINT). */
  readonly shouldStop?: () => boolean;
  /** Examples per evaluation entry kept in metrics.jsonl (the summary keeps them all). Default 5. */
  readonly metricsExamples?: number;
  /**
   * Also log to a TensorBoard event file in the run folder (`events.out.tfevents.*`): every metrics.jsonl line as
   * scalars at its step. On resume the file is rewritten from the metrics lines kept. Not part of the config.
   */
  readonly tensorboard?: boolean;
}

export interface RunResult {
  readonly outDir: string;
  /** Steps done when the call returned. */
  readonly step: number;
  readonly stopped: boolean;
  /** The step the run was resumed from, or null for a new run. */
  readonly resumedFrom: number | null;
  /** The trained model; the caller owns it (`model.params.dispose()` when done). */
  readonly model: TrainableLM;
  readonly summary?: RunSummary;
}

/**
 * Trains a model in a run folder:
 *
 *     config.json           the RunConfig (written once, compared on resume)
 *     metrics.jsonl         loss lines every `logEvery` steps and eval lines ({kind, step, ...}), append-only
 *     checkpoint/           params by ParamStore name + `optimizer.{m,v,step}.<name>`; meta {step, wallSeconds, ...}
 *     summary.json          written when the final step is reached
 *     events.out.tfevents.* with `tensorboard`: the metrics lines as TensorBoard scalars
 *
 * Checkpoints every `checkpointEvery` steps (default evalEvery), at the end, and when `shouldStop` stops the run.
 * With `resume`, the configuration must equal config.json (a {@link RunFolderError} names the first differing
 * field; only `train.steps` may change, so a finished run can be continued to more steps, bit for bit the run that
 * was asked for them from the start), the checkpoint is loaded into the model and the optimizer, metrics lines after the checkpoint's step are
 * dropped (the file is rewritten atomically), and training continues: the result is bit for bit the run that was
 * never interrupted (same batches, same dropout seeds, same optimizer state). Without `resume`, a folder that is
 * not empty is refused.
 *
 * Every file is written atomically (temporary file + rename) except metrics.jsonl, which only ever gets whole
 * lines appended; a torn last line left by a kill is dropped when the run resumes.
 */
export async function runTraining(opts: RunOptions): Promise<RunResult> {
  const { outDir } = opts;
  const config = toJson(opts.config);
  const t = config.train;
  if (!t || typeof t !== 'object') throw new ConfigError('train', 'an object with the training settings', t);
  checkSchedule({ ...t, seed: config.seed });
  const logEvery = t.logEvery ?? 10;
  if (!Number.isInteger(logEvery) || logEvery < 1) throw new ConfigError('train.logEvery', 'an integer >= 1', logEvery);
  const task = opts.task ?? getTask(t.task);
  if (task.name !== t.task)
    throw new ConfigError('train.task', `the name of the task passed in ("${task.name}")`, t.task);
  const metricsExamples = opts.metricsExamples ?? 5;

  const paths = {
    config: join(outDir, RUN_FILES.config),
    metrics: join(outDir, RUN_FILES.metrics),
    checkpoint: join(outDir, RUN_FILES.checkpoint),
    summary: join(outDir, RUN_FILES.summary),
  };

  // 1. Decide between a new run and a resumed one before touching anything.
  const existing = await listDir(outDir);
  const saved = existing.length > 0 ? await readJsonFile<RunConfig>(paths.config) : undefined;
  if (existing.length > 0 && !opts.resume) {
    if (saved === undefined)
      throw new RunFolderError(outDir, `is not empty and holds no ${RUN_FILES.config}; choose another --out`);
    throw new RunFolderError(
      outDir,
      `already holds ${await describeRun(paths)}; pass --resume to continue it, or choose another --out`,
    );
  }
  if (existing.length > 0 && saved === undefined) {
    throw new RunFolderError(outDir, `cannot resume: not a run folder (no ${RUN_FILES.config}); choose another --out`);
  }
  if (saved !== undefined) {
    // Every field must match but train.steps: a run may be continued to more steps (or resumed short of them).
    const ds = differences({ ...saved, train: { ...saved.train, steps: config.train.steps } }, config);
    if (ds.length > 0) {
      const list = ds
        .map(
          (d) => `"${d.path}" differs (the run folder has ${JSON.stringify(d.a)}, this run has ${JSON.stringify(d.b)})`,
        )
        .join('; ');
      throw new RunFolderError(
        outDir,
        `cannot resume: config field ${list}; resume with the same configuration, or start a new run with another --out`,
        ds[0]!.path,
      );
    }
  }
  const hasCheckpoint = saved !== undefined && (await exists(join(paths.checkpoint, 'model.json')));
  const savedLines = saved === undefined ? [] : await readJsonLines<MetricsLine>(paths.metrics);
  if (saved !== undefined && !hasCheckpoint) checkNoLostCheckpoint(outDir, saved.train, savedLines);

  // 2. Model and optimizer, restored from the checkpoint when there is one.
  const model = opts.createModel();
  let optimizer: AdamW | undefined;
  try {
    optimizer = new AdamW(model.params, optimizerConfigFor(model, t.optimizer));
    let startStep = 0;
    let wallOffset = 0;
    let lastLoss = NaN;
    if (hasCheckpoint) {
      const meta = await restore(paths.checkpoint, model, optimizer, t.steps, outDir);
      startStep = meta.step;
      wallOffset = meta.wallSeconds;
      lastLoss = meta.loss;
    }

    // 3. The folder: config.json for a new run; metrics cut back to the checkpoint for a resumed one.
    await mkdir(outDir, { recursive: true });
    let lines: MetricsLine[] = [];
    if (saved === undefined || saved.train.steps !== t.steps) {
      await writeJsonAtomic(paths.config, config); // a new run, or one continued to another number of steps
    }
    if (saved !== undefined) {
      const metricsMissing = startStep >= logEvery && !(await exists(paths.metrics)); // a loss line was written at step logEvery
      lines = savedLines.filter((l) => typeof l?.step === 'number' && l.step <= startStep);
      opts.onResume?.({
        step: startStep,
        steps: t.steps,
        savedSteps: saved.train.steps,
        checkpoint: hasCheckpoint,
        finished: await exists(paths.summary),
        metricsKept: lines.length,
        metricsDropped: savedLines.length - lines.length,
        metricsMissing,
        wallSeconds: wallOffset,
      });
      await writeJsonLinesAtomic(paths.metrics, lines);
      await rm(paths.summary, { force: true });
      await removeTempFiles(outDir);
      await removeTempFiles(paths.checkpoint);
    }
    let lastEval: EvalLine | undefined = [...lines].reverse().find((l): l is EvalLine => l.kind === 'eval');
    // The checkpoint is written before its step's evaluation: a process that died while evaluating left it undone.
    const evalDue = startStep > 0 && due(startStep, t.evalEvery, t.steps);
    const evaluateStart = opts.evaluate !== undefined && evalDue && lastEval?.step !== startStep;
    const tb = opts.tensorboard ? await TensorBoardLog.open(outDir, t.task, lines, wallOffset) : undefined;

    // 4. Train.
    const t0 = performance.now();
    const wall = () => wallOffset + (performance.now() - t0) / 1000;
    const result = await train({
      model,
      task,
      length: t.length,
      batchSize: t.batchSize,
      steps: t.steps,
      seed: config.seed,
      optimizer,
      evalEvery: t.evalEvery,
      checkpointEvery: t.checkpointEvery,
      startStep,
      microBatch: t.microBatch,
      evaluateStart,
      startLoss: lastLoss,
      evaluate: opts.evaluate ? (step) => opts.evaluate!(model, step) : undefined,
      shouldStop: opts.shouldStop,
      onStep: async (info) => {
        lastLoss = info.loss;
        if (info.step % logEvery === 0 || info.step === t.steps) {
          const line: LossLine = {
            kind: 'loss',
            step: info.step,
            loss: info.loss,
            tokensPerSecond: info.tokensPerSecond,
            wallSeconds: wall(),
            ...(Object.keys(info.stats).length > 0 ? { stats: info.stats } : {}),
          };
          await appendJsonLine(paths.metrics, line);
          await tb?.write(line);
        }
        await opts.onStep?.(info);
      },
      onEval: async (step, record, loss) => {
        lastEval = { kind: 'eval', step, wallSeconds: wall(), loss, evals: record };
        await appendJsonLine(paths.metrics, { ...lastEval, evals: trimExamples(record, metricsExamples) });
        await tb?.write(lastEval);
        await opts.onEval?.(step, record, loss);
      },
      checkpoint: async (step) => {
        await syncFile(paths.metrics); // the lines up to `step` are durable before the checkpoint that keeps them
        const meta: CheckpointMeta = {
          kind: 'tarm-train-state',
          step,
          steps: t.steps,
          seed: config.seed,
          loss: lastLoss,
          wallSeconds: wall(),
          codeVersion: config.codeVersion,
        };
        const state = optimizer!.state();
        try {
          await saveCheckpoint(
            paths.checkpoint,
            { ...Object.fromEntries(model.params.entries()), ...state },
            { ...meta },
            `step-${String(step).padStart(8, '0')}`,
          );
        } finally {
          for (const x of Object.values(state)) x.dispose();
        }
      },
    });

    let summary: RunSummary | undefined;
    if (!result.stopped) {
      summary = {
        finished: true,
        step: result.step,
        loss: lastLoss,
        evals: lastEval && lastEval.step === result.step ? lastEval.evals : null,
        wallSeconds: wall(),
        tokensPerSecond: result.tokensPerSecond,
        paramCount: model.params.count(),
        codeVersion: config.codeVersion,
        cpu: describeCpu(),
      };
      await writeJsonAtomic(paths.summary, summary);
    }
    return {
      outDir,
      step: result.step,
      stopped: result.stopped,
      resumedFrom: saved === undefined ? null : startStep,
      model,
      summary,
    };
  } catch (e) {
    model.params.dispose();
    throw e;
  } finally {
    optimizer?.dispose();
  }
}

/** Loads checkpoint/ into the model's params and the optimizer; every problem is a CheckpointError. */
async function restore(
  dir: string,
  model: TrainableLM,
  optimizer: AdamW,
  steps: number,
  outDir: string,
): Promise<CheckpointMeta> {
  const { json, tensors } = await loadCheckpoint(dir);
  const where = join(dir, 'model.json');
  try {
    const meta = json.meta as Partial<CheckpointMeta>;
    if (meta.kind !== 'tarm-train-state' || !Number.isInteger(meta.step) || meta.step! < 0) {
      throw new CheckpointError(where, `meta.step ${JSON.stringify(meta.step)} is not a step count`);
    }
    if (meta.step! > steps) {
      throw new RunFolderError(
        outDir,
        `cannot resume to ${steps} steps: the run has already done ${meta.step} (ask for at least that many)`,
        'train.steps',
      );
    }
    const params: Record<string, tf.Tensor> = {};
    for (const [name, x] of Object.entries(tensors)) {
      if (name.startsWith(OPTIMIZER_PREFIX)) continue;
      if (!model.params.has(name))
        throw new CheckpointError(where, `holds a tensor "${name}" that is no parameter of this model`);
      params[name] = x;
    }
    try {
      model.params.assign(params);
    } catch (e) {
      throw new CheckpointError(where, (e as Error).message);
    }
    try {
      await optimizer.loadState(tensors);
    } catch (e) {
      throw new CheckpointError(where, (e as Error).message);
    }
    return { wallSeconds: 0, loss: NaN, ...meta } as CheckpointMeta;
  } finally {
    for (const x of Object.values(tensors)) x.dispose();
  }
}

/**
 * A run folder without a checkpoint may be resumed only when it never had one (stopped before its first): a
 * metrics.jsonl that goes past the first checkpoint's step means the checkpoint was there and has been deleted,
 * and starting again silently from step 0 would throw that training away.
 */
function checkNoLostCheckpoint(
  outDir: string,
  t: { steps: number; evalEvery: number; checkpointEvery?: number },
  lines: readonly MetricsLine[],
): void {
  const first = Math.min(t.checkpointEvery ?? t.evalEvery, t.steps); // the first step a checkpoint is written at
  // a loss line at `first` may precede its checkpoint (a kill between them); a line past it, or its evaluation, may not
  const past = lines.filter(
    (l) => typeof l?.step === 'number' && (l.step > first || (l.kind === 'eval' && l.step >= first)),
  );
  if (past.length === 0) return;
  const last = Math.max(...past.map((l) => l.step));
  throw new RunFolderError(
    outDir,
    `cannot resume: ${RUN_FILES.checkpoint}/ is missing, but ${RUN_FILES.metrics} goes to step ${last} (the first checkpoint is written at step ${first}), ` +
      'so the checkpoint was deleted; restore it, or start again in another --out',
  );
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/** Deletes the temporary files of atomic writes a killed process left behind (`<name>.tmp-<pid>-<n>`). */
async function removeTempFiles(dir: string): Promise<void> {
  for (const f of await listDir(dir)) if (/\.tmp-\d+-\d+$/.test(f)) await rm(join(dir, f), { force: true });
}

async function readJsonFile<T>(path: string): Promise<T | undefined> {
  try {
    return await readJsonIfExists<T>(path);
  } catch (e) {
    throw new RunFolderError(path, `cannot read: ${(e as Error).message}`);
  }
}

async function describeRun(paths: { summary: string; checkpoint: string }): Promise<string> {
  const summary = await readJsonIfExists<RunSummary>(paths.summary).catch(() => undefined);
  if (summary) return `a finished run (step ${summary.step})`;
  const ckpt = await readJsonIfExists<{ meta?: { step?: number } }>(join(paths.checkpoint, 'model.json')).catch(
    () => undefined,
  );
  return ckpt?.meta?.step !== undefined
    ? `a partial run (checkpoint at step ${ckpt.meta.step})`
    : 'a partial run (no checkpoint yet)';
}

function trimExamples(record: EvalRecord, keep: number): EvalRecord {
  if (!Number.isFinite(keep)) return record;
  return Object.fromEntries(
    Object.entries(record).map(([k, m]) => [
      k,
      m.examples && m.examples.length > keep ? { ...m, examples: m.examples.slice(0, keep) } : m,
    ]),
  );
}
