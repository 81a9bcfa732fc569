import { appendFile, open, readFile } from 'node:fs/promises';
import { CheckpointError } from '@tarm/core';
import { writeFileAtomic } from '@tarm/core/node/internal';

/**
 * JSON-lines files written so that a killed process never breaks them: lines are appended whole (one write of
 * `JSON + "\n"`), rewrites go through a temporary file and a rename, and a reader drops a torn last line (one
 * without its newline, which only a kill during an append can leave).
 */

/** Appends one JSON line (a single write call). */
export async function appendJsonLine(path: string, value: unknown): Promise<void> {
  await appendFile(path, JSON.stringify(value) + '\n');
}

/** Reads the lines of a JSON-lines file; [] when missing. A torn last line is dropped; a bad line elsewhere is an error. */
export async function readJsonLines<T = unknown>(path: string): Promise<T[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const parts = text.split('\n');
  parts.pop(); // after the last newline: '' for a clean file, the torn fragment otherwise
  return parts.map((line, i) => {
    try {
      return JSON.parse(line) as T;
    } catch {
      throw new CheckpointError(path, `line ${i + 1} is not valid JSON`);
    }
  });
}

/** Replaces the whole file atomically with these lines. */
export async function writeJsonLinesAtomic(path: string, values: readonly unknown[]): Promise<void> {
  await writeFileAtomic(path, values.map((v) => JSON.stringify(v) + '\n').join(''));
}

/** Flushes a file to disk (no-op when it does not exist). */
export async function syncFile(path: string): Promise<void> {
  let fh;
  try {
    fh = await open(path, 'r+');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
