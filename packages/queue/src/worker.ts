import type { ChildProcess } from 'node:child_process';
import { hostname, availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker, WaitingError, UnrecoverableError, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { BACKEND_CHOICES, type BackendChoice, type BackendName } from '@tarm/core';
import { resolveBackend } from '@tarm/core/internal';
import { planWorkers, type RunState } from '@tarm/study';
import {
  isFinished,
  isStarted,
  readObject,
  readStudyFile,
  runDir,
  studyGrid,
  stepsToReach,
  trainRun,
} from '@tarm/study/internal';
import { QueueError } from './errors.js';
import type { RunJobData, RunJobProgress, RunJobResult } from './jobs.js';
import type { QueueLocation } from './url.js';

/** BullMQ's stalled-job knobs: how soon a job whose worker died goes to another one. */
export interface StallSettings {
  /** ms a job's lock lives without renewal (renewed every half of it); a dead worker's job is free after this (default 30 000). */
  readonly lockDuration?: number;
  /** ms between checks for jobs whose lock expired (default 30 000). */
  readonly stalledInterval?: number;
  /** Times a run may be taken back from a dead worker before it is marked failed (default 5). */
  readonly maxStalledCount?: number;
}

/** Options of {@link startWorker}. */
export interface WorkerOptions extends StallSettings {
  readonly location: QueueLocation;
  /** Path of the tarm CLI entry script (each run is `node <cliEntry> train ...`). */
  readonly cliEntry: string;
  /** Runs trained at once on this machine (default 1). */
  readonly concurrency?: number;
  /** `tarm train --backend` for every run; `auto` (default) resolves here, once. */
  readonly backend?: BackendChoice;
  /** Environment of the training children (default: this process's, less TARM_QUEUE). */
  readonly env?: NodeJS.ProcessEnv;
  /** One line per event a person may want to see (run taken, finished, failed, Redis errors), never the password. */
  readonly log?: (line: string) => void;
}

/** A running worker. */
export interface QueueWorker {
  /** `host:pid`, as the study's status shows it. */
  readonly name: string;
  readonly backend: BackendName;
  /** Stops taking jobs; running runs are stopped at their next step (checkpointed) and put back on the queue. */
  close(): Promise<void>;
}

const PROGRESS_EVERY_MS = 1_000;

/** The step of a run folder's checkpoint (`tarm train`'s checkpoint/model.json meta), 0 when there is none. */
function checkpointStep(dir: string): number {
  const meta = readObject(join(dir, 'checkpoint', 'model.json'))?.meta as { step?: unknown } | undefined;
  return typeof meta?.step === 'number' ? meta.step : 0;
}
const FAILED_REASON_LINES = 8;

function positive(name: string, v: number | undefined, fallback: number): number {
  const x = v ?? fallback;
  if (!Number.isInteger(x) || x < 1) throw new QueueError(`--${name}: a positive integer, got ${v}`, name);
  return x;
}

/**
 * Takes runs from the queue and trains each as a normal run folder (`tarm train`, `--resume` when the folder holds
 * a started run, so a run taken over from a dead worker continues from its checkpoint), reporting progress through
 * the job. A job is acknowledged (completed) only after the run's summary.json is written. A run that exits non-zero
 * fails the attempt with its stderr tail; BullMQ retries it up to the job's attempts.
 *
 * The job's lock is the cross-host lock of the run: while this worker renews it no other worker takes the run;
 * if a renewal fails (Redis lost it), the training child is killed at once, since another worker may take the run.
 */
export async function startWorker(opts: WorkerOptions): Promise<QueueWorker> {
  const { location: loc } = opts;
  const log = opts.log ?? (() => {});
  const choice = opts.backend ?? 'auto';
  if (!BACKEND_CHOICES.includes(choice))
    throw new QueueError(
      `--backend: unknown backend ${JSON.stringify(choice)}; allowed: ${BACKEND_CHOICES.join(', ')}`,
      'backend',
    );
  const concurrency = positive('concurrency', opts.concurrency, 1);
  const lockDuration = positive('lock-duration', opts.lockDuration, 30_000);
  const stalledInterval = positive('stalled-interval', opts.stalledInterval, 30_000);
  const maxStalledCount = positive('max-stalled', opts.maxStalledCount, 5);
  const backend = choice === 'auto' ? await resolveBackend(choice) : { name: choice, reason: 'asked for' };
  const { threads } = planWorkers({ cores: availableParallelism(), runs: concurrency, workers: concurrency });
  const name = `${hostname()}:${process.pid}`;
  const { TARM_QUEUE: _url, ...base } = opts.env ?? process.env;
  const env = {
    ...base,
    ...(backend.name === 'node' && { TF_NUM_INTRAOP_THREADS: String(threads), TF_NUM_INTEROP_THREADS: '1' }),
  };

  const children = new Map<string, ChildProcess>();
  let closing = false;
  let lastError = '';
  const onError = (e: Error) => {
    const line = `redis: ${loc.redact(e.message)}`;
    if (line !== lastError) log(line); // a Redis that is down reports the same error at every retry
    lastError = line;
  };

  const processRun = async (job: Job<RunJobData, RunJobResult>, token?: string): Promise<RunJobResult> => {
    const { outDir, id } = job.data;
    const file = readStudyFile(outDir);
    if (!file)
      throw new UnrecoverableError(
        `${outDir} holds no study.json on ${hostname()}: give every worker the study folder at the same path (shared storage)`,
      );
    const study = file.study;
    const run = studyGrid(study).find((r) => r.id === id);
    if (!run) throw new UnrecoverableError(`run ${id} is not in the study of ${outDir}`);
    const steps = stepsToReach(study, run, outDir);
    if (isFinished(runDir(outDir, id), steps)) return { worker: name, resumed: false, alreadyFinished: true };
    const state: RunState = { ...run, steps, resumed: false, status: 'pending' };
    // the step a started run continues from: its last checkpoint (0 when it died before its first)
    const resumedFrom = isStarted(runDir(outDir, id)) ? checkpointStep(runDir(outDir, id)) : undefined;
    let sentAt = 0;
    const progress = (force = false) => {
      const now = Date.now();
      if (!force && now - sentAt < PROGRESS_EVERY_MS) return;
      sentAt = now;
      const p: RunJobProgress = {
        worker: name,
        step: state.step,
        steps: state.steps,
        loss: state.loss,
        acc: state.acc,
        tokensPerSecond: state.tokensPerSecond,
        resumed: state.resumed,
        resumedFrom,
        firstStep: state.firstStep,
        startedAt: state.startedAt ?? now,
      };
      job.updateProgress(p as unknown as object).catch(() => {}); // progress is best effort; Redis may be restarting
    };
    await trainRun(state, {
      outDir,
      study,
      cliEntry: opts.cliEntry,
      backend: backend.name,
      env,
      onSpawn: (c) => {
        children.set(id, c);
        log(state.resumed ? `resuming ${id} from step ${resumedFrom} (${outDir})` : `started ${id} (${outDir})`);
        progress(true);
      },
      onProgress: () => progress(),
      stopped: () => closing || !children.has(id),
    });
    children.delete(id);
    if (state.status === 'done') {
      log(
        `finished ${id} in ${state.wallSeconds?.toFixed(1)}s${state.resumed ? ` (resumed from step ${resumedFrom})` : ''}`,
      );
      return {
        worker: name,
        resumed: state.resumed,
        resumedFrom,
        firstStep: state.firstStep,
        wallSeconds: state.wallSeconds,
      };
    }
    if (state.status === 'pending') {
      // stopped by this worker's close (or its lock was lost): the run is resumable, another worker continues it
      if (closing && token) {
        await job.moveToWait(token);
        throw new WaitingError();
      }
      throw new Error(`${id}: stopped on ${name} (its lock was lost)`);
    }
    const tail = (state.stderrTail ?? '').split('\n').slice(-FAILED_REASON_LINES).join('\n');
    log(`FAILED ${id}: ${tail.split('\n').pop()}`);
    throw new Error(
      `${id} failed on ${name} (${state.signal ? `signal ${state.signal}` : `exit code ${state.exitCode}`}):\n${tail}`,
    );
  };

  const connection = new Redis({ ...loc.connection });
  connection.on('error', onError);
  const worker = new Worker<RunJobData, RunJobResult>(loc.queueName, processRun, {
    connection,
    concurrency,
    lockDuration,
    stalledInterval,
    maxStalledCount,
    name,
    autorun: false,
  });
  worker.on('error', onError);
  worker.on('ready', () => {
    if (lastError) log('redis: connected');
    lastError = '';
  });
  worker.on('lockRenewalFailed', (ids: string[]) => {
    for (const id of ids) {
      const c = children.get(id);
      if (!c) continue;
      log(`lost the lock of ${id}: stopping it (another worker may take it)`);
      children.delete(id);
      c.kill('SIGKILL');
    }
  });
  void worker.run().catch(onError);
  log(
    `worker ${name}: backend ${backend.name} (${backend.reason}), ${concurrency} run${concurrency === 1 ? '' : 's'} at a time, queue ${loc.display}`,
  );
  return {
    name,
    backend: backend.name,
    async close() {
      closing = true;
      const stopping = worker.close(); // stops taking jobs, waits for the running ones
      for (const c of children.values()) c.kill('SIGTERM');
      await stopping;
      connection.disconnect();
    },
  };
}
