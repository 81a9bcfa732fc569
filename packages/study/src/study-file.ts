import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { StudyError } from './errors.js';
import { writeJsonAtomic } from './files.js';
import { BACKEND_NAMES, MODEL_NAMES, StudyPresetSchema, TASK_NAMES, type StudyPreset } from './presets.js';

/** One invocation of `runStudy` on a study folder (a study resumed twice has three sessions). */
export const SessionSchema = z.object({
  startedAt: z.string(),
  wallSeconds: z.number().min(0),
  backend: z.enum(BACKEND_NAMES),
  workers: z.int().min(1),
});
export type Session = z.output<typeof SessionSchema>;

/**
 * `study.json`: what a study folder was made with. Rerunning the same command compares its preset with this
 * one and resumes; a different configuration is refused.
 */
export const StudyFileSchema = z.object({
  schema: z.literal('tarm-study'),
  version: z.literal(1),
  preset: StudyPresetSchema,
  /** The union of every grid run in this folder so far (filters can grow a study). */
  grid: z.object({ models: z.array(z.enum(MODEL_NAMES)), tasks: z.array(z.enum(TASK_NAMES)), seeds: z.array(z.int().min(0)) }),
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
    throw new StudyError(`${path} is not valid JSON (${(e as Error).message}); move it away to start a new study there`);
  }
  const parsed = StudyFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new StudyError(`${path} is not a tarm study file: ${issue.path.join('.')}: ${issue.message}`);
  }
  return parsed.data;
}

export function writeStudyFile(outDir: string, file: StudyFile): void {
  writeJsonAtomic(join(outDir, STUDY_FILE), file);
}

/** Keys whose values differ between two flat configs, as `key: old -> new`. */
export function configDiff(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return keys.filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k])).map((k) => `${k}: ${JSON.stringify(a[k])} -> ${JSON.stringify(b[k])}`);
}

const union = <T>(a: readonly T[], b: readonly T[]): T[] => [...new Set([...a, ...b])];

/**
 * Creates `outDir/study.json`, or checks that the existing one has the same preset (name and configuration) and
 * records the grid and a new session. Throws a StudyError naming every differing setting otherwise.
 */
export function openStudyFile(
  outDir: string,
  preset: StudyPreset,
  grid: StudyFile['grid'],
  session: Session,
): StudyFile {
  mkdirSync(outDir, { recursive: true });
  const old = readStudyFile(outDir);
  let file: StudyFile;
  if (old) {
    const diff = configDiff(old.preset.config, preset.config);
    if (old.preset.name !== preset.name || diff.length > 0) {
      throw new StudyError(
        `${join(outDir, STUDY_FILE)} was made with preset ${old.preset.name}` +
          (diff.length ? ` and a different configuration (${diff.join('; ')})` : '') +
          `; this command asks for preset ${preset.name}. Rerun with the original preset to resume it, or choose another --out.`,
      );
    }
    file = {
      ...old,
      grid: {
        models: MODEL_NAMES.filter((m) => old.grid.models.includes(m) || grid.models.includes(m)),
        tasks: TASK_NAMES.filter((t) => old.grid.tasks.includes(t) || grid.tasks.includes(t)),
        seeds: union(old.grid.seeds, grid.seeds),
      },
      sessions: [...old.sessions, session],
    };
  } else {
    file = { schema: 'tarm-study', version: 1, preset: structuredClone(preset) as StudyFile['preset'], grid, createdAt: session.startedAt, sessions: [session] };
  }
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

