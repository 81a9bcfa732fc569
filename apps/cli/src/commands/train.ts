import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { readJsonIfExists } from '@tarm/core/node/internal';
import { ConfigError, TarmError } from '@tarm/core';
import { resolveBackend, type ResolvedBackend } from '@tarm/core/internal';
import {
  defineModelConfig,
  fitMicroBatch,
  flopsPerToken,
  trainingMemory,
  type ModelConfig,
  type ModelConfigInput,
} from '@tarm/recursion';
import { getTask, type DecodeOptions } from '@tarm/tasks';
import { sequenceLength } from '@tarm/tasks/internal';
import { evaluateLengths, formatMetricsTable, type LengthResult } from '@tarm/eval';
import { duration as formatDuration, gib } from '@tarm/eval/internal';
import { runTraining, type ResumeInfo, type RunConfig } from '@tarm/train/node';
import { differences } from '@tarm/train/node/internal';
import { createModel } from '@tarm/recursion';
import {
  flagsOfRun,
  resolveResume,
  resolveTrain,
  TRAIN_FLAGS,
  type ResolvedTrain,
  type SavedTrainConfig,
  type TrainFlags,
} from '../options.js';
import { backendReason, fileInPath, UsageError } from '../errors.js';
import { addSettingFlags, typedFlags } from '../flags.js';
import { createProgress } from '../progress.js';
import { CODE_VERSION } from '../version.js';

/** A run longer than this (at the machine's own pace) says so once, with how to make it small (issue 30, item 3). */
const LONG_RUN_SECONDS = 30 * 60;

export function registerTrain(program: Command): void {
  const command = program
    .command('train')
    .description('train one model of the ladder on one task; writes a resumable run folder')
    .option(
      '--config <file>',
      "every setting from a run config (a run folder's config.json, or what a study hands its runs); flags given as well override it",
    );
  addSettingFlags(command, TRAIN_FLAGS)
    .option(
      '--resume',
      "continue the run in --out (an interrupted one, or a finished one to a larger --steps); its settings come from the run's config.json",
    )
    .option('--json', 'print one JSON object as the last stdout line')
    .action(async (options: Record<string, unknown>, cmd: Command) => {
      // every flag checked before anything is written
      const { raw: flags, given } = typedFlags(cmd, options, TRAIN_FLAGS);
      const { config: file, ...typed } = flags;
      given.delete('config');
      const typedKeys = [...given];
      const request = typeof file === 'string' ? await readRunConfig(file) : undefined;
      // --config: its settings as if typed (a resume checks them against the run's), the flags typed on top
      const fromFile = request ? flagsOfRequest(request) : {};
      const raw = { ...typed, ...fromFile, ...Object.fromEntries([...given].map((k) => [k, typed[k]])) };
      for (const k of Object.keys(fromFile)) given.add(k);
      const resolved = raw.resume ? await resumeOf(raw, given) : resolveTrain(raw);
      if (request) sameModel(resolved, request, file as string, typedKeys);
      await trainCommand(resolved);
    });
}

/** A run config file (`--config`): JSON with the parts of config.json that set a run. */
async function readRunConfig(file: string): Promise<SavedTrainConfig> {
  let c: SavedTrainConfig | undefined;
  try {
    c = await readJsonIfExists<SavedTrainConfig>(file);
  } catch (e) {
    throw new UsageError(`invalid --config: ${(e as Error).message}`);
  }
  if (c === undefined)
    throw new UsageError(`invalid --config: ${file}: no such file; give a run config (a run folder's config.json)`);
  const isObj = (x: unknown) => typeof x === 'object' && x !== null && !Array.isArray(x);
  for (const k of ['model', 'train'] as const)
    if (!isObj(c[k]))
      throw new UsageError(
        `invalid --config: ${file}: ${k}: missing or not an object; a run config has model, train, seed (and eval, backend), as a run folder's config.json`,
      );
  if (!Number.isInteger(c.seed))
    throw new UsageError(`invalid --config: ${file}: seed: got ${JSON.stringify(c.seed)}; allowed: an integer`);
  return c;
}

/**
 * The flags a run config sets; without a `train.microBatch` the micro-batch is chosen for the backend (auto). A
 * study's config may also say how the run logs (`log`), which config.json does not keep.
 */
function flagsOfRequest(c: SavedTrainConfig & { log?: unknown }): Record<string, unknown> {
  const { microBatch, ...flags } = flagsOfRun(c);
  return {
    ...flags,
    ...(c.train.microBatch !== undefined && { microBatch }),
    ...(c.log !== undefined && { log: c.log }),
  };
}

/**
 * The model a --config run trains is the file's, but for the flags typed on top: a model setting no flag carries
 * is refused, not dropped.
 */
function sameModel(resolved: ResolvedTrain, c: SavedTrainConfig, file: string, typedKeys: readonly string[]): void {
  let asked: unknown;
  try {
    asked = defineModelConfig(c.model as ModelConfigInput);
  } catch (e) {
    if (e instanceof ConfigError)
      throw new UsageError(
        `invalid --config: ${file}: model.${e.field}: got ${JSON.stringify(e.got)}; allowed: ${e.allowed}`,
      );
    throw e;
  }
  const overridden = new Set(typedKeys);
  const d = differences(toJsonValue(asked), toJsonValue(resolved.model)).find(
    (x) => !overridden.has(x.path.split('.')[0]!),
  );
  if (d)
    throw new UsageError(
      `invalid --config: ${file}: model.${d.path} ${JSON.stringify(d.a)} cannot be set for \`tarm train\` (it would train with ${JSON.stringify(d.b)}); use the library (createModel) for it`,
    );
}

const toJsonValue = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

/** `--resume`: the run folder must hold a run; its config.json gives every setting the command line does not. */
async function resumeOf(raw: Record<string, unknown>, given: ReadonlySet<string>): Promise<ResolvedTrain> {
  const out = typeof raw.out === 'string' && raw.out !== '' ? raw.out : resolveTrain(raw).out;
  const where = join(out, 'config.json');
  if (!existsSync(out))
    throw new UsageError(
      `cannot resume ${out}: no such folder; give the --out of an earlier run, or drop --resume to start a new one`,
    );
  let saved: SavedTrainConfig | undefined;
  try {
    saved = await readJsonIfExists<SavedTrainConfig>(where);
  } catch (e) {
    throw new UsageError(`cannot resume ${out}: ${(e as Error).message}`);
  }
  if (!saved)
    throw new UsageError(
      `cannot resume ${out}: it holds no config.json, so no run to continue; give the --out of an earlier run, or drop --resume to start a new one`,
    );
  return resolveResume(raw, given, saved, out);
}

/** The training job: backend, run folder, progress line, final table and JSON line. */
export async function trainCommand({
  flags,
  model: modelConfig,
  out,
  ema,
}: ResolvedTrain): Promise<Record<string, unknown>> {
  const file = fileInPath(out); // before the backend loads: --out names a file, or a folder inside one
  if (file !== undefined)
    throw new UsageError(
      `invalid --out: ${file === resolve(out) ? out : file} is a file, not a folder; give a folder for the run (a new or empty one)`,
    );
  const backend = await resolveBackend(flags.backend);
  console.error(
    `tarm: backend ${backend.name}${flags.backend === 'auto' ? ` (${backendReason(backend.reason)})` : ''}`,
  );
  const task = getTask(flags.task);
  const microBatch = chooseMicroBatch(flags, modelConfig, backend);
  const decode: DecodeOptions = { strategy: flags.decode, temperature: flags.temperature, seed: flags.seed };
  const config: RunConfig & { eval: unknown; backend: string } = {
    model: modelConfig,
    train: {
      task: flags.task,
      length: flags.length,
      batchSize: flags.batchSize,
      steps: flags.steps,
      evalEvery: flags.evalEvery,
      ...(microBatch < flags.batchSize ? { microBatch } : {}),
      optimizer: { lr: flags.lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: flags.weightDecay, ema },
    },
    seed: flags.seed,
    codeVersion: CODE_VERSION,
    eval: { lengths: flags.evalLengths, n: flags.evalN, decode: flags.decode, temperature: flags.temperature },
    backend: backend.name,
  };
  const progress = createProgress(flags.steps, `${flags.model}/${flags.task}`);
  let lastAcc: number | undefined;
  let last = { step: 0, loss: Number.NaN, tps: 0 };
  let stop = false;
  let warnedLong = false;
  const onSignal = () => {
    if (!stop)
      console.error(
        '\ntarm: stopping after this step, with a checkpoint (Ctrl-C again quits at once, keeping the last checkpoint)',
      );
    stop = true;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // a study's worker whose study died (its IPC channel closed) stops at the next step, resumable
  if (process.connected) process.once('disconnect', onSignal);
  let finalEvals: Record<string, LengthResult> | undefined;
  let result;
  let stoppedInEvaluation = false;
  let evaluating = 0; // the step of the evaluation under way (a resume may evaluate its checkpoint's step first)
  try {
    result = await runTraining({
      outDir: out,
      config,
      resume: flags.resume,
      createModel: () => createModel(modelConfig, flags.seed),
      evaluate: async (m, step) => {
        evaluating = step;
        // length by length (the same numbers: each length has its own problems and decoding stream), so that a stop
        // asked for during an evaluation ends it at the next length; the step's checkpoint is already written
        const record: Record<string, LengthResult> = {};
        for (const L of flags.evalLengths) {
          await new Promise((r) => setImmediate(r)); // let a signal handler run
          if (stop) throw new StoppedDuringEvaluation();
          Object.assign(record, await evaluateLengths(m, task, [L], { n: flags.evalN, seed: 1337, decode }));
        }
        return record;
      },
      onStep: (info) => {
        if (!warnedLong && info.elapsedSeconds >= 10 && info.etaSeconds > LONG_RUN_SECONDS) {
          warnedLong = true; // said once, from this machine's own pace (after 10 s, when the first steps are past)
          console.error(
            `\ntarm: at this pace the run needs about ${formatDuration(info.etaSeconds)} more here. A run of minutes: smaller --d-model (64), --n-heads 4, --budget 6, --steps 300, --batch-size 32; Ctrl-C stops within a step and --resume continues.`,
          );
        }
        last = { step: info.step, loss: info.loss, tps: info.tokensPerSecond };
        progress.update(info.step, { loss: info.loss, acc: lastAcc, tps: info.tokensPerSecond });
      },
      onEval: (_step, record) => {
        finalEvals = record as Record<string, LengthResult>;
        lastAcc = 100 * (record[String(flags.length)] ?? Object.values(record)[0])!.charAcc;
        if (last.step > 0) progress.update(last.step, { loss: last.loss, acc: lastAcc, tps: last.tps });
      },
      shouldStop: () => stop,
      onResume: (info) => console.error(resumeLine(out, info)),
      tensorboard: flags.log === 'tensorboard',
    });
  } catch (e) {
    if (!(e instanceof StoppedDuringEvaluation)) throw outOfMemory(e, backend, microBatch) ?? e;
    stoppedInEvaluation = true;
  } finally {
    progress.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('disconnect', onSignal);
  }
  if (stoppedInEvaluation) {
    console.error(
      `tarm: stopped at step ${evaluating} of ${flags.steps}, during its evaluation (done again on resume); continue with: tarm train --out ${out} --resume`,
    );
    process.exitCode = 130;
    return {};
  }
  if (!result) throw new TarmError('training ended without a result'); // unreachable: runTraining resolved or threw
  const summary = result.summary;
  if (!summary) {
    console.error(
      `tarm: stopped at step ${result.step} of ${flags.steps}; continue with: tarm train --out ${out} --resume`,
    );
    process.exitCode = 130;
    return {};
  }
  const evals = (summary.evals ?? finalEvals ?? {}) as Record<string, LengthResult>;
  const flops = flopsPerToken(modelConfig, sequenceLength(task, flags.length));
  const record = {
    model: flags.model,
    task: flags.task,
    length: flags.length,
    budget: flags.budget,
    steps: flags.steps,
    backend: backend.name,
    params: summary.paramCount,
    blockPasses: result.model.blockPasses,
    tokensPerSecond: Math.round(summary.tokensPerSecond),
    wallSeconds: Number(summary.wallSeconds.toFixed(2)),
    fwdFlopsPerToken: flops.forward,
    bwdFlopsPerToken: flops.backward,
    evals: Object.fromEntries(
      Object.entries(evals).map(([L, m]) => [
        L,
        {
          charAcc: m.charAcc,
          exactMatch: m.exactMatch,
          firstCharAcc: m.firstCharAcc,
          lastCharAcc: m.lastCharAcc,
          quartiles: m.quartiles,
        },
      ]),
    ),
  };
  const lines = [
    `run ${out}: ${flags.model} on ${flags.task} (L = ${flags.length}), ${summary.step} steps, ${record.wallSeconds}s, ${record.tokensPerSecond} tok/s`,
  ];
  if (Object.keys(evals).length > 0) lines.push(formatMetricsTable(evals));
  const ex = evals[String(flags.length)]?.examples ?? [];
  for (const e of ex.slice(0, 5))
    lines.push(
      `  ${e.prompt}${e.prediction.padEnd(e.answer.length)}   ${e.prediction === e.answer ? 'ok' : `expected ${e.answer}`}`,
    );
  (flags.json ? console.error : console.log)(lines.join('\n'));
  if (flags.json) process.stdout.write(JSON.stringify(record) + '\n');
  progress.result(record);
  result.model.params.dispose();
  return record;
}

/** Thrown by the evaluation when a stop was asked for during it (the step's checkpoint is already written). */
class StoppedDuringEvaluation extends Error {}

/** What a resume found, in one line (and a warning when the loss history is gone). */
export function resumeLine(out: string, r: ResumeInfo): string {
  if (!r.checkpoint)
    return `tarm: resuming ${out}: no checkpoint yet (stopped before its first), training again from step 0 of ${r.steps}`;
  if (r.finished && r.step === r.steps)
    return `tarm: ${out} has already finished its ${r.steps} steps: nothing to train (add --steps N to continue it to N steps)`;
  const continued = r.finished
    ? `; it had finished at ${r.savedSteps} steps and continues to ${r.steps}`
    : r.savedSteps !== r.steps
      ? `; config.json said ${r.savedSteps} steps`
      : '';
  const metrics = r.metricsMissing
    ? `\ntarm: warning: ${out}/metrics.jsonl is missing: the loss and evaluation history before step ${r.step} is lost (training goes on from the checkpoint)`
    : `; metrics.jsonl: ${r.metricsKept} lines kept${r.metricsDropped > 0 ? `, ${r.metricsDropped} after the checkpoint dropped (those steps are trained again)` : ''}`;
  return `tarm: resuming ${out} from step ${r.step} of ${r.steps} (its checkpoint; ${Math.round(r.wallSeconds)}s trained so far${continued})${metrics}`;
}

/**
 * Rows per forward/backward pass: --micro-batch when given; with auto, the whole batch unless the backend has a
 * memory limit (wasm's heap) that the estimated step exceeds, then the largest divisor of --batch that fits
 * (said on stderr). A model that does not fit even one row at a time is refused before anything is written.
 */
export function chooseMicroBatch(
  flags: TrainFlags,
  model: ModelConfig,
  backend: Pick<ResolvedBackend, 'name' | 'memoryLimitBytes'>,
): number {
  if (flags.microBatch !== 'auto') return flags.microBatch;
  const limit = backend.memoryLimitBytes;
  if (limit === undefined) return flags.batchSize;
  const memory = trainingMemory(model, sequenceLength(getTask(flags.task), flags.length));
  const rows = fitMicroBatch(memory, flags.batchSize, limit);
  const need = `a training step of ${flags.batchSize} rows needs about ${gib(memory.bytes(flags.batchSize))}`;
  if (rows === undefined) {
    throw new TarmError(
      `${need} (${gib(memory.bytes(1))} for one row) and does not fit the ${backend.name} backend's ${gib(limit)}; ` +
        'use --backend node (no such limit), or a smaller --d-model, --budget or --length',
    );
  }
  if (rows < flags.batchSize)
    console.error(
      `tarm: ${need}, more than the ${backend.name} backend's ${gib(limit)} allow: micro-batches of ${rows} rows (--micro-batch to choose)`,
    );
  return rows;
}

/** A backend that ran out of memory mid-run, as an error that names the fix; undefined for any other error. */
function outOfMemory(
  e: unknown,
  backend: Pick<ResolvedBackend, 'name' | 'memoryLimitBytes'>,
  microBatch: number,
): TarmError | undefined {
  const message = e instanceof Error ? e.message : String(e);
  if (
    !/memory access out of bounds|Aborted\(\)|out of memory|\bOOM\b|Cannot allocate|Array buffer allocation failed/i.test(
      message,
    )
  )
    return undefined;
  const limit = backend.memoryLimitBytes === undefined ? '' : ` (its limit is ${gib(backend.memoryLimitBytes)})`;
  return new TarmError(
    `the ${backend.name} backend ran out of memory${limit}; the run folder keeps its last checkpoint. Use --backend node, ` +
      `or rerun in a new --out with a --micro-batch smaller than ${microBatch} (${message.split('\n')[0]})`,
  );
}
