import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { duration } from '@tarm/eval/internal';
import { StudyError, unpackRuns, type Study } from '@tarm/study';
import {
  estimateSecondsLeft,
  isFinished,
  isStarted,
  LOG_FILES,
  logsDir,
  readJsonLines,
  readObject,
  readStudyFile,
  runDir,
  studyGrid,
  runSteps,
  RUN_FILES,
  STUDY_FILE,
} from '@tarm/study/internal';
import { connect, openQueue } from './jobs.js';
import { readQueuedRuns, type QueuedRun } from './study.js';
import type { QueueLocation } from './url.js';

/** Where a study stands: every run, the workers seen on the queue, and the time left. */
export interface StudyStatus {
  readonly outDir: string;
  readonly study: Study;
  /** The queue it was read from (display form), or undefined for the folder alone. */
  readonly queue?: string;
  readonly runs: readonly QueuedRun[];
  /** Workers connected to the queue (`host:pid`). */
  readonly workers: readonly string[];
  readonly etaSeconds?: number;
}

function recordedStudy(outDir: string): Study {
  const file = readStudyFile(outDir);
  if (!file) throw new StudyError(`${outDir} is not a study folder (no ${STUDY_FILE})`, 'out');
  unpackRuns(outDir); // run folders committed as runs.tar.gz
  return file.study;
}

/** The runs of a folder without Redis: finished, failed (logs/<id>.failed.json), started (its last logged step) or not. */
function folderRuns(outDir: string, study: Study): QueuedRun[] {
  return studyGrid(study).map((r) => {
    const steps = runSteps(study, r);
    const dir = runDir(outDir, r.id);
    const run: QueuedRun = { ...r, steps, resumed: false, status: 'pending', jobState: 'unknown' };
    const failed = readObject(join(logsDir(outDir), LOG_FILES.failed(r.id)));
    if (isFinished(dir, steps)) Object.assign(run, { status: 'done', step: steps });
    else if (failed) Object.assign(run, { status: 'failed', stderrTail: failed.stderrTail });
    else if (isStarted(dir)) {
      const lines = readJsonLines(join(dir, RUN_FILES.metrics));
      run.step = lines
        .map((l) => l.step)
        .filter((s): s is number => typeof s === 'number')
        .pop();
    }
    return run;
  });
}

/**
 * The status of a study: from its folder (`outDir`), from its queue (`location`; the folder is the one its jobs
 * name), or both. The queue adds which worker runs what, its step, and failures with BullMQ's reason.
 */
export async function studyStatus(o: { outDir?: string; location?: QueueLocation }): Promise<StudyStatus> {
  if (!o.location) {
    const outDir = resolve(o.outDir!);
    const study = recordedStudy(outDir);
    const runs = folderRuns(outDir, study);
    return { outDir, study, runs, workers: [], etaSeconds: estimateSecondsLeft(runs, 1) };
  }
  const client = await connect(o.location);
  const queue = openQueue(o.location, client);
  try {
    let outDir = o.outDir && resolve(o.outDir);
    if (!outDir) {
      const [job] = await queue.getJobs(['active', 'waiting', 'delayed', 'prioritized', 'failed', 'completed'], 0, 0);
      if (!job) throw new StudyError(`the queue ${o.location.display} holds no study`, 'queue');
      outDir = job.data.outDir;
    }
    if (!existsSync(join(outDir, STUDY_FILE)))
      throw new StudyError(
        `the queue's study folder ${outDir} holds no ${STUDY_FILE} on this machine (it must be on storage every machine sees)`,
        'out',
      );
    const study = recordedStudy(outDir);
    const runs = await readQueuedRuns(queue, study, outDir);
    // BullMQ names each worker's Redis connections `<prefix>:<queue>:w:<name>`; a worker holds more than one
    const workers = [
      ...new Set(
        (await queue.getWorkers()).map((w) => String(w.rawname ?? '').split(':w:')[1]).filter((x): x is string => !!x),
      ),
    ];
    return {
      outDir,
      study,
      queue: o.location.display,
      runs,
      workers,
      etaSeconds: estimateSecondsLeft(runs, Math.max(1, workers.length)),
    };
  } finally {
    await queue.close().catch(() => {});
    client.disconnect();
  }
}

/** The status as lines for a terminal. */
export function formatStatus(s: StudyStatus): string {
  const n = (st: string) => s.runs.filter((r) => r.status === st).length;
  const done = n('done') + n('skipped');
  const lines = [
    `study ${s.study.name} (${s.outDir})${s.queue ? ` on ${s.queue}` : ''}: ${done}/${s.runs.length} done, ${n('running')} running, ${n('failed')} failed, ${n('pending')} left | left ${duration(s.etaSeconds)}`,
  ];
  for (const r of s.runs.filter((x) => x.status === 'running'))
    lines.push(
      `  running ${r.id} on ${r.worker ?? '?'}: step ${r.step ?? 0}/${r.steps}${r.resumedFrom !== undefined ? ` (resumed from step ${r.resumedFrom})` : ''}`,
    );
  for (const r of s.runs.filter((x) => x.status === 'pending' && x.step !== undefined))
    lines.push(`  started ${r.id}: step ${r.step}/${r.steps} (interrupted or running)`);
  for (const r of s.runs.filter((x) => x.status === 'failed'))
    lines.push(`  failed  ${r.id}: ${(r.stderrTail ?? '').trim().split('\n').slice(-3).join(' | ')}`);
  if (s.queue) lines.push(`workers: ${s.workers.length ? s.workers.join(', ') : 'none connected'}`);
  return lines.join('\n');
}
