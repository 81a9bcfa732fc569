import { cpSync, mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FAKE_TARM = fileURLToPath(new URL('./fixtures/fake-tarm.mjs', import.meta.url));
export const STUDY_MINI = fileURLToPath(new URL('./fixtures/study-mini', import.meta.url));

export function tempDir(prefix = 'tarm-study-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A writable copy of the fixture study folder. */
export function copyFixtureStudy(): string {
  const dir = join(tempDir(), 'study-mini');
  cpSync(STUDY_MINI, dir, { recursive: true });
  return dir;
}

/** Invocations the fake train command logged: [run id, 'fresh' | 'resume'][]. */
export function invocations(logFile: string): [string, string][] {
  if (!existsSync(logFile)) return [];
  return readFileSync(logFile, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ') as [string, string]);
}
