import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { studyGrid, isFinished, runDir, stepsToReach } from '@tarm/study/internal';
import type { Study } from '@tarm/study';
import { QueueError } from './errors.js';
import type { QueueLocation } from './url.js';

/** What a job carries: the study folder (on storage every worker sees) and the run's id; the rest is in study.json. */
export interface RunJobData {
  readonly outDir: string;
  readonly id: string;
  readonly study: string;
}

/** What a worker reports through `job.updateProgress` while it trains a run. */
export interface RunJobProgress {
  /** `host:pid` of the worker. */
  readonly worker: string;
  readonly step?: number;
  readonly steps: number;
  readonly loss?: number;
  readonly acc?: number;
  readonly tokensPerSecond?: number;
  /** The run folder held a started run: trained with `--resume` from its checkpoint. */
  readonly resumed: boolean;
  /** The checkpoint step a resumed run continues from. */
  readonly resumedFrom?: number;
  /** The first step this worker reported (a resumed run's is past its checkpoint). */
  readonly firstStep?: number;
  /** Date.now() when this worker started the run. */
  readonly startedAt: number;
}

/** A finished job's return value. */
export interface RunJobResult {
  readonly worker: string;
  readonly resumed: boolean;
  readonly resumedFrom?: number;
  readonly firstStep?: number;
  readonly wallSeconds?: number;
  /** The run folder already held summary.json: nothing was trained. */
  readonly alreadyFinished?: boolean;
}

/** Knobs of the jobs a study enqueues. */
export interface EnqueueOptions {
  /** Tries of a run that fails for a reason of its own (exit code != 0) before it is marked failed (default 2). */
  readonly attempts?: number;
}

/** An ioredis client for `loc`, after a PING answered (a clear error otherwise, within `timeoutMs`). */
export async function connect(loc: QueueLocation, timeoutMs = 10_000): Promise<Redis> {
  const client = new Redis({ ...loc.connection, lazyConnect: true, connectTimeout: timeoutMs });
  let last: Error | undefined;
  client.on('error', (e: Error) => (last = e));
  try {
    await Promise.race([
      client.connect().then(() => client.ping()),
      new Promise((_, reject) => setTimeout(() => reject(new Error('timed out')), timeoutMs).unref()),
    ]);
    return client;
  } catch (e) {
    client.disconnect();
    const why = loc.redact(((last ?? e) as Error).message);
    throw new QueueError(`cannot reach the queue at ${loc.display}: ${why}`, 'queue');
  }
}

/** The BullMQ queue of a location, on an existing connection. */
export function openQueue(loc: QueueLocation, connection: Redis): Queue<RunJobData, RunJobResult> {
  return new Queue<RunJobData, RunJobResult>(loc.queueName, { connection });
}

/** What {@link enqueueStudy} did for each run of the grid. */
export interface EnqueueReport {
  /** Runs already finished in the folder: not enqueued. */
  readonly finished: string[];
  /** New jobs. */
  readonly added: string[];
  /** Jobs that were there already (waiting, running, delayed): left as they are. */
  readonly queued: string[];
  /** Failed jobs given a new round of attempts (a rerun of the study retries its failed runs, as the local runner does). */
  readonly retried: string[];
}

/**
 * Puts every run of `study` that is not finished in `outDir` on the queue, as a job whose id is the run's id:
 * enqueueing twice is harmless. A job of that id that belongs to another study folder is refused (one queue holds
 * one study in progress at a time: give another `?queue=NAME` or database for a second); a settled job (completed or
 * failed) of an earlier study is replaced. `outDir` must be absolute and the same
 * path on every worker machine.
 */
export async function enqueueStudy(
  queue: Queue<RunJobData, RunJobResult>,
  study: Study,
  outDir: string,
  opts: EnqueueOptions = {},
): Promise<EnqueueReport> {
  const attempts = opts.attempts ?? 2;
  if (!Number.isInteger(attempts) || attempts < 1)
    throw new QueueError(`--attempts: a positive integer, got ${attempts}`, 'attempts');
  const report: EnqueueReport = { finished: [], added: [], queued: [], retried: [] };
  for (const run of studyGrid(study)) {
    // a run still moving below its task's maxSteps is not finished: it goes on the queue to be continued
    if (isFinished(runDir(outDir, run.id), stepsToReach(study, run, outDir))) {
      report.finished.push(run.id);
      continue;
    }
    const existing = await queue.getJob(run.id);
    if (existing) {
      const state = await existing.getState();
      if (existing.data.outDir !== outDir && (state === 'completed' || state === 'failed')) {
        await existing.remove(); // a settled run of an earlier study: this study takes the id over
      } else if (existing.data.outDir !== outDir) {
        throw new QueueError(
          `the queue ${queue.name} already holds run ${run.id} of the study folder ${existing.data.outDir}; a queue holds one study in progress at a time: ` +
            'finish or remove that one, or give this study another queue (redis://host:port/DB?queue=NAME)',
          'queue',
        );
      } else if (state === 'failed') {
        await existing.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
        report.retried.push(run.id);
        continue;
      } else if (state !== 'completed' && state !== 'unknown') {
        report.queued.push(run.id);
        continue;
      } else {
        await existing.remove(); // completed but the folder has no summary (removed by hand): train it again
      }
    }
    await queue.add(
      run.id,
      { outDir, id: run.id, study: study.name },
      { jobId: run.id, attempts, removeOnComplete: false, removeOnFail: false },
    );
    report.added.push(run.id);
  }
  return report;
}
