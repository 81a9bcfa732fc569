import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { BACKEND_NAMES } from '@tarm/core';
import { StudyError } from './errors.js';
import { writeJsonAtomic } from './files.js';
import { StudySchema, taskSettings, type Study } from './schema.js';

/**
 * One invocation of `runStudy` on a study folder (a study resumed twice has three sessions). A session that
 * drove the study through a queue (@tarm/queue) records the queue (its URL without any password) instead of a
 * backend and workers: each worker machine chose its own.
 */
export const SessionSchema = z.union([
  z.object({
    startedAt: z.string(),
    wallSeconds: z.number().min(0),
    backend: z.enum(BACKEND_NAMES),
    workers: z.int().min(1),
    /** Threads per worker (the node backend's intra-op threads; 1 for wasm). */
    threads: z.int().min(1),
    /** The CPU kind, e.g. "AMD EPYC (avx2, avx512f)" (absent in sessions recorded before it was). */
    cpu: z.string().optional(),
  }),
  z.object({
    startedAt: z.string(),
    wallSeconds: z.number().min(0),
    /** `redis://host:port/db` (never the password) and the queue name. */
    queue: z.string(),
  }),
]);
export type Session = z.output<typeof SessionSchema>;

/**
 * `study.json`: the resolved study file the folder was made with (every default and flag applied) and its
 * sessions. Rerunning compares the study with this one and resumes; a changed field is refused.
 */
export const StudyFileSchema = z.object({
  schema: z.literal('tarm-study'),
  version: z.literal(2),
  study: StudySchema,
  createdAt: z.string(),
  sessions: z.array(SessionSchema),
});
export type StudyFile = z.output<typeof StudyFileSchema>;

export const STUDY_FILE = 'study.json';

/** Reads and validates `outDir/study.json`; `undefined` when there is none. */
export function readStudyFile(outDir: string): StudyFile | undefined {
  const path = join(outDir, STUDY_FILE);
  if (!existsSync(path)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new StudyError(
      `${path} is not valid JSON (${(e as Error).message}); move it away to start a new study there`,
    );
  }
  const parsed = StudyFileSchema.safeParse(upgradeV1(raw));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new StudyError(`${path} is not a tarm study folder file (v2): ${issue.path.join('.')}: ${issue.message}`);
  }
  return parsed.data;
}

/**
 * A version-1 study.json (a preset of rungs, before study files) as version 2: each rung an arm of its name, the
 * recorded grid as the study's arms, tasks and seeds. Its run folders keep their names (`<rung>-<task>-s<seed>`).
 */
function upgradeV1(raw: unknown): unknown {
  const v1 = raw as {
    version?: unknown;
    preset?: { name: string; description: string; config: object; notes: string[] };
    grid?: { models: string[]; tasks: string[]; seeds: number[] };
    sessions?: object[];
  };
  if (v1?.version !== 1 || !v1.preset || !v1.grid) return raw;
  const { preset, grid, sessions, ...rest } = v1 as Required<typeof v1>;
  const study = {
    name: preset.name,
    description: preset.description,
    arms: grid.models.map((m) => ({ name: m, rung: m })),
    tasks: grid.tasks.map((t) => ({ name: t })),
    seeds: grid.seeds,
    config: preset.config,
    notes: preset.notes,
  };
  return { ...rest, version: 2, study, sessions: sessions.map((x) => ({ threads: 1, ...x })) };
}

export function writeStudyFile(outDir: string, file: StudyFile): void {
  writeJsonAtomic(join(outDir, STUDY_FILE), file);
}

interface Change {
  readonly path: string;
  readonly a: unknown;
  readonly b: unknown;
}

/** The paths at which two JSON values differ. */
function diff(a: unknown, b: unknown, path: string): Change[] {
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((k) =>
      diff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`),
    );
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [{ path, a, b }];
}

/** More training steps than recorded (config.steps, a task's steps or maxSteps): finished runs are continued, not redone. */
const moreSteps = (c: Change) =>
  /\.(steps|maxSteps)$/.test(c.path) && typeof c.a === 'number' && typeof c.b === 'number' && c.b > c.a;

/** Fields that do not change what a run computes. */
const wording = <T extends object>(x: T) =>
  Object.fromEntries(Object.entries(x).filter(([k]) => !['label', 'change'].includes(k)));

/**
 * The study a folder holds after this command: the recorded one grown by the new arms, tasks and seeds (the
 * wording, comparisons and notes taken from the new one) and, with `growSteps`, by more training steps (a task's
 * `steps` or `config.steps` larger than recorded: the runner continues each finished run from its checkpoint, bit
 * for bit the longer run, or retrains it where the checkpoint is gone). Any other field that changes a run
 * already defined (the shared configuration, an arm's switches, a task's settings, the name) is refused, naming
 * every such field.
 */
export function mergeStudy(old: Study, study: Study, where: string, opts: { growSteps?: boolean } = {}): Study {
  const changed = [
    ...diff(old.name, study.name, 'name'),
    ...diff(old.config, study.config, 'config'),
    ...study.arms.flatMap((a) => {
      const o = old.arms.find((x) => x.name === a.name);
      return o ? diff(wording(o), wording(a), `arms.${a.name}`) : [];
    }),
    ...study.tasks.flatMap((t) => {
      const o = old.tasks.find((x) => x.name === t.name);
      if (!o) return [];
      // as the runs see them; a field neither version of the task sets is the config's, compared above
      const own = (k: string) =>
        (o as Record<string, unknown>)[k] !== undefined || (t as Record<string, unknown>)[k] !== undefined;
      return diff(taskSettings(old, o), taskSettings(study, t), `tasks.${t.name}`).filter((c) =>
        own(c.path.slice(`tasks.${t.name}.`.length)),
      );
    }),
  ].filter((c) => !(opts.growSteps && moreSteps(c)));
  if (changed.length) {
    const text = changed.map((c) => `${c.path}: ${JSON.stringify(c.a)} -> ${JSON.stringify(c.b)}`).join('; ');
    const steps =
      !opts.growSteps && changed.every(moreSteps)
        ? ' (more steps continue a study with a local `tarm study`, not through a queue)'
        : '';
    throw new StudyError(
      `${where} was made with another study file: ${text}${steps}. Rerun with the original file to resume it, or choose another --out.`,
      changed[0]!.path,
    );
  }
  const union = <T>(a: readonly T[], b: readonly T[], key: (x: T) => unknown) => [
    ...a,
    ...b.filter((x) => !a.some((y) => key(y) === key(x))),
  ];
  return {
    ...study,
    arms: union(
      old.arms.map((a) => study.arms.find((x) => x.name === a.name) ?? a),
      study.arms,
      (a) => a.name,
    ),
    tasks: union(
      old.tasks.map((t) => study.tasks.find((x) => x.name === t.name) ?? t),
      study.tasks,
      (t) => t.name,
    ), // a task's steps may have grown
    seeds: union(old.seeds, study.seeds, (s) => s),
  };
}

/**
 * Creates `outDir/study.json`, or checks the recorded study against this one ({@link mergeStudy}) and records the
 * grown study and a new session.
 */
export function openStudyFile(
  outDir: string,
  study: Study,
  session: Session,
  opts: { growSteps?: boolean } = {},
): StudyFile {
  mkdirSync(outDir, { recursive: true });
  const old = readStudyFile(outDir);
  const file: StudyFile = old
    ? {
        ...old,
        study: mergeStudy(old.study, study, join(outDir, STUDY_FILE), opts) as StudyFile['study'],
        sessions: [...old.sessions, session],
      }
    : {
        schema: 'tarm-study',
        version: 2,
        study: structuredClone(study) as StudyFile['study'],
        createdAt: session.startedAt,
        sessions: [session],
      };
  writeStudyFile(outDir, file);
  return file;
}

/** Total wall time over the sessions of a study. */
export function studyWallSeconds(file: Pick<StudyFile, 'sessions'>): number {
  return file.sessions.reduce((s, x) => s + x.wallSeconds, 0);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes `outDir/.lock` so that two studies never drive the same folder at once. A lock left by a process that
 * no longer exists is taken over. Returns the release function.
 */
export function lockStudy(outDir: string): () => void {
  const path = join(outDir, '.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, String(process.pid), { flag: 'wx' });
      return () => rmSync(path, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(readFileSync(path, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new StudyError(`${outDir} is being run by process ${pid} (${path}); wait for it or stop it first`);
      }
      rmSync(path, { force: true });
    }
  }
  throw new StudyError(`cannot take the lock ${path}`);
}
