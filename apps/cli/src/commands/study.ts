import type { Command } from 'commander';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { BACKEND_NAMES, configDefiner, TarmError } from '@tarm/core';
import { flopsPerToken } from '@tarm/recursion';
import {
  armDir,
  collectAttribution,
  collectResults,
  readResults,
  writeResultsCsv,
  isAttributionFolder,
  PRESET_NAMES,
  TASK_NAMES,
  regenerateAttributionReport,
  regenerateReport,
  runAttribution,
  runStudy,
  StudyError,
  writeAttributionReport,
  writeReport,
} from '@tarm/study';
import { UsageError } from '../errors.js';

const list = (s: string | undefined): string[] | undefined => (s === undefined ? undefined : s.split(',').map((x) => x.trim()).filter(Boolean));

const StudyFlags = z.strictObject({
  preset: z.enum(PRESET_NAMES),
  out: z.string().min(1),
  models: z.string().optional(),
  tasks: z.string().optional(),
  task: z.enum(TASK_NAMES).optional(),
  seeds: z.string().regex(/^\d+(,\d+)*$/, 'a comma-separated list of integers').optional(),
  workers: z.coerce.number().int().min(1).optional(),
  backend: z.enum(BACKEND_NAMES).default('wasm'),
  log: z.enum(['tensorboard']).optional(),
});

/** The study's own errors are written for the user: show them like tarm's. */
function asTarmError(e: unknown): unknown {
  return e instanceof StudyError ? new TarmError(e.message) : e;
}

export function registerStudy(program: Command): void {
  program
    .command('study')
    .description('run the compute-matched grid (rungs x tasks x seeds) in parallel workers; resumable; writes results, report and plots')
    .requiredOption('--preset <name>', 'smoke | cpu | paper | attribution (ar-trm with one TRM fix at a time, then all; on --task)')
    .requiredOption('--out <dir>', 'study folder (rerun the same command to resume)')
    .option('--models <list>', 'comma-separated rungs (default: the preset\'s; not with attribution)')
    .option('--tasks <list>', 'comma-separated tasks (default: the preset\'s; not with attribution)')
    .option('--task <name>', `attribution only: the task every arm trains on, ${TASK_NAMES.join(' | ')} (default: addition)`)
    .option('--seeds <list>', 'comma-separated seeds (default: the preset\'s)')
    .option('--workers <n>', 'parallel training processes (default: one per core)')
    .option('--backend <name>', 'wasm | cpu | node | webgpu', 'wasm')
    .option('--log <sink>', 'every run also logs to: tensorboard (event files in each run folder; tensorboard --logdir <out>/runs)')
    .action(async (raw: Record<string, unknown>) => {
      const f = configDefiner(StudyFlags)(raw as never);
      if (f.preset === 'attribution' && f.log !== undefined) throw new UsageError('--log is not available with --preset attribution (its arms pass their own train flags); use it with smoke | cpu | paper');
      if (f.preset === 'attribution' && (f.models !== undefined || f.tasks !== undefined)) {
        throw new UsageError(
          `${f.models !== undefined ? '--models' : '--tasks'} is not allowed with --preset attribution: its arms fix the model (ar-trm, trm-faithful) and train one task (choose it with --task ${TASK_NAMES.join(' | ')}); --seeds, --workers and --backend are`,
        );
      }
      if (f.preset !== 'attribution' && f.task !== undefined) {
        throw new UsageError(`--task is only for --preset attribution; for preset ${f.preset} use --tasks <list> (${TASK_NAMES.join(', ')})`);
      }
      if (f.preset !== 'attribution' && isAttributionFolder(f.out)) {
        throw new UsageError(`${f.out} is an attribution study (attribution.json): resume it with --preset attribution, or choose another --out`);
      }
      const cliEntry = fileURLToPath(new URL('../main.js', import.meta.url));
      const ac = new AbortController();
      const abort = () => ac.abort();
      process.once('SIGINT', abort);
      process.once('SIGTERM', abort);
      try {
        if (f.preset === 'attribution') {
          const outcome = await runAttribution({
            outDir: f.out,
            cliEntry,
            task: f.task,
            seeds: list(f.seeds)?.map(Number),
            workers: f.workers,
            backend: f.backend,
            signal: ac.signal,
          });
          const { report } = await writeAttributionReport(f.out);
          console.log(
            `attribution ${f.out}: ${outcome.arms.length} arms, ${outcome.runs.length} runs, ${outcome.failed.length} failed, ${Math.round(outcome.wallSeconds)}s; report ${report}`,
          );
          process.exitCode = outcome.ok ? 0 : outcome.aborted ? 130 : 1;
          return;
        }
        const outcome = await runStudy({
          preset: f.preset,
          outDir: f.out,
          cliEntry,
          models: list(f.models),
          tasks: list(f.tasks),
          seeds: list(f.seeds)?.map(Number),
          workers: f.workers,
          backend: f.backend,
          signal: ac.signal,
          spawnArgs: f.log ? ['--log', f.log] : undefined,
        });
        const { report } = await writeReport(f.out, collectResults(f.out), flopsPerToken);
        console.log(`study ${f.out}: ${outcome.runs.length} runs, ${outcome.failed.length} failed, ${Math.round(outcome.wallSeconds)}s; report ${report}`);
        process.exitCode = outcome.ok ? 0 : outcome.aborted ? 130 : 1;
      } catch (e) {
        throw asTarmError(e);
      } finally {
        process.off('SIGINT', abort);
        process.off('SIGTERM', abort);
      }
    });

  program
    .command('report')
    .description('regenerate report.md and plots of a study from its results.json alone (an attribution study: from its arms\' results)')
    .argument('<dir>', 'study folder')
    .option('--csv', 'write results.csv (a row per run x step x length) from results.json alone, instead of the report')
    .action(async (dir: string, opts: { csv?: boolean }) => {
      try {
        if (opts.csv) {
          console.log(`wrote ${reportCsv(dir).join(', ')}`);
          return;
        }
        const { report } = isAttributionFolder(dir) ? await regenerateAttributionReport(dir) : await regenerateReport(dir, flopsPerToken);
        console.log(`wrote ${report}`);
      } catch (e) {
        throw asTarmError(e);
      }
    });
}

/** `tarm report --csv`: results.csv beside each results.json (every arm's, for an attribution study). */
function reportCsv(dir: string): string[] {
  if (!isAttributionFolder(dir)) return [writeResultsCsv(dir, readResults(dir))];
  const arms = collectAttribution(dir, { write: false, fromResultsFiles: true }).arms;
  return arms.flatMap((a) => (a.results ? [writeResultsCsv(armDir(dir, a.arm.id), a.results)] : []));
}
