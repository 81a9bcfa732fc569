import { fork, type ChildProcess } from 'node:child_process';
import { createWriteStream, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { BackendName } from '@tarm/core';
import { stepsToReach } from './extension.js';
import { writeJsonAtomic } from './files.js';
import { runConfig, type RunState, type TrainMessage } from './grid.js';
import { LOG_FILES, RUN_FILES, hasCheckpoint, isFinished, isStarted, logsDir, runDir } from './run-folder.js';
import type { Study } from './schema.js';

const STDERR_TAIL_LINES = 30;

/** Options of {@link trainRun}. */
export interface TrainRunOptions {
  /** The study folder (runs/ and logs/ exist). */
  readonly outDir: string;
  readonly study: Study;
  /** Path of the tarm CLI entry script: the run is `node <cliEntry> train ...`, forked with an IPC channel. */
  readonly cliEntry: string;
  readonly backend: BackendName;
  readonly env?: NodeJS.ProcessEnv;
  readonly nodeArgs?: readonly string[];
  /** Called once the child is forked (the caller may kill it). */
  onSpawn?(child: ChildProcess): void;
  /** Called after every progress message of the child. */
  onProgress?(): void;
  /** Asked when the child ends: true when it was stopped on purpose, so that an unfinished run is left `pending` (resumable), not `failed`. */
  stopped?(): boolean;
}

/**
 * Trains one run of a study to its end as a `tarm train` child process, in `runs/<id>/` (with `--resume` when the
 * folder holds a started run), its stderr appended to `logs/<id>.log`. Updates `state` as the child reports
 * (status, step, loss, ...) and leaves it `done` (summary.json written, `logs/<id>.result.json` saved), `failed`
 * (`logs/<id>.failed.json` with the stderr tail) or `pending` (stopped on purpose). Never rejects. The local
 * runner and the queue workers both train through it, so that a run folder is the same whoever trained it.
 * A run that finishes still moving, short of its task's `maxSteps`, is continued one evaluation interval at a
 * time ({@link stepsToReach}) until it settles or reaches them; `state.steps` follows, `state.wallSeconds` sums.
 */
export async function trainRun(state: RunState, opts: TrainRunOptions): Promise<void> {
  let wall = 0;
  for (;;) {
    await trainOnce(state, opts);
    wall += state.wallSeconds ?? 0;
    state.wallSeconds = wall;
    if (state.status !== 'done' || opts.stopped?.() === true) return;
    const more = stepsToReach(opts.study, state, opts.outDir);
    if (more <= state.steps) return;
    state.steps = more;
  }
}

/** One `tarm train` child to `state.steps`. */
function trainOnce(state: RunState, opts: TrainRunOptions): Promise<void> {
  return new Promise((done) => {
    const { outDir, cliEntry } = opts;
    const dir = runDir(outDir, state.id);
    const logs = logsDir(outDir);
    rmSync(join(logs, LOG_FILES.failed(state.id)), { force: true });
    // A started run without its checkpoint (stopped before the first one, or a run folder copied without
    // checkpoints, as docs/results keeps them) is trained again from step 0 in an emptied folder: `tarm train
    // --resume` refuses a folder whose checkpoint is gone rather than silently starting over.
    const retrain = isStarted(dir) && !hasCheckpoint(dir);
    if (retrain) rmSync(dir, { recursive: true, force: true });
    state.resumed = isStarted(dir);
    state.status = 'running';
    state.startedAt = Date.now();
    // the run's resolved configuration as a file; the trainer reads every setting from it
    const configFile = join(logs, LOG_FILES.config(state.id));
    writeJsonAtomic(configFile, runConfig(state, opts.study, opts.backend));
    const args = ['train', '--config', configFile, '--out', dir, ...(state.resumed ? ['--resume'] : [])];
    const log = createWriteStream(join(logs, LOG_FILES.stderr(state.id)), { flags: 'a' });
    const note = retrain ? '(no checkpoint in the run folder: trained again from step 0) ' : '';
    log.write(
      `# ${new Date().toISOString()} ${note}${process.execPath} ${[...(opts.nodeArgs ?? []), cliEntry, ...args].join(' ')}\n`,
    );
    const child = fork(cliEntry, args, {
      env: opts.env ?? process.env,
      execArgv: [...(opts.nodeArgs ?? [])],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    opts.onSpawn?.(child);

    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      log.write(d);
      stderr = (stderr + d).slice(-16_384);
    });
    child.on('message', (m: TrainMessage) => {
      if (m?.type === 'tarm:progress') {
        state.firstStep ??= m.step;
        Object.assign(state, { step: m.step, steps: m.steps, loss: m.loss, tokensPerSecond: m.tokensPerSecond });
        if (m.acc !== undefined) state.acc = m.acc;
        opts.onProgress?.();
      } else if (m?.type === 'tarm:result') state.result = m.result;
    });
    const finish = (code: number | null, signal: NodeJS.Signals | null, spawnError?: Error) => {
      log.end();
      Object.assign(state, { exitCode: code, signal, wallSeconds: (Date.now() - state.startedAt!) / 1000 });
      const finished = !spawnError && isFinished(dir, state.steps);
      const stopped = !spawnError && opts.stopped?.() === true;
      if (!finished && stopped) {
        // stopped on purpose (a child that stops on SIGTERM may exit 0): left resumable
        state.status = 'pending';
      } else if (finished && (code === 0 || stopped)) {
        // a run whose summary is written is done, also when the stop's SIGTERM reached it on its way out
        state.status = 'done';
        state.step = state.steps;
        if (state.result) writeJsonAtomic(join(logs, LOG_FILES.result(state.id)), state.result);
      } else {
        state.status = 'failed';
        const tail = stderr
          .split('\n')
          .map((l) => l.trim())
          .filter(Boolean)
          .slice(-STDERR_TAIL_LINES);
        if (spawnError) tail.push(`cannot start: ${spawnError.message}`);
        else if (code === 0) tail.push(`tarm train exited 0 but wrote no ${RUN_FILES.summary} in ${dir}`);
        state.stderrTail = tail.join('\n');
        writeJsonAtomic(join(logs, LOG_FILES.failed(state.id)), {
          id: state.id,
          at: new Date().toISOString(),
          exitCode: code,
          signal,
          command: [process.execPath, cliEntry, ...args],
          stderrTail: state.stderrTail,
        });
      }
      done();
    };
    let ended = false;
    const end = (code: number | null, signal: NodeJS.Signals | null, e?: Error) => {
      if (ended) return;
      ended = true;
      finish(code, signal, e);
    };
    child.on('error', (e) => end(null, null, e));
    child.on('close', (code, signal) => end(code, signal));
  });
}
