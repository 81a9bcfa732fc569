import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { Job, Queue } from 'bullmq';
import { StudyError, unpackRuns, type Study } from '@tarm/study';
import {
  createGridProgress,
  isFinished,
  logsDir,
  openStudyFile,
  readObject,
  readStudyFile,
  runDir,
  runsDir,
  snapshot,
  studyGrid,
  runSteps,
  writeStudyFile,
  RUN_FILES,
  STUDY_FILE,
} from '@tarm/study/internal';
import type { GridProgress, GridRenderer, RunState } from '@tarm/study';
import {
  connect,
  enqueueStudy,
  openQueue,
  type EnqueueReport,
  type RunJobData,
  type RunJobProgress,
  type RunJobResult,
} from './jobs.js';
import { takeLock } from './lock.js';
import type { QueueLocation } from './url.js';

/** A run as the queue and the folder show it: the grid state plus the worker that holds it. */
export interface QueuedRun extends RunState {
  /** `host:pid` of the worker training it (running) or that finished it. */
  worker?: string;
  /** The checkpoint step the worker resumed it from (a run taken over from a dead worker). */
  resumedFrom?: number;
  /** BullMQ's state of the job (`waiting`, `active`, `completed`, `failed`, ...), or `missing`. */
  jobState: string;
}

/** Options of {@link runStudyOnQueue}. */
export interface QueueStudyOptions {
  readonly location: QueueLocation;
  /** The study folder, on storage every worker sees at the same path. */
  readonly outDir: string;
  readonly attempts?: number;
  /** Enqueue and return (no following). */
  readonly detach?: boolean;
  /** ms between two looks at the queue (default 1000). */
  readonly pollMs?: number;
  /** The progress display on stderr: `true` (default), `false`, or your own. */
  readonly progress?: boolean | GridRenderer;
  readonly onProgress?: (grid: GridProgress) => void;
  /** Called once the grid is on the queue. */
  readonly onEnqueued?: (report: EnqueueReport) => void;
  /** Aborting stops following (the workers go on); resolves with `aborted: true`. */
  readonly signal?: AbortSignal;
}

/** What {@link runStudyOnQueue} resolves with. */
export interface QueueStudyOutcome {
  readonly outDir: string;
  readonly study: Study;
  readonly enqueued: EnqueueReport;
  readonly runs: readonly QueuedRun[];
  readonly failed: readonly QueuedRun[];
  readonly detached: boolean;
  readonly aborted: boolean;
  readonly wallSeconds: number;
  /** Every run finished. */
  readonly ok: boolean;
}

const PENDING_STATES = new Set(['waiting', 'delayed', 'prioritized', 'waiting-children', 'paused']);

/**
 * The runs of a study as the folder and the queue show them: finished (summary.json; `skipped` when it was
 * finished before `since`), running on a worker (its last progress), failed after its attempts (BullMQ's failed
 * reason), or pending.
 */
export async function readQueuedRuns(
  queue: Queue<RunJobData, RunJobResult>,
  study: Study,
  outDir: string,
  finishedBefore: ReadonlySet<string> = new Set(),
): Promise<QueuedRun[]> {
  const runs: QueuedRun[] = [];
  for (const r of studyGrid(study)) {
    const steps = runSteps(study, r);
    const job: Job<RunJobData, RunJobResult> | undefined = await queue.getJob(r.id);
    const jobState = job ? await job.getState() : 'missing';
    const run: QueuedRun = { ...r, steps, resumed: false, status: 'pending', jobState };
    const p = (job?.progress && typeof job.progress === 'object' ? job.progress : undefined) as
      RunJobProgress | undefined;
    // a finished run whose job waits or runs is being continued past its steps (still moving below maxSteps)
    if (isFinished(runDir(outDir, r.id)) && jobState !== 'active' && !PENDING_STATES.has(jobState)) {
      const summary = readObject(join(runDir(outDir, r.id), RUN_FILES.summary));
      Object.assign(run, {
        status: finishedBefore.has(r.id) ? 'skipped' : 'done',
        step: steps,
        wallSeconds: typeof summary?.wallSeconds === 'number' ? summary.wallSeconds : undefined,
      });
      if (job?.returnvalue?.worker) run.worker = job.returnvalue.worker;
      if (job?.returnvalue)
        Object.assign(run, {
          resumed: job.returnvalue.resumed,
          resumedFrom: job.returnvalue.resumedFrom,
          firstStep: job.returnvalue.firstStep,
        });
    } else if (jobState === 'active') {
      Object.assign(run, {
        status: 'running',
        worker: p?.worker,
        step: p?.step,
        loss: p?.loss,
        acc: p?.acc,
        tokensPerSecond: p?.tokensPerSecond,
        resumed: p?.resumed ?? false,
        resumedFrom: p?.resumedFrom,
        firstStep: p?.firstStep,
        startedAt: p?.startedAt,
      });
    } else if (jobState === 'failed') {
      Object.assign(run, { status: 'failed', stderrTail: job!.failedReason });
    }
    runs.push(run);
  }
  return runs;
}

/**
 * Runs a study on a queue: records the study in `outDir/study.json` (checked against the recorded one, as the
 * local runner does), puts every run not finished there on the queue ({@link enqueueStudy}), then follows the
 * grid until every run is finished or failed (unless `detach`). While it follows it holds the queue's lock
 * (another driver of the same queue is refused) and puts back any run Redis lost (a Redis restarted without its
 * data): the folder, not Redis, is the record of what is finished.
 */
export async function runStudyOnQueue(study: Study | undefined, opts: QueueStudyOptions): Promise<QueueStudyOutcome> {
  const outDir = resolve(opts.outDir);
  const loc = opts.location;
  const startedAt = Date.now();
  const recorded = readStudyFile(outDir);
  if (!study && !recorded)
    throw new StudyError(
      `${outDir} is not a study folder (no ${STUDY_FILE}); start one with --config FILE or --preset NAME`,
      'out',
    );
  const client = await connect(loc);
  const queue = openQueue(loc, client);
  let lock: { release(): Promise<void> } | undefined;
  let renderer: GridRenderer | undefined;
  try {
    lock = await takeLock(client, `tarm:driver:${loc.queueName}`, `${hostname()}:${process.pid}`);
    unpackRuns(outDir); // run folders committed as runs.tar.gz: finished runs are not enqueued again
    mkdirSync(runsDir(outDir), { recursive: true });
    mkdirSync(logsDir(outDir), { recursive: true });
    const merged = openStudyFile(outDir, study ?? recorded!.study, {
      startedAt: new Date(startedAt).toISOString(),
      wallSeconds: 0,
      queue: loc.display,
    }).study;
    const finishedBefore = new Set(
      studyGrid(merged)
        .filter((r) => isFinished(runDir(outDir, r.id)))
        .map((r) => r.id),
    );
    const enqueued = await enqueueStudy(queue, merged, outDir, { attempts: opts.attempts });
    opts.onEnqueued?.(enqueued);
    const saveSession = () => {
      const file = readStudyFile(outDir)!;
      file.sessions[file.sessions.length - 1]!.wallSeconds = (Date.now() - startedAt) / 1000;
      writeStudyFile(outDir, file);
    };
    const outcome = (runs: QueuedRun[], detached: boolean, aborted: boolean): QueueStudyOutcome => ({
      outDir,
      study: merged,
      enqueued,
      runs,
      failed: runs.filter((r) => r.status === 'failed'),
      detached,
      aborted,
      wallSeconds: (Date.now() - startedAt) / 1000,
      ok: runs.every((r) => r.status === 'done' || r.status === 'skipped'),
    });
    if (opts.detach) {
      saveSession();
      return outcome(await readQueuedRuns(queue, merged, outDir, finishedBefore), true, false);
    }

    renderer =
      opts.progress === false
        ? undefined
        : opts.progress === true || opts.progress === undefined
          ? createGridProgress()
          : opts.progress;
    const pollMs = opts.pollMs ?? 1_000;
    let last = new Map<string, string>();
    for (;;) {
      let runs: QueuedRun[];
      try {
        runs = await readQueuedRuns(queue, merged, outDir, finishedBefore);
        if (runs.some((r) => r.jobState === 'missing' && r.status !== 'done' && r.status !== 'skipped'))
          await enqueueStudy(queue, merged, outDir, { attempts: opts.attempts });
      } catch {
        // Redis is unreachable (restarting): look again at the next poll; commands wait for the reconnection
        await new Promise((r) => setTimeout(r, pollMs));
        continue;
      }
      const workers = Math.max(1, await queue.getWorkersCount().catch(() => 1));
      const changed = runs.filter((r) => last.get(r.id) !== r.status);
      last = new Map(runs.map((r) => [r.id, r.status]));
      for (const r of changed) {
        const kind =
          r.status === 'running'
            ? 'started'
            : r.status === 'done'
              ? 'finished'
              : r.status === 'failed'
                ? 'failed'
                : undefined;
        if (!kind) continue;
        if (kind !== 'started') saveSession();
        const g = snapshot(merged.name, runs, workers, startedAt, { kind, run: r });
        renderer?.update(g);
        opts.onProgress?.(g);
      }
      const g = snapshot(merged.name, runs, workers, startedAt);
      renderer?.update(g);
      opts.onProgress?.(g);
      const settled = runs.every((r) => r.status === 'done' || r.status === 'skipped' || r.status === 'failed');
      if (settled || opts.signal?.aborted) {
        saveSession();
        return outcome(runs, false, !settled);
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  } finally {
    renderer?.stop();
    await lock?.release();
    await queue.close().catch(() => {});
    client.disconnect();
  }
}
