import type { Command } from 'commander';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { BACKEND_CHOICES } from '@tarm/core';
import { configDefiner, setting, settingsShape, unsetSettings } from '@tarm/core/internal';
import { TASK_NAMES } from '@tarm/tasks';
import {
  archiveRuns,
  collectResults,
  loadStudy,
  PRESET_NAMES,
  readResults,
  resumeStudy,
  runStudy,
  STUDY_CONFIG_SETTINGS,
  StudyError,
  unpackRuns,
  writeReport,
  type StudyOverrides,
  type StudyResults,
} from '@tarm/study';
import { claimsTable, RUNS_ARCHIVE, writeResultsCsv } from '@tarm/study/internal';
import { backendReason, UsageError } from '../errors.js';
import { addSettingFlags, readFlags, typedFlags } from '../flags.js';
import { loadQueue, queueUrl } from '../queue.js';

const list = z.string().transform((s) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean),
);
const ints = z
  .string()
  .regex(/^\d+(,\d+)*$/, 'a comma-separated list of non-negative integers')
  .transform((s) => s.split(',').map(Number));
const int = z.coerce.number().int().min(1);

/** Flags that override the study file's shared configuration: its settings (STUDY_CONFIG_SETTINGS), unset by default. */
const OVERRIDES = {
  ...unsetSettings(STUDY_CONFIG_SETTINGS),
  log: setting({
    schema: z.enum(['tensorboard']).optional(),
    doc: 'every run also logs to: tensorboard (event files in each run folder; tensorboard --logdir <out>/runs)',
    arg: 'sink',
  }),
};

const StudyFlags = z.strictObject({
  config: z.string().min(1).optional(),
  preset: z.enum(PRESET_NAMES).optional(),
  out: z.string().min(1),
  arms: list.optional(),
  tasks: list.pipe(z.array(z.enum(TASK_NAMES as [string, ...string[]]))).optional(),
  task: z.enum(TASK_NAMES as [string, ...string[]]).optional(),
  seeds: ints.optional(),
  workers: int.optional(),
  threads: int.optional(),
  backend: z.enum(BACKEND_CHOICES).default('auto'),
  // overrides of the study file's shared configuration
  ...settingsShape(OVERRIDES),
  // queue mode (@tarm/queue)
  queue: z.string().min(1, '--queue alone reads the URL from $TARM_QUEUE, which is not set').optional(),
  detach: z.boolean().optional(),
  attempts: int.optional(),
});
type StudyFlags = z.output<typeof StudyFlags>;

/** The study a command asks for: a file or a preset with the flags applied; undefined to resume `--out` as recorded. */
function studyOf(f: StudyFlags) {
  if (f.tasks && f.task) throw new UsageError('give --tasks or --task, not both');
  const overrides: StudyOverrides = {
    arms: f.arms,
    tasks: f.tasks ?? (f.task ? [f.task] : undefined),
    seeds: f.seeds,
    config: Object.fromEntries(Object.keys(OVERRIDES).map((k) => [k, f[k as keyof typeof OVERRIDES]])),
  };
  if (f.config === undefined && f.preset === undefined) {
    if (!existsSync(join(f.out, 'study.json')))
      throw new UsageError(
        `give --config FILE or --preset ${PRESET_NAMES.join('|')} (or --out a study folder to resume it)`,
      );
    if (
      Object.values(overrides).some(
        (v) => v !== undefined && (typeof v !== 'object' || Object.values(v).some((x) => x !== undefined)),
      )
    ) {
      throw new UsageError(
        'flags that change the study need --config FILE or --preset NAME; --out alone resumes the folder as recorded',
      );
    }
    return undefined;
  }
  return loadStudy({ file: f.config, preset: f.preset }, overrides);
}

/** The study's errors are the user's to fix (a field of the file, a folder made with another file): exit 2. */
function asUsageError(e: unknown): unknown {
  return e instanceof StudyError ? new UsageError(e.message) : e;
}

/** The last line of `tarm study`: how many runs are finished, and whether the command was interrupted (resumable). */
function outcomeLine(
  dir: string,
  o: { runs: readonly { status: string }[]; failed: readonly unknown[]; aborted?: boolean; wallSeconds: number },
  report: string,
): string {
  const finished = o.runs.filter((r) => r.status === 'done' || r.status === 'skipped').length;
  const here = o.runs.filter((r) => r.status === 'done').length;
  const state = o.aborted ? '; interrupted: the same command resumes it' : '';
  return `study ${dir}: ${finished} of ${o.runs.length} runs finished (${here} in this session), ${o.failed.length} failed, ${Math.round(o.wallSeconds)}s${state}; report ${report}`;
}

export function registerStudy(program: Command): void {
  const studyCmd = program
    .command('study')
    .description(
      'run a study file (arms x tasks x seeds) in parallel workers; resumable; writes results, report and plots',
    )
    .option('--config <file>', 'a study file (JSON; schema: @tarm/study/study.schema.json)')
    .option('--preset <name>', `a shipped study file: ${PRESET_NAMES.join(' | ')}`)
    .option('--out <dir>', 'study folder, required (rerun the same command, or give --out alone, to resume)')
    .option('--arms <list>', "comma-separated arms to run (default: the file's)")
    .option('--tasks <list>', `comma-separated tasks, ${TASK_NAMES.join(' | ')} (default: the file's)`)
    .option('--task <name>', 'one task (same as --tasks with one name)')
    .option('--seeds <list>', "comma-separated seeds (default: the file's)");
  addSettingFlags(studyCmd, OVERRIDES, { help: (s) => `override the file's: ${s.doc}` })
    .option('--workers <n>', 'parallel training processes (default: chosen for the machine)')
    .option('--threads <n>', 'threads per process, node backend (default: chosen for the machine)')
    .option(
      '--backend <name>',
      `${BACKEND_CHOICES.join(' | ')} (auto: node when @tensorflow/tfjs-node loads, else wasm)`,
      'auto',
    )
    .option(
      '--queue [url]',
      'put the runs on a queue for `tarm worker`s on many machines (docs/distributed.md): redis://[:password@]host:port[/db][?queue=name] or rediss:// (TLS); --queue alone: the URL in $TARM_QUEUE',
    )
    .option('--detach', 'with --queue: enqueue and return at once (follow with `tarm study status`)')
    .option('--attempts <n>', 'with --queue: tries of a run that fails before it is marked failed (default 2)')
    .action(async (options: Record<string, unknown>, cmd: Command) => {
      const raw = readFlags(typedFlags(cmd, options, OVERRIDES).raw, OVERRIDES);
      const cliEntry = fileURLToPath(new URL('../main.js', import.meta.url));
      const ac = new AbortController();
      const abort = () => ac.abort();
      process.once('SIGINT', abort);
      process.once('SIGTERM', abort);
      try {
        // not commander's requiredOption: `tarm study status` has no --out
        if (raw.out === undefined) throw new UsageError("required option '--out <dir>' not specified");
        const f = configDefiner(StudyFlags)({
          ...raw,
          queue: raw.queue === undefined ? undefined : (queueUrl(raw.queue) ?? ''),
        } as never);
        const study = studyOf(f); // every field checked before anything is written
        if (f.queue !== undefined) {
          await studyOnQueue(f, study, ac.signal);
          return;
        }
        if (f.detach || f.attempts !== undefined) throw new UsageError('--detach and --attempts need --queue URL');
        const onStart = (p: { backend: string; reason: string; workers: number; threads: number; mixed?: string }) => {
          console.error(
            `tarm: backend ${p.backend} (${backendReason(p.reason)}), ${p.workers} worker${p.workers === 1 ? '' : 's'} x ${p.threads} thread${p.threads === 1 ? '' : 's'}`,
          );
          if (p.mixed)
            console.error(
              `tarm: note: ${p.mixed}; a run trained under another backend, thread count or CPU kind is not bit-identical to one trained now (docs/compute.md)`,
            );
        };
        const opts = {
          outDir: f.out,
          cliEntry,
          workers: f.workers,
          threads: f.threads,
          backend: f.backend,
          signal: ac.signal,
          onStart,
        };
        const outcome = study ? await runStudy(study, opts) : await resumeStudy(opts);
        const { report } = await writeReport(f.out, collectResults(f.out));
        console.log(outcomeLine(f.out, outcome, report));
        process.exitCode = outcome.ok ? 0 : outcome.aborted ? 130 : 1;
      } catch (e) {
        throw asUsageError(e);
      } finally {
        process.off('SIGINT', abort);
        process.off('SIGTERM', abort);
      }
    });

  studyCmd
    .command('status')
    .description(
      'where a study stands: done, running (on which worker, at which step), failed (with the error), left, time left',
    )
    .argument('[dir]', 'study folder')
    .option(
      '--queue [url]',
      "read the study's queue too (workers, steps, failures); --queue alone: the URL in $TARM_QUEUE",
    )
    .action(async (dir: string | undefined, _o: unknown, cmd: Command) => {
      const flag = cmd.optsWithGlobals().queue;
      const url = flag === undefined ? undefined : queueUrl(flag);
      if (flag !== undefined && !url)
        throw new UsageError('--queue alone reads the URL from $TARM_QUEUE, which is not set');
      if (!dir && !url) throw new UsageError('give a study folder, --queue URL, or both');
      try {
        const q = await loadQueue();
        const s = await q.studyStatus({ outDir: dir, location: url ? q.parseQueueUrl(url) : undefined });
        console.log(q.formatStatus(s));
      } catch (e) {
        throw asUsageError(e);
      }
    });

  studyCmd
    .command('archive')
    .description(
      `write ${RUNS_ARCHIVE} of a study folder: its runs/ and logs/ (no checkpoints, no .log files) in one file, to commit in their place; tarm report, tarm study and tarm study status unpack it on demand`,
    )
    .argument('<dir>', 'study folder')
    .action((dir: string) => {
      try {
        const a = archiveRuns(dir);
        const kb = (n: number) => `${Math.round(n / 1024)} kB`;
        console.log(
          `${a.unchanged ? 'unchanged' : 'wrote'} ${a.archive}: ${a.files} files of ${join(dir, 'runs')} and ${join(dir, 'logs')}, ${kb(a.bytes)} in ${kb(a.archiveBytes)}`,
        );
      } catch (e) {
        throw asUsageError(e);
      }
    });

  studyCmd
    .command('unpack')
    .description(
      `fill runs/ and logs/ of a study folder from its ${RUNS_ARCHIVE} (a file newer here is kept, none is deleted); tarm report, tarm study and tarm study status do it on demand`,
    )
    .argument('<dir>', 'study folder')
    .action((dir: string) => {
      try {
        const u = unpackRuns(dir, { force: true });
        if (!u)
          throw new UsageError(`${join(dir, RUNS_ARCHIVE)} does not exist (write it with: tarm study archive ${dir})`);
        console.log(
          `unpacked ${u.unpacked} files of ${u.archive} into ${join(dir, 'runs')} and ${join(dir, 'logs')}; ${u.kept} as new or newer here kept`,
        );
      } catch (e) {
        throw asUsageError(e);
      }
    });

  program
    .command('report')
    .description(
      'write report.md and plots of a study (results.json collected again from the run folders when they are newer)',
    )
    .argument('<dir>', 'study folder')
    .option('--csv', 'write results.csv (a row per run x step x length) from results.json alone, instead of the report')
    .action(async (dir: string, opts: { csv?: boolean }) => {
      try {
        if (opts.csv) {
          console.log(`wrote ${writeResultsCsv(dir, readResults(dir))}`);
          return;
        }
        const results = resultsForReport(dir);
        const { report } = await writeReport(dir, results);
        console.log(
          `${claimsTable(results, { markdown: false })}\n\nwrote ${report} (the claims in detail, the rules, tables and plots)`,
        );
      } catch (e) {
        throw asUsageError(e);
      }
    });
}

/**
 * The results a report is made from: results.json, collected again from the run folders first when it is missing
 * or older than a run's summary.json or metrics.jsonl (a detached queue study: its workers wrote the run folders,
 * nobody wrote results.json). A folder of results.json alone (no study.json) is reported as it is.
 */
function resultsForReport(dir: string): StudyResults {
  if (!existsSync(dir)) throw new UsageError(`${dir}: no such folder; give a study folder (the --out of tarm study)`);
  if (!statSync(dir).isDirectory())
    throw new UsageError(`${dir} is a file, not a study folder; give the --out of tarm study`);
  if (!existsSync(join(dir, 'study.json'))) return readResults(dir);
  const unpacked = unpackRuns(dir); // run folders committed as runs.tar.gz (a fresh clone)
  if (unpacked && unpacked.unpacked > 0)
    console.error(
      `tarm: unpacked ${unpacked.unpacked} files of ${unpacked.archive} into ${join(dir, 'runs')} and ${join(dir, 'logs')}`,
    );
  const results = join(dir, 'results.json');
  const written = existsSync(results) ? statSync(results).mtimeMs : -Infinity;
  const runs = join(dir, 'runs');
  const newer = (existsSync(runs) ? readdirSync(runs) : []).some((id) =>
    ['summary.json', 'metrics.jsonl'].some((f) => {
      const p = join(runs, id, f);
      return existsSync(p) && statSync(p).mtimeMs > written;
    }),
  );
  if (!newer && written > -Infinity) return readResults(dir);
  const collected = collectResults(dir);
  const finished = collected.runs.filter((r) => r.status === 'finished').length;
  console.error(
    `tarm: collected ${collected.runs.length} run folders of ${dir} into results.json (${finished} finished)`,
  );
  return collected;
}

/** `tarm study --queue URL`: enqueue the study's runs, then follow them (or return with --detach); writes the report when all are done. */
async function studyOnQueue(f: StudyFlags, study: ReturnType<typeof studyOf>, signal: AbortSignal): Promise<void> {
  for (const k of ['workers', 'threads'] as const)
    if (f[k] !== undefined)
      throw new UsageError(
        `--${k} is for local studies; with --queue each \`tarm worker\` chooses its own (--concurrency)`,
      );
  const q = await loadQueue();
  const location = q.parseQueueUrl(f.queue!);
  const outcome = await q.runStudyOnQueue(study, {
    location,
    outDir: f.out,
    attempts: f.attempts,
    detach: f.detach,
    signal,
    onEnqueued: (r) =>
      console.error(
        `tarm: queue ${location.display}: ${r.added.length} runs enqueued, ${r.queued.length} already queued, ${r.retried.length} failed ones retried, ${r.finished.length} finished earlier`,
      ),
  });
  if (outcome.detached) {
    console.log(
      `study ${outcome.outDir}: ${outcome.runs.length} runs on ${location.display}; follow with: tarm study status ${outcome.outDir} --queue URL`,
    );
    return;
  }
  const { report } = await writeReport(outcome.outDir, collectResults(outcome.outDir));
  if (existsSync(join(outcome.outDir, RUNS_ARCHIVE))) archiveRuns(outcome.outDir); // the archive follows the run folders
  console.log(outcomeLine(outcome.outDir, outcome, report));
  for (const r of outcome.failed)
    console.error(`tarm: FAILED ${r.id}: ${(r.stderrTail ?? '').trim().split('\n').pop()}`);
  process.exitCode = outcome.ok ? 0 : outcome.aborted ? 130 : 1;
}
