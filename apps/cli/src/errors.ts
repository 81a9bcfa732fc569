import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError, TarmError } from '@tarm/core';
import { flagName } from '@tarm/core/internal';
import { EVAL_SETTINGS } from '@tarm/eval';
import { MODEL_SETTINGS } from '@tarm/recursion';
import { TRAIN_SETTINGS } from '@tarm/train';

/**
 * Config field -> the CLI flag that sets it, so errors name what the user typed: a setting's flag is its key in
 * kebab case (MODEL_SETTINGS, TRAIN_SETTINGS, EVAL_SETTINGS; `dModel` is `--d-model`); the training library's
 * fields (`train.steps`) are the same settings.
 */
export const FLAG_OF: Readonly<Record<string, string>> = Object.fromEntries(
  [
    ...Object.keys(MODEL_SETTINGS),
    ...Object.keys(TRAIN_SETTINGS),
    ...Object.keys(EVAL_SETTINGS),
    ...['backend', 'config', 'out', 'log', 'prompt', 'maxTokens', 'run', 'lengths', 'n'],
  ].flatMap((k) => [
    [k, flagName(k)],
    ...((Object.keys(TRAIN_SETTINGS) as string[]).includes(k) ? [[`train.${k}`, flagName(k)]] : []),
  ]),
);

/**
 * The backend line of train and study: why auto chose what it did. A missing optional tfjs-node is the common
 * case on a fresh install and gets a short note; a broken installation keeps the full explanation.
 */
export function backendReason(reason: string): string {
  const m = /^auto: backend "node" is not available: the package (\S+) is not installed; run: ([^(;]+?)\s*(\(|$)/.exec(
    reason,
  );
  return m ? `auto: ${m[1]} is not installed; ${m[2]} for the faster node backend` : reason;
}

/** A usage error: the CLI prints it and exits with code 2. */
export class UsageError extends TarmError {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Flags arrive as strings: show "5" as 5, keep quotes for words. */
function showValue(v: unknown): string {
  return typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? v : JSON.stringify(v);
}

/** Rewrites a ConfigError about a config field into one about the flag. */
export function toUsageError(e: unknown): unknown {
  if (e instanceof ConfigError) {
    // a structural switch (`switches.halting`) is one pair of --switches
    const flag = e.field.startsWith('switches.')
      ? `--switches ${e.field.slice('switches.'.length)}`
      : (FLAG_OF[e.field] ?? FLAG_OF[e.field.split('.')[0]!] ?? `--${e.field}`); // evalLengths.1: an item of a list
    let allowed = e.allowed;
    for (const [field, f] of Object.entries(FLAG_OF)) allowed = allowed.replace(new RegExp(`\\b${field}\\b`, 'g'), f);
    return new UsageError(
      `invalid ${flag}: ${e.got === undefined ? 'missing' : `got ${showValue(e.got)}`}; allowed: ${allowed}`,
    );
  }
  return e;
}

/** A Node.js file-system error (ENOENT, EACCES, ...): it has a string `code` and a `syscall`. */
function isFsError(e: unknown): e is NodeJS.ErrnoException & { dest?: string } {
  return (
    e instanceof Error &&
    typeof (e as NodeJS.ErrnoException).code === 'string' &&
    typeof (e as NodeJS.ErrnoException).syscall === 'string'
  );
}

/** The first part of `path` that exists and is a file (what makes ENOTDIR), or undefined. */
export function fileInPath(path: string): string | undefined {
  const parts: string[] = [];
  for (let p = resolve(path); ; p = dirname(p)) {
    parts.unshift(p);
    if (dirname(p) === p) break;
  }
  for (const p of parts) {
    try {
      if (statSync(p).isFile()) return p;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

const WRITES = new Set([
  'mkdir',
  'rename',
  'write',
  'unlink',
  'rmdir',
  'copyfile',
  'symlink',
  'utime',
  'chmod',
  'fsync',
  'ftruncate',
]);

/**
 * A file-system error as one line for a person: what failed, on which path, and what to do (no stack trace).
 * The path of an atomic write's temporary file is shown as the file it was to become. Undefined for any other error.
 */
export function fsErrorMessage(e: unknown): string | undefined {
  if (!isFsError(e)) return undefined;
  const raw = e.dest ?? e.path ?? '(unknown path)';
  const path = raw.replace(/\.tmp-\d+-\d+$/, '');
  const verb = WRITES.has(e.syscall!)
    ? 'write'
    : /^(read|readdir|scandir|stat|lstat|access)$/.test(e.syscall!)
      ? 'read'
      : 'use';
  switch (e.code) {
    case 'ENOTDIR': {
      const file = fileInPath(path);
      return `cannot ${verb} ${path}: ${file ? `${file} is a file, not a folder` : 'a part of the path is a file, not a folder'}; give a folder path (a new or existing folder)`;
    }
    case 'EISDIR':
      return `cannot ${verb} ${path}: it is a folder, and a file is needed here; give a file name (e.g. ${path}/model.safetensors)`;
    case 'EACCES':
    case 'EPERM':
      return `cannot ${verb} ${path}: permission denied; choose a folder you can ${verb === 'read' ? 'read' : 'write to'}, or change its permissions`;
    case 'EROFS':
      return `cannot ${verb} ${path}: the file system is read-only; choose a folder on a writable disk`;
    case 'ENOSPC':
    case 'EDQUOT':
      return `cannot ${verb} ${path}: no space left on the device; free some space (a run folder keeps its last checkpoint: --resume continues it)`;
    case 'EEXIST':
      return `cannot ${verb} ${path}: a file of that name already exists where a folder is needed; give another path`;
    case 'ENOENT':
      return `cannot ${verb} ${path}: no such file or folder; check the path`;
    case 'ENAMETOOLONG':
      return `cannot ${verb} ${path}: the path is too long; give a shorter one`;
    default:
      return `cannot ${verb} ${path}: ${e.message.replace(/^[A-Z]+: /, '')}`;
  }
}
