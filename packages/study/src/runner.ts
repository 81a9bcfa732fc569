import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { StudyError } from './errors.js';
import { writeJsonAtomic } from './files.js';
import { snapshot, type GridProgress, type RunState } from './grid.js';
import { BACKEND_NAMES, definePreset, getPreset, gridAxes, resolveGrid, type BackendName, type PresetName, type StudyPreset } from './presets.js';
import { createGridProgress, type GridRenderer } from './progress.js';
import { LOG_FILES, RUN_FILES, isFinished, isStarted, logsDir, numberField, readObject, runDir, runsDir } from './run-folder.js';
import { lockStudy, openStudyFile, readStudyFile, writeStudyFile, type Session } from './study-file.js';
import { parseProgressLine, parseResultLine, trainArgs } from './train-command.js';

/** Options of {@link runStudy}. */
export interface RunStudyOptions {
  /** A preset name (`smoke`, `cpu`, `paper`) or a preset object (validated with `definePreset`). */
  preset: PresetName | StudyPreset;
  /** The study folder: study.json, runs/, logs/ and later results.json, report.md and plots/. */
  outDir: string;
  /** Path of the tarm CLI entry script; every run is `node <cliEntry> train ...`. */
  cliEntry: string;
  /** Replace the preset's grid axes (any known models / tasks, any seeds). */
  models?: readonly string[];
  tasks?: readonly string[];
  seeds?: readonly number[];
  /** Parallel training processes (default `os.availableParallelism()`). */
  workers?: number;
  /** `tarm train --backend` (default `wasm`). */
  backend?: BackendName;
  /** Called with a grid snapshot at every run start, end and progress line, and once a second. */
  onProgress?(grid: GridProgress): void;
  /** The progress display on stderr: `true` (default) for the built-in one, `false` for none, or your own. */
  progress?: boolean | GridRenderer;
  /** Extra flags appended to every `tarm train` command line. */
  spawnArgs?: readonly string[];
  /** Flags for the node executable of the children (e.g. `--max-old-space-size=4096`). */
  nodeArgs?: readonly string[];
  /** Environment of the children (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** Aborting stops scheduling, sends SIGTERM to the running children and resolves with `aborted: true`. */
  signal?: AbortSignal;
  /**
   * A pool of process slots shared with other studies run at the same time (see {@link createWorkerSlots}):
   * every run takes a slot before it starts and frees it when it ends, on top of this study's own `workers`.
   */
  slots?: WorkerSlots;
}

/** Process slots shared by several concurrent `runStudy` calls (e.g. the arms of an attribution study). */
export interface WorkerSlots {
  /** Resolves, first come first served, with the function that frees the slot. */
  acquire(): Promise<() => void>;
}

/** A first-come-first-served pool of `n` process slots. */
export function createWorkerSlots(n: number): WorkerSlots {
  if (!Number.isInteger(n) || n < 1) throw new StudyError(`--workers: a positive integer, got ${n}`);
  let free = n;
  const waiting: (() => void)[] = [];
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else free++;
  };
  return {
    acquire() {
      return new Promise((resolveSlot) => {
        let released = false;
        const grant = () =>
          resolveSlot(() => {
            if (released) return;
            released = true;
            release();
          });
        if (free > 0) {
          free--;
          grant();
        } else waiting.push(grant);
      });
    },
  };
}

/** What {@link runStudy} resolves with. */
export interface StudyOutcome {
  readonly outDir: string;
  readonly preset: StudyPreset;
  /** Final state of every grid run of this invocation. */
  readonly runs: readonly RunState[];
  readonly failed: readonly RunState[];
  /** The signal aborted the study: interrupted runs are left resumable. */
  readonly aborted: boolean;
  /** Wall time of this session. */
  readonly wallSeconds: number;
  /** Every run of the grid is finished (the CLI exits 0 only then). */
  readonly ok: boolean;
}

const STDERR_TAIL_LINES = 30;
const KILL_GRACE_MS = 5_000;

/**
 * Runs every (model, task, seed) of a preset's grid as its own `tarm train` process, `workers` at a time.
 *
 * Resumable: runs whose folder holds summary.json are skipped, runs whose folder holds config.json get
 * `--resume`. study.json records the preset; rerunning into a folder made with another configuration is refused.
 * A run that exits non-zero is recorded as failed (its stderr tail in `logs/<id>.failed.json`) and the others
 * go on. Nothing is thrown for failed runs: check `ok` / `failed` of the outcome.
 */
export async function runStudy(opts: RunStudyOptions): Promise<StudyOutcome> {
  const preset = typeof opts.preset === 'string' ? getPreset(opts.preset) : definePreset(opts.preset);
  const outDir = resolve(opts.outDir);
  const backend = opts.backend ?? 'wasm';
  if (!BACKEND_NAMES.includes(backend)) throw new StudyError(`unknown backend ${JSON.stringify(backend)}; known: ${BACKEND_NAMES.join(', ')}`);
  const workers = opts.workers ?? availableParallelism();
  if (!Number.isInteger(workers) || workers < 1) throw new StudyError(`--workers: a positive integer, got ${workers}`);
  if (!existsSync(opts.cliEntry)) throw new StudyError(`the tarm CLI entry ${opts.cliEntry} does not exist`);
  const filter = { models: opts.models, tasks: opts.tasks, seeds: opts.seeds };
  const axes = gridAxes(preset, filter);
  const grid = resolveGrid(preset, filter);

  mkdirSync(outDir, { recursive: true });
  const unlock = lockStudy(outDir);
  const startedAt = Date.now();
  let ticker: NodeJS.Timeout | undefined;
  try {
    const session: Session = { startedAt: new Date(startedAt).toISOString(), wallSeconds: 0, backend, workers };
    openStudyFile(outDir, preset, axes, session);
    mkdirSync(runsDir(outDir), { recursive: true });
    mkdirSync(logsDir(outDir), { recursive: true });
    const saveSession = () => {
      const file = readStudyFile(outDir)!;
      file.sessions[file.sessions.length - 1]!.wallSeconds = (Date.now() - startedAt) / 1000;
      writeStudyFile(outDir, file);
    };

    const runs: RunState[] = grid.map((r) => {
      const dir = runDir(outDir, r.id);
      const done = isFinished(dir);
      const summary = done ? readObject(join(dir, RUN_FILES.summary)) : undefined;
      return { ...r, steps: preset.config.steps, resumed: false, status: done ? 'skipped' : 'pending', wallSeconds: numberField(summary, ['wallSeconds'], ['result']) };
    });

    const renderer: GridRenderer | undefined = opts.progress === false ? undefined : opts.progress === true || opts.progress === undefined ? createGridProgress() : opts.progress;
    const emit = (event?: GridProgress['event']) => {
      const g = snapshot(runs, workers, startedAt, event);
      renderer?.update(g);
      opts.onProgress?.(g);
    };
    ticker = setInterval(() => emit(), 1000);
    ticker.unref();

    const children = new Set<ReturnType<typeof spawn>>();
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

    /** Runs one grid run to its end; never rejects. */
    const runOne = (state: RunState): Promise<void> =>
      new Promise((done) => {
        const dir = runDir(outDir, state.id);
        const logs = logsDir(outDir);
        rmSync(join(logs, LOG_FILES.failed(state.id)), { force: true });
        state.resumed = isStarted(dir);
        state.status = 'running';
        state.startedAt = Date.now();
        const args = [...(opts.nodeArgs ?? []), opts.cliEntry, ...trainArgs(state, preset.config, { runDir: dir, backend, resume: state.resumed, extra: opts.spawnArgs })];
        const log = createWriteStream(join(logs, LOG_FILES.stderr(state.id)), { flags: 'a' });
        log.write(`# ${new Date().toISOString()} ${process.execPath} ${args.join(' ')}\n`);
        const child = spawn(process.execPath, args, { env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
        children.add(child);
        emit({ kind: 'started', run: state });

        let stdout = '';
        let partial = '';
        const tail: string[] = [];
        child.stdout!.setEncoding('utf8').on('data', (d: string) => {
          stdout = (stdout + d).slice(-65_536);
        });
        child.stderr!.setEncoding('utf8').on('data', (d: string) => {
          log.write(d);
          const lines = (partial + d).split(/\r\n|\n|\r/);
          partial = lines.pop()!;
          let progressed = false;
          for (const line of lines) {
            const p = parseProgressLine(line);
            if (p) {
              state.firstStep ??= p.step;
              Object.assign(state, { step: p.step, steps: p.steps || state.steps });
              if (p.loss !== undefined) state.loss = p.loss;
              if (p.acc !== undefined) state.acc = p.acc;
              if (p.tokensPerSecond !== undefined) state.tokensPerSecond = p.tokensPerSecond;
              progressed = true;
            } else if (line.trim()) {
              tail.push(line);
              if (tail.length > STDERR_TAIL_LINES) tail.shift();
            }
          }
          if (progressed) emit();
        });
        const finish = (code: number | null, signal: NodeJS.Signals | null, spawnError?: Error) => {
          children.delete(child);
          if (partial.trim()) tail.push(partial);
          log.end();
          state.exitCode = code;
          state.signal = signal;
          state.wallSeconds = (Date.now() - state.startedAt!) / 1000;
          if (aborted && !spawnError && code !== 0) {
            state.status = 'pending';
            done();
            return;
          }
          const result = parseResultLine(stdout);
          if (result) state.result = result;
          if (code === 0 && isFinished(dir)) {
            state.status = 'done';
            state.step = state.steps;
            if (result) writeJsonAtomic(join(logs, LOG_FILES.result(state.id)), result);
          } else {
            state.status = 'failed';
            if (spawnError) tail.push(`cannot start: ${spawnError.message}`);
            else if (code === 0) tail.push(`tarm train exited 0 but wrote no ${RUN_FILES.summary} in ${dir}`);
            state.stderrTail = tail.join('\n');
            writeJsonAtomic(join(logs, LOG_FILES.failed(state.id)), {
              id: state.id,
              at: new Date().toISOString(),
              exitCode: code,
              signal,
              command: [process.execPath, ...args],
              stderrTail: state.stderrTail,
            });
          }
          saveSession();
          emit({ kind: state.status === 'done' ? 'finished' : 'failed', run: state });
          done();
        };
        let ended = false;
        child.on('error', (e) => {
          if (!ended) {
            ended = true;
            finish(null, null, e);
          }
        });
        child.on('close', (code, signal) => {
          if (!ended) {
            ended = true;
            finish(code, signal);
          }
        });
      });

    emit();
    let next = 0;
    const worker = async () => {
      for (;;) {
        if (aborted) return;
        const release = opts.slots ? await opts.slots.acquire() : undefined;
        try {
          if (aborted) return;
          while (next < runs.length && runs[next]!.status !== 'pending') next++;
          if (next >= runs.length) return;
          await runOne(runs[next++]!);
        } finally {
          release?.();
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(workers, runs.length) }, worker));

    clearInterval(ticker);
    opts.signal?.removeEventListener('abort', onAbort);
    saveSession();
    emit();
    renderer?.stop();
    const failed = runs.filter((r) => r.status === 'failed');
    return {
      outDir,
      preset,
      runs,
      failed,
      aborted,
      wallSeconds: (Date.now() - startedAt) / 1000,
      ok: !aborted && runs.every((r) => r.status === 'done' || r.status === 'skipped'),
    };
  } finally {
    clearInterval(ticker);
    unlock();
  }
}
