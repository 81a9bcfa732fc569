import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { BACKEND_CHOICES, type BackendChoice, type BackendName } from '@tarm/core';
import { resolveBackend } from '@tarm/core/internal';
import { describeCpu } from '@tarm/core/node';
import { archiveRuns, unpackRuns } from './archive.js';
import { StudyError } from './errors.js';
import { stepsToReach, trainingOrder } from './extension.js';
import { snapshot, studyGrid, type GridProgress, type RunState } from './grid.js';
import { createGridProgress, type GridRenderer } from './progress.js';
import { RUN_FILES, isFinished, logsDir, numberField, readObject, runDir, runsDir } from './run-folder.js';
import { trainRun } from './train-run.js';
import type { Study } from './schema.js';
import { lockStudy, openStudyFile, readStudyFile, STUDY_FILE, writeStudyFile, type Session } from './study-file.js';

/** Options of {@link runStudy} and {@link resumeStudy}. */
export interface RunStudyOptions {
  /** The study folder: study.json, runs/, logs/ and later results.json, report.md and plots/. */
  outDir: string;
  /** Path of the tarm CLI entry script; every run is `node <cliEntry> train ...`, forked with an IPC channel. */
  cliEntry: string;
  /** Parallel training processes (default: chosen by {@link planWorkers}). */
  workers?: number;
  /** Threads per process for the node backend (default: chosen by {@link planWorkers}). */
  threads?: number;
  /** `tarm train --backend`; `auto` (default): node when @tensorflow/tfjs-node loads here, else wasm. */
  backend?: BackendChoice;
  /** Resolves `auto` (default: @tarm/core's resolveBackend; a test passes one that simulates a machine without tfjs-node). */
  resolve?: (choice: BackendChoice) => Promise<{ name: BackendName; reason: string }>;
  /** Called once the backend and the workers x threads are chosen, before any run starts. */
  /**
   * Called once the plan is known. `mixed` names the earlier sessions of the folder whose backend or threads per
   * worker differ from this one's: runs trained under them are not bit-identical to runs trained now.
   */
  onStart?(plan: {
    readonly backend: BackendName;
    readonly reason: string;
    readonly workers: number;
    readonly threads: number;
    readonly mixed?: string;
  }): void;
  /** Called with a grid snapshot at every run start, end and progress message, and once a second. */
  onProgress?(grid: GridProgress): void;
  /** The progress display on stderr: `true` (default) for the built-in one, `false` for none, or your own. */
  progress?: boolean | GridRenderer;
  /** Flags for the node executable of the children (e.g. `--max-old-space-size=4096`). */
  nodeArgs?: readonly string[];
  /** Environment of the children (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** Aborting stops scheduling, sends SIGTERM to the running children and resolves with `aborted: true`. */
  signal?: AbortSignal;
}

/** What {@link runStudy} resolves with. */
export interface StudyOutcome {
  readonly outDir: string;
  /** The study the folder holds now (the recorded one grown by this command's). */
  readonly study: Study;
  readonly backend: BackendName;
  /** Why this backend (`auto: ...`). */
  readonly backendReason: string;
  readonly workers: number;
  readonly threads: number;
  /** Final state of every run of the study. */
  readonly runs: readonly RunState[];
  readonly failed: readonly RunState[];
  /** The signal aborted the study: interrupted runs are left resumable. */
  readonly aborted: boolean;
  /** Wall time of this session. */
  readonly wallSeconds: number;
  /** Every run is finished (the CLI exits 0 only then). */
  readonly ok: boolean;
}

/**
 * Workers x threads per worker for a machine. wasm runs one thread per process in Node (platform.md), so one
 * worker per core. node (libtensorflow) can use several threads per process; measured on a 2-core machine
 * (docs/compute.md, "Workers and threads"), one single-threaded process per core gave the most runs per hour,
 * so it gets the same rule. Each worker runs one thread unless `threads` is given: the numbers of a study then do
 * not depend on the machine's cores or on how many runs were left when a session started.
 */
export function planWorkers(o: { cores: number; runs: number; workers?: number; threads?: number }): {
  workers: number;
  threads: number;
} {
  for (const k of ['workers', 'threads'] as const) {
    const v = o[k];
    if (v !== undefined && (!Number.isInteger(v) || v < 1))
      throw new StudyError(`--${k}: a positive integer, got ${v}`, k);
  }
  const workers = o.workers ?? Math.max(1, Math.min(o.cores, o.runs));
  // One intra-op thread unless asked: libtensorflow's multi-threaded kernels sum in another order, so a run trained
  // with 2 threads is not bit-identical to the same run with 1 (docs/compute.md); a study must not depend on how
  // many runs were left when a session started.
  const threads = o.threads ?? 1;
  return { workers, threads };
}

/**
 * The earlier sessions whose backend, threads or CPU kind differ from the last one's, in words; undefined when
 * none. Sessions recorded before the CPU was are compared on backend and threads only.
 */
export function mixedSessions(sessions: readonly Session[]): string | undefined {
  const local = sessions.filter((x): x is Extract<Session, { backend: unknown }> => 'backend' in x);
  const now = local[local.length - 1];
  if (!now || now !== sessions[sessions.length - 1]) return undefined;
  const otherCpu = (x: typeof now) => x.cpu !== undefined && now.cpu !== undefined && x.cpu !== now.cpu;
  const other = local
    .slice(0, -1)
    .filter((x) => x.backend !== now.backend || (x.backend === 'node' && x.threads !== now.threads) || otherCpu(x));
  if (!other.length) return undefined;
  const kind = (x: typeof now) =>
    `${x.backend}${x.backend === 'node' ? ` x ${x.threads} thread${x.threads === 1 ? '' : 's'}` : ''}${otherCpu(x) ? ` on ${x.cpu}` : ''}`;
  const kinds = [...new Set(other.map(kind))];
  return `${other.length} earlier session${other.length === 1 ? '' : 's'} of this folder ran ${kinds.join(', ')}`;
}

const KILL_GRACE_MS = 5_000;

/** Resumes the study a folder records (its study.json), with the same options as {@link runStudy}. */
export async function resumeStudy(opts: RunStudyOptions): Promise<StudyOutcome> {
  const file = readStudyFile(opts.outDir);
  if (!file)
    throw new StudyError(
      `${opts.outDir} is not a study folder (no ${STUDY_FILE}); start one with --config FILE or --preset NAME`,
      'out',
    );
  return runStudy(file.study, opts);
}

/**
 * Runs every (arm, task, seed) of a study as its own `tarm train` process, `workers` at a time. Each child is
 * forked with an IPC channel and reports its progress and result as messages (TrainMessage); its stderr goes
 * to `logs/<run>.log` untouched.
 *
 * Resumable: runs whose folder holds summary.json are skipped, runs whose folder holds config.json get
 * `--resume`. study.json records the resolved study; a folder made with another one is refused before
 * anything is started. A run that exits non-zero is recorded as failed (its stderr tail in
 * `logs/<id>.failed.json`) and the others go on: check `ok` / `failed` of the outcome.
 *
 * A folder with runs.tar.gz (its run folders committed as one archive) is unpacked first (unpackRuns), and the
 * archive is written again from the run folders at the end (archiveRuns).
 */
export async function runStudy(study: Study, opts: RunStudyOptions): Promise<StudyOutcome> {
  const outDir = resolve(opts.outDir);
  const choice = opts.backend ?? 'auto';
  if (!BACKEND_CHOICES.includes(choice))
    throw new StudyError(
      `--backend: unknown backend ${JSON.stringify(choice)}; allowed: ${BACKEND_CHOICES.join(', ')}`,
      'backend',
    );
  if (!existsSync(opts.cliEntry)) throw new StudyError(`the tarm CLI entry ${opts.cliEntry} does not exist`);
  mkdirSync(outDir, { recursive: true });
  const unlock = lockStudy(outDir);
  const startedAt = Date.now();
  let ticker: NodeJS.Timeout | undefined;
  try {
    // a folder committed as runs.tar.gz (a fresh clone): its finished runs are skipped like any others
    const archived = unpackRuns(outDir) !== undefined;
    // only `auto` is tried here (node loads in this process); a named backend is loaded by each child
    const backend =
      choice === 'auto' ? await (opts.resolve ?? resolveBackend)(choice) : { name: choice, reason: 'asked for' };
    const toRun = studyGrid(study).filter(
      (r) => !isFinished(runDir(outDir, r.id), stepsToReach(study, r, outDir)),
    ).length;
    const { workers, threads } = planWorkers({
      cores: availableParallelism(),
      runs: toRun,
      workers: opts.workers,
      threads: opts.threads,
    });
    const session: Session = {
      startedAt: new Date(startedAt).toISOString(),
      wallSeconds: 0,
      backend: backend.name,
      workers,
      threads,
      cpu: describeCpu(),
    };
    const file = openStudyFile(outDir, study, session, { growSteps: true });
    const merged = file.study;
    opts.onStart?.({
      backend: backend.name,
      reason: backend.reason,
      workers,
      threads,
      mixed: mixedSessions(file.sessions),
    });
    mkdirSync(runsDir(outDir), { recursive: true });
    mkdirSync(logsDir(outDir), { recursive: true });
    const saveSession = () => {
      const file = readStudyFile(outDir)!;
      file.sessions[file.sessions.length - 1]!.wallSeconds = (Date.now() - startedAt) / 1000;
      writeStudyFile(outDir, file);
    };

    const runs: RunState[] = studyGrid(merged).map((r) => {
      const dir = runDir(outDir, r.id);
      const steps = stepsToReach(merged, r, outDir);
      const done = isFinished(dir, steps); // a run short of steps the study grew to, or still moving below maxSteps, is continued
      const summary = done ? readObject(join(dir, RUN_FILES.summary)) : undefined;
      return {
        ...r,
        steps,
        resumed: false,
        status: done ? 'skipped' : 'pending',
        wallSeconds: numberField(summary, ['wallSeconds'], ['result']),
      };
    });

    const renderer: GridRenderer | undefined =
      opts.progress === false
        ? undefined
        : opts.progress === true || opts.progress === undefined
          ? createGridProgress()
          : opts.progress;
    const emit = (event?: GridProgress['event']) => {
      const g = snapshot(merged.name, runs, workers, startedAt, event);
      renderer?.update(g);
      opts.onProgress?.(g);
    };
    ticker = setInterval(() => emit(), 1000);
    ticker.unref();

    const children = new Set<ChildProcess>();
    let aborted = false;
    const onAbort = () => {
      aborted = true;
      for (const c of children) {
        c.kill('SIGTERM');
        setTimeout(() => c.exitCode === null && c.signalCode === null && c.kill('SIGKILL'), KILL_GRACE_MS).unref();
      }
    };
    if (opts.signal?.aborted) onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const env = {
      ...(opts.env ?? process.env),
      ...(backend.name === 'node' && { TF_NUM_INTRAOP_THREADS: String(threads), TF_NUM_INTEROP_THREADS: '1' }),
    };

    /** Runs one grid run to its end; never rejects. */
    const runOne = async (state: RunState): Promise<void> => {
      let child: ChildProcess | undefined;
      await trainRun(state, {
        outDir,
        study: merged,
        cliEntry: opts.cliEntry,
        backend: backend.name,
        env,
        nodeArgs: opts.nodeArgs,
        onSpawn: (c) => {
          child = c;
          children.add(c);
          emit({ kind: 'started', run: state });
        },
        onProgress: () => emit(),
        stopped: () => aborted,
      });
      if (child) children.delete(child);
      if (state.status === 'pending') return;
      saveSession();
      emit({ kind: state.status === 'done' ? 'finished' : 'failed', run: state });
    };

    emit();
    const queue = trainingOrder(
      runs.filter((r) => r.status === 'pending'),
      outDir,
    );
    const worker = async () => {
      while (!aborted) {
        const run = queue.shift();
        if (!run) return;
        await runOne(run);
      }
    };
    await Promise.all(Array.from({ length: Math.min(workers, runs.length) }, worker));

    clearInterval(ticker);
    opts.signal?.removeEventListener('abort', onAbort);
    saveSession();
    emit();
    renderer?.stop();
    if (archived) archiveRuns(outDir); // the archive follows the run folders, ready to commit
    return {
      outDir,
      study: merged,
      backend: backend.name,
      backendReason: backend.reason,
      workers,
      threads,
      runs,
      failed: runs.filter((r) => r.status === 'failed'),
      aborted,
      wallSeconds: (Date.now() - startedAt) / 1000,
      ok: !aborted && runs.every((r) => r.status === 'done' || r.status === 'skipped'),
    };
  } finally {
    clearInterval(ticker);
    unlock();
  }
}
